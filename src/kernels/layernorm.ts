/** GPU wrapper of shaders/layernorm.wgsl; CPU twin src/cpu/layernorm.ts. */
import type { BufferRef, Gpu } from '../gpu/gpu';
import { Dispatch, grid1d, reductionWorkgroup } from './dispatch';

/** Invocations per row when none is given (a tuner may choose another, see src/model/kernel-choice.ts). */
export const DEFAULT_WG = 256;

/** out = (x - mean) / sqrt(var + eps) * weight + bias over each of R rows of C floats. */
export async function layernorm(
  gpu: Gpu,
  out: BufferRef,
  x: BufferRef,
  weight: BufferRef,
  bias: BufferRef,
  R: number,
  C: number,
  opts: { eps: number /** Invocations per row (power of two; default DEFAULT_WG). */; WG?: number },
): Promise<Dispatch<{ R: number }>> {
  if (!(C >= 1)) throw new Error(`layernorm: C must be >= 1, got ${C}`);
  if (!(opts.eps >= 0)) throw new Error(`layernorm: eps must be >= 0, got ${opts.eps}`);
  const WG = reductionWorkgroup(gpu, 'layernorm', opts.WG ?? DEFAULT_WG);
  const p = await gpu.pipeline('layernorm', {}, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: out, 2: x, 3: weight, 4: bias },
    (d, dims) => {
      d.set({ R: dims.R, C, eps: opts.eps });
      grid1d(d, dims.R);
    },
    { R },
  );
}

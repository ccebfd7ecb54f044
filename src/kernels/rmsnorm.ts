/** GPU wrapper of shaders/rmsnorm.wgsl; CPU twin src/cpu/rmsnorm.ts. */
import type { BufferRef, Gpu } from '../gpu/gpu';
import { Dispatch, grid1d, reductionWorkgroup } from './dispatch';

/** Invocations per row when none is given (a tuner may choose another, see src/model/kernel-choice.ts). */
export const DEFAULT_WG = 256;

/** out = x / sqrt(mean(x^2) + eps) * weight over each of R rows of C floats. */
export async function rmsnorm(
  gpu: Gpu,
  out: BufferRef,
  x: BufferRef,
  weight: BufferRef,
  R: number,
  C: number,
  opts: { eps: number /** Invocations per row (power of two; default DEFAULT_WG). */; WG?: number },
): Promise<Dispatch<{ R: number }>> {
  if (!(C >= 1)) throw new Error(`rmsnorm: C must be >= 1, got ${C}`);
  if (!(opts.eps >= 0)) throw new Error(`rmsnorm: eps must be >= 0, got ${opts.eps}`);
  const WG = reductionWorkgroup(gpu, 'rmsnorm', opts.WG ?? DEFAULT_WG);
  const p = await gpu.pipeline('rmsnorm', {}, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: out, 2: x, 3: weight },
    (d, dims) => {
      d.set({ R: dims.R, C, eps: opts.eps });
      grid1d(d, dims.R);
    },
    { R },
  );
}

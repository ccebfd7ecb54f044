/** GPU wrapper of shaders/argmax.wgsl; CPU twin src/cpu/argmax.ts. */
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { Dispatch, grid1d, reductionWorkgroup } from './dispatch';

/** Invocations per row when none is given (a tuner may choose another, see src/model/kernel-choice.ts). */
export const DEFAULT_WG = 256;

/**
 * out[r] (u32) = the first index of the largest value of row r of x [R, N] (NaN never wins).
 * One workgroup per row; `update({ R })` may lower R below the R the dispatch was created with.
 */
export async function argmax(
  gpu: Gpu,
  out: BufferRef,
  x: BufferRef,
  R: number,
  N: number,
  opts: { /** Invocations per row (power of two; default DEFAULT_WG). */ WG?: number } = {},
): Promise<Dispatch<{ R: number }>> {
  if (!(N >= 1)) throw new Error(`argmax: N must be at least 1, got ${N}`);
  if (sliceOf(x).size < R * N * 4) throw new Error(`argmax: x holds fewer than R*N = ${R * N} floats`);
  if (sliceOf(out).size < R * 4) throw new Error(`argmax: out holds fewer than R = ${R} u32s`);
  const WG = reductionWorkgroup(gpu, 'argmax', opts.WG ?? DEFAULT_WG);
  const p = await gpu.pipeline('argmax', {}, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: out, 2: x },
    (d, dims) => {
      if (dims.R > R) throw new Error(`argmax: R = ${dims.R} exceeds the R = ${R} it was created with`);
      d.set({ R: dims.R, N });
      grid1d(d, dims.R);
    },
    { R },
  );
}

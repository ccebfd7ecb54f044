/** GPU wrapper of shaders/row_norm.wgsl; CPU twin src/cpu/row_norm.ts. */
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { Dispatch, grid1d, reductionWorkgroup } from './dispatch';

/** Invocations per row when none is given. */
export const DEFAULT_WG = 64;

/**
 * out[r] = sqrt(sum_c x[r, c]^2) for the R rows of x [R, C]. `update({ R })` may lower R below
 * the R the dispatch was created with (the last chunk of a table).
 */
export async function row_norm(
  gpu: Gpu,
  out: BufferRef,
  x: BufferRef,
  R: number,
  C: number,
  opts: { /** Invocations per row (power of two; default DEFAULT_WG). */ WG?: number } = {},
): Promise<Dispatch<{ R: number }>> {
  if (!(C >= 1)) throw new Error(`row_norm: C must be at least 1, got ${C}`);
  if (sliceOf(x).size < R * C * 4) throw new Error(`row_norm: x holds fewer than R*C = ${R * C} floats`);
  if (sliceOf(out).size < R * 4) throw new Error(`row_norm: out holds fewer than R = ${R} floats`);
  const WG = reductionWorkgroup(gpu, 'row_norm', opts.WG ?? DEFAULT_WG);
  const p = await gpu.pipeline('row_norm', {}, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: out, 2: x },
    (d, dims) => {
      if (dims.R > R) throw new Error(`row_norm: R = ${dims.R} exceeds the R = ${R} it was created with`);
      d.set({ R: dims.R, C });
      grid1d(d, dims.R);
    },
    { R },
  );
}

/** GPU wrapper of shaders/qk_norm.wgsl; CPU twin src/cpu/qk_norm.ts. */
import type { QkNormOptions } from '../cpu/qk_norm';
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

export type { QkNormOptions } from '../cpu/qk_norm';

const WG = 64;

/**
 * RMSNorm in place of the NQ query heads (weight w[0 .. HS - 1]) and the NK key heads
 * (w[HS .. 2 HS - 1]) of each row of x[T, rowStride]. `update({ T })` changes the number of rows.
 */
export async function qk_norm(
  gpu: Gpu,
  x: BufferRef,
  w: BufferRef,
  T: number,
  NQ: number,
  NK: number,
  HS: number,
  opts: QkNormOptions,
): Promise<Dispatch<{ T: number }>> {
  if (!(HS >= 1 && NQ >= 0 && NK >= 0 && NQ + NK >= 1)) {
    throw new Error(`qk_norm: bad sizes NQ=${NQ} NK=${NK} HS=${HS}`);
  }
  const rowStride = opts.rowStride ?? (NQ + NK) * HS;
  if (!(Number.isInteger(rowStride) && rowStride >= (NQ + NK) * HS)) {
    throw new Error(`qk_norm: rowStride must be an integer >= (NQ + NK) * HS, got ${rowStride}`);
  }
  if (sliceOf(w).size < 2 * HS * 4) throw new Error(`qk_norm: w holds fewer than 2 * HS = ${2 * HS} floats`);
  const floats = Math.floor(sliceOf(x).size / 4);
  const capacity = floats < (NQ + NK) * HS ? 0 : Math.floor((floats - (NQ + NK) * HS) / rowStride) + 1;
  const p = await gpu.pipeline('qk_norm', {}, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: x, 2: w },
    (d, dims) => {
      if (dims.T > capacity) throw new Error(`qk_norm: T=${dims.T} rows exceed the buffer's ${capacity}`);
      d.set({ T: dims.T, NQ, NK, HS, rowStride, eps: opts.eps });
      grid1d(d, ceilDiv(dims.T * (NQ + NK), WG));
    },
    { T },
  );
}

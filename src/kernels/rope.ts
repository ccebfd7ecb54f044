/** GPU wrapper of shaders/rope.wgsl; CPU twin src/cpu/rope.ts. */
import type { RopeOptions } from '../cpu/rope';
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

const WG = 64;

/**
 * Rotary position embedding in place on heads 0 .. NH - 1 of each row of x[T, rowStride]
 * (`opts.rowStride`, default NH * HS); row t sits at position pos + t and pair i turns by
 * (pos + t) * invFreq[i] (invFreq: rotaryDim / 2 f32, src/checkpoint/rope.ts). `update({ T, pos })`
 * retargets it to a new block of rows.
 */
export async function rope(
  gpu: Gpu,
  x: BufferRef,
  invFreq: BufferRef,
  T: number,
  NH: number,
  HS: number,
  opts: RopeOptions,
): Promise<Dispatch<{ T: number; pos: number }>> {
  const rd = opts.rotaryDim ?? HS;
  if (!(HS >= 1)) throw new Error(`rope: HS must be >= 1, got ${HS}`);
  if (!(rd >= 2 && rd <= HS && rd % 2 === 0)) {
    throw new Error(`rope: rotaryDim must be even and in 2..HS=${HS}, got ${rd}`);
  }
  if (sliceOf(invFreq).size < (rd / 2) * 4) {
    throw new Error(`rope: invFreq holds fewer than rotaryDim / 2 = ${rd / 2} frequencies`);
  }
  if (opts.layout !== 'half' && opts.layout !== 'pairs') {
    throw new Error(`rope: layout must be 'half' or 'pairs', got '${opts.layout}'`);
  }
  const rowStride = opts.rowStride ?? NH * HS;
  if (!(Number.isInteger(rowStride) && rowStride >= NH * HS)) {
    throw new Error(`rope: rowStride must be an integer >= NH * HS = ${NH * HS}, got ${rowStride}`);
  }
  // Rows that fit: the last one needs only its NH heads, not a whole stride.
  const floats = Math.floor(sliceOf(x).size / 4);
  const capacity = floats < NH * HS ? 0 : Math.floor((floats - NH * HS) / rowStride) + 1;
  const p = await gpu.pipeline('rope', { PAIRS: opts.layout === 'pairs' }, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: x, 2: invFreq },
    (d, dims) => {
      if (dims.T > capacity) throw new Error(`rope: T=${dims.T} rows exceed the buffer's ${capacity}`);
      if (!(dims.pos >= 0)) throw new Error(`rope: pos must be >= 0, got ${dims.pos}`);
      d.set({ T: dims.T, NH, HS, half: rd / 2, pos: dims.pos, rowStride });
      grid1d(d, ceilDiv((dims.T * NH * rd) / 2, WG));
    },
    { T, pos: opts.pos },
  );
}

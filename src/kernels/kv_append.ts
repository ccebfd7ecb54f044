/** GPU wrapper of shaders/kv_append.wgsl; CPU twin src/cpu/kv_append.ts. */
import type { KvAppendOptions } from '../cpu/kv_append';
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

export type { KvAppendOptions } from '../cpu/kv_append';

const WG = 256;

/**
 * Appends T new rows of keys and values (D = NKV * HS floats each, read at `kOffset` / `vOffset`
 * of source rows `srcStride` floats apart) at row `pos` of the caches: [maxCtx, D] f32, or packed
 * halves [maxCtx, ceil(D / 2)] u32 under `f16Cache`. k and v may be the same buffer (a fused qkv
 * projection). `update({ T, pos })` retargets it; a block past the cache's end throws.
 */
export async function kv_append(
  gpu: Gpu,
  kCache: BufferRef,
  vCache: BufferRef,
  k: BufferRef,
  v: BufferRef,
  T: number,
  D: number,
  opts: KvAppendOptions,
): Promise<Dispatch<{ T: number; pos: number }>> {
  if (!(D >= 1)) throw new Error(`kv_append: D must be >= 1, got ${D}`);
  const srcStride = opts.srcStride ?? D;
  const kOffset = opts.kOffset ?? 0;
  const vOffset = opts.vOffset ?? 0;
  for (const [name, n] of Object.entries({ srcStride, kOffset, vOffset })) {
    if (!(Number.isInteger(n) && n >= 0))
      throw new Error(`kv_append: ${name} must be an integer >= 0, got ${n}`);
  }
  if (srcStride < D) throw new Error(`kv_append: srcStride ${srcStride} is less than D = ${D}`);
  const f16 = opts.f16Cache ?? false;
  const rowWords = f16 ? Math.ceil(D / 2) : D;
  const maxCtx = Math.floor(Math.min(sliceOf(kCache).size, sliceOf(vCache).size) / (4 * rowWords));
  // Source rows that fit in k and v (the last row needs only its D floats after the offset).
  const rowsIn = (ref: BufferRef, offset: number) => {
    const floats = Math.floor(sliceOf(ref).size / 4) - offset - D;
    return floats < 0 ? 0 : Math.floor(floats / srcStride) + 1;
  };
  const capacity = Math.min(rowsIn(k, kOffset), rowsIn(v, vOffset));
  const p = await gpu.pipeline('kv_append', { F16: f16 }, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: kCache, 2: vCache, 3: k, 4: v },
    (d, dims) => {
      if (!(dims.pos >= 0) || dims.pos + dims.T > maxCtx) {
        throw new Error(
          `kv_append: positions ${dims.pos}..${dims.pos + dims.T - 1} exceed the cache of ${maxCtx}`,
        );
      }
      if (dims.T > capacity) throw new Error(`kv_append: T=${dims.T} rows exceed k/v's ${capacity}`);
      d.set({ T: dims.T, D, pos: dims.pos, srcStride, kOffset, vOffset });
      grid1d(d, ceilDiv(dims.T * rowWords, WG));
    },
    { T, pos: opts.pos },
  );
}

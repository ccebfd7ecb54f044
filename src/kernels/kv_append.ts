/** GPU wrapper of shaders/kv_append.wgsl; CPU twin src/cpu/kv_append.ts. */
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

const WG = 256;

/**
 * Appends T new rows of keys and values (D = NKV * HS floats each) at row `pos` of the caches
 * [maxCtx, D]. `update({ T, pos })` retargets it; a block past the cache's end throws.
 */
export async function kv_append(
  gpu: Gpu,
  kCache: BufferRef,
  vCache: BufferRef,
  k: BufferRef,
  v: BufferRef,
  T: number,
  D: number,
  opts: { pos: number },
): Promise<Dispatch<{ T: number; pos: number }>> {
  if (!(D >= 1)) throw new Error(`kv_append: D must be >= 1, got ${D}`);
  const maxCtx = Math.floor(Math.min(sliceOf(kCache).size, sliceOf(vCache).size) / (4 * D));
  const p = await gpu.pipeline('kv_append', {}, { WG });
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
      d.set({ T: dims.T, D, pos: dims.pos });
      grid1d(d, ceilDiv(dims.T * D, WG));
    },
    { T, pos: opts.pos },
  );
}

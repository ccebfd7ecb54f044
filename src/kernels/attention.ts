/** GPU wrapper of shaders/attention.wgsl; CPU twin src/cpu/attention.ts. */
import type { AttentionOptions } from '../cpu/attention';
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { Dispatch, grid1d } from './dispatch';

const WG = 64;
const MAX_HS = 256;

/**
 * Causal grouped-query attention of q[T, NH * HS] (rows at positions pos .. pos + T - 1) over the
 * caches [maxCtx, NKV * HS] (after kv_append), into out[T, NH * HS]. `update({ T, pos })`
 * retargets it to the next block (prefill) or token (decode).
 */
export async function attention(
  gpu: Gpu,
  out: BufferRef,
  q: BufferRef,
  kCache: BufferRef,
  vCache: BufferRef,
  T: number,
  NH: number,
  NKV: number,
  HS: number,
  opts: AttentionOptions,
): Promise<Dispatch<{ T: number; pos: number }>> {
  if (!(HS >= 1 && HS <= MAX_HS)) throw new Error(`attention: HS must be in 1..${MAX_HS}, got ${HS}`);
  if (!(NKV >= 1 && NH >= NKV && NH % NKV === 0)) {
    throw new Error(`attention: NKV=${NKV} must divide NH=${NH}`);
  }
  const scale = opts.scale ?? 1 / Math.sqrt(HS);
  if (!Number.isFinite(scale)) throw new Error(`attention: scale must be finite, got ${scale}`);
  const maxCtx = Math.floor(Math.min(sliceOf(kCache).size, sliceOf(vCache).size) / (4 * NKV * HS));
  const p = await gpu.pipeline('attention', {}, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: out, 2: q, 3: kCache, 4: vCache },
    (d, dims) => {
      if (!(dims.pos >= 0) || dims.pos + dims.T > maxCtx) {
        throw new Error(
          `attention: positions ${dims.pos}..${dims.pos + dims.T - 1} exceed the cache of ${maxCtx}`,
        );
      }
      d.set({ T: dims.T, NH, NKV, HS, pos: dims.pos, scale });
      grid1d(d, dims.T * NH);
    },
    { T, pos: opts.pos },
  );
}

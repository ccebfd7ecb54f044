/** CPU twin of shaders/kv_append.wgsl: copies T rows of new keys and values into rows pos.. of the caches. */
import { f16Bits } from '../formats/f16';

export interface KvAppendOptions {
  /** Cache row of the first new position. */
  pos: number;
  /** Floats from one source row to the next (default D); a fused qkv row is (NH + 2 NKV) * HS. */
  srcStride?: number;
  /** Element offset of the keys within a source row of k (default 0; NH * HS in a fused qkv row). */
  kOffset?: number;
  /** Element offset of the values within a source row of v (default 0; (NH + NKV) * HS in qkv). */
  vOffset?: number;
  /**
   * The caches hold packed halves: [maxCtx, ceil(D / 2)] u32 words, element i of a row in word i / 2
   * (low half when i is even; an odd D pads the last high half with 0), as src/cpu/f16.ts packs them.
   */
  f16Cache?: boolean;
}

/**
 * kCache[pos + t, i] = k[t * srcStride + kOffset + i], vCache[pos + t, i] = v[t * srcStride + vOffset + i]
 * for t < T, i < D. Caches are [maxCtx, D] floats, or packed halves under `f16Cache`.
 */
export function kv_append(
  kCache: Float32Array | Uint32Array,
  vCache: Float32Array | Uint32Array,
  k: Float32Array,
  v: Float32Array,
  T: number,
  D: number,
  opts: KvAppendOptions,
): void {
  const stride = opts.srcStride ?? D;
  const kOff = opts.kOffset ?? 0;
  const vOff = opts.vOffset ?? 0;
  if (opts.f16Cache) {
    const W = Math.ceil(D / 2);
    for (let t = 0; t < T; t++) {
      for (let w = 0; w < W; w++) {
        const i = 2 * w;
        const pair = (src: Float32Array, off: number) => {
          const at = t * stride + off + i;
          const hi = i + 1 < D ? f16Bits(src[at + 1]) : 0;
          return (f16Bits(src[at]) | (hi << 16)) >>> 0;
        };
        kCache[(opts.pos + t) * W + w] = pair(k, kOff);
        vCache[(opts.pos + t) * W + w] = pair(v, vOff);
      }
    }
    return;
  }
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < D; i++) {
      kCache[(opts.pos + t) * D + i] = k[t * stride + kOff + i];
      vCache[(opts.pos + t) * D + i] = v[t * stride + vOff + i];
    }
  }
}

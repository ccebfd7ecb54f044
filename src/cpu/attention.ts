/** CPU twin of shaders/attention.wgsl: causal grouped-query attention over the KV cache, in f64. */
import { f16Value } from '../formats/f16';

export interface AttentionOptions {
  /** Absolute position of query row 0; row t attends to cache rows 0 .. pos + t. */
  pos: number;
  /** Score scale (default 1 / sqrt(HS); Gemma 2 and 3 use query_pre_attn_scalar^-1/2). */
  scale?: number;
  /** Soft-capping of the scaled scores: s = softcap * tanh(s / softcap) (Gemma 2; 0 or absent = none). */
  softcap?: number;
  /** Sliding window: a query attends to its `window` most recent keys, itself included (0 or absent = all). */
  window?: number;
  /**
   * Also write the probabilities here (pos 0 only): probs[(h * T + t) * T + j] = softmax_j for the
   * keys the row attends to, 0 for the other j < T.
   */
  probs?: Float32Array;
  /**
   * Floats from one query row to the next (default NH * HS): q may be the front of fused qkv rows
   * [q | k | v] of (NH + 2 NKV) * HS floats.
   */
  qStride?: number;
  /**
   * The caches hold packed halves, [maxCtx, ceil(NKV * HS / 2)] u32 words as kv_append's
   * `f16Cache` writes them (element i of a row in word i / 2, low half when i is even).
   */
  f16Cache?: boolean;
}

/**
 * out[t, h*HS + d] = sum_j softmax_j(cap(scale * q[t, h] . k_j)) v_j[d] over lo <= j <= pos + t
 * (lo = pos + t + 1 - window under a sliding window, else 0; cap = softcap tanh(s / softcap) or none), where k_j, v_j
 * are the rows of kv head h / (NH / NKV) in the caches [maxCtx, NKV * HS] (f32, or packed halves
 * under `f16Cache`), and q[t, h] starts at t * qStride + h * HS.
 */
export function attention(
  out: Float32Array,
  q: Float32Array,
  kCache: Float32Array | Uint32Array,
  vCache: Float32Array | Uint32Array,
  T: number,
  NH: number,
  NKV: number,
  HS: number,
  opts: AttentionOptions,
): void {
  const scale = opts.scale ?? 1 / Math.sqrt(HS);
  const qStride = opts.qStride ?? NH * HS;
  const D = NKV * HS;
  const group = NH / NKV;
  const W = Math.ceil(D / 2);
  // Element i of cache row j.
  const at = opts.f16Cache
    ? (c: Float32Array | Uint32Array, j: number, i: number) =>
        f16Value((c[j * W + (i >>> 1)] >>> ((i & 1) * 16)) & 0xffff)
    : (c: Float32Array | Uint32Array, j: number, i: number) => c[j * D + i];
  const cap = opts.softcap ?? 0;
  const win = opts.window ?? 0;
  const acc = new Float64Array(HS);
  for (let t = 0; t < T; t++) {
    const L = opts.pos + t + 1;
    const lo = win > 0 && L > win ? L - win : 0;
    const scores = new Float64Array(L);
    for (let h = 0; h < NH; h++) {
      const qRow = t * qStride + h * HS;
      const kvOffset = Math.floor(h / group) * HS;
      let m = -Infinity;
      for (let j = lo; j < L; j++) {
        let dot = 0;
        for (let d = 0; d < HS; d++) dot += q[qRow + d] * at(kCache, j, kvOffset + d);
        scores[j] = cap > 0 ? cap * Math.tanh((scale * dot) / cap) : scale * dot;
        m = Math.max(m, scores[j]);
      }
      let l = 0;
      acc.fill(0);
      for (let j = lo; j < L; j++) {
        const p = Math.exp(scores[j] - m);
        l += p;
        for (let d = 0; d < HS; d++) acc[d] += p * at(vCache, j, kvOffset + d);
      }
      for (let d = 0; d < HS; d++) out[(t * NH + h) * HS + d] = acc[d] / l;
      if (opts.probs) {
        const row = (h * T + t) * T;
        for (let j = 0; j < T; j++) opts.probs[row + j] = j >= lo && j < L ? Math.exp(scores[j] - m) / l : 0;
      }
    }
  }
}

/** CPU twin of shaders/attention.wgsl: causal grouped-query attention over the KV cache, in f64. */

export interface AttentionOptions {
  /** Absolute position of query row 0; row t attends to cache rows 0 .. pos + t. */
  pos: number;
  /** Score scale (default 1 / sqrt(HS)). */
  scale?: number;
}

/**
 * out[t, h*HS + d] = sum_j softmax_j(scale * q[t, h] . k_j) v_j[d] over j <= pos + t, where k_j, v_j
 * are the rows of kv head h / (NH / NKV) in the caches [maxCtx, NKV * HS].
 */
export function attention(
  out: Float32Array,
  q: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  T: number,
  NH: number,
  NKV: number,
  HS: number,
  opts: AttentionOptions,
): void {
  const scale = opts.scale ?? 1 / Math.sqrt(HS);
  const D = NKV * HS;
  const group = NH / NKV;
  const acc = new Float64Array(HS);
  for (let t = 0; t < T; t++) {
    const L = opts.pos + t + 1;
    const scores = new Float64Array(L);
    for (let h = 0; h < NH; h++) {
      const qRow = (t * NH + h) * HS;
      const kvOffset = Math.floor(h / group) * HS;
      let m = -Infinity;
      for (let j = 0; j < L; j++) {
        let dot = 0;
        for (let d = 0; d < HS; d++) dot += q[qRow + d] * kCache[j * D + kvOffset + d];
        scores[j] = scale * dot;
        m = Math.max(m, scores[j]);
      }
      let l = 0;
      acc.fill(0);
      for (let j = 0; j < L; j++) {
        const p = Math.exp(scores[j] - m);
        l += p;
        for (let d = 0; d < HS; d++) acc[d] += p * vCache[j * D + kvOffset + d];
      }
      for (let d = 0; d < HS; d++) out[qRow + d] = acc[d] / l;
    }
  }
}

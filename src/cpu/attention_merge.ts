/** CPU twin of shaders/attention_merge.wgsl: combines flash-decoding partials, in f64. */

export interface AttentionMergeOptions {
  /** Absolute position of row 0; row t has ceil((pos + t + 1) / chunk) chunks. */
  pos: number;
  /** Keys per chunk. */
  chunk: number;
  /** Sliding window: row t's keys start at pos + t + 1 - window, chunks before it are skipped (0 = none). */
  window?: number;
}

/**
 * out[t, h*HS + d] = sum_c exp(m_c - M) acc_c[d] / sum_c exp(m_c - M) l_c with M = max_c m_c, over the
 * chunks c < ceil((pos + t + 1) / chunk) of row t * NH + h, whose partials
 * (m_c, l_c, acc_c[0 .. HS - 1]) start at partials[((t * NH + h) * chunks + c) * (HS + 2)], with
 * chunks = ceil((pos + T) / chunk) slots per row (those of the last row).
 */
export function attention_merge(
  out: Float32Array,
  partials: Float32Array,
  T: number,
  NH: number,
  HS: number,
  opts: AttentionMergeOptions,
): void {
  const slot = HS + 2;
  const chunks = Math.ceil((opts.pos + T) / opts.chunk);
  for (let row = 0; row < T * NH; row++) {
    const L = opts.pos + Math.floor(row / NH) + 1;
    const n = Math.ceil(L / opts.chunk);
    const W = opts.window ?? 0;
    const c0 = Math.floor((W > 0 && L > W ? L - W : 0) / opts.chunk);
    const base = row * chunks * slot;
    let M = -Infinity;
    for (let c = c0; c < n; c++) M = Math.max(M, partials[base + c * slot]);
    let l = 0;
    for (let c = c0; c < n; c++) l += Math.exp(partials[base + c * slot] - M) * partials[base + c * slot + 1];
    for (let d = 0; d < HS; d++) {
      let acc = 0;
      for (let c = c0; c < n; c++) {
        acc += Math.exp(partials[base + c * slot] - M) * partials[base + c * slot + 2 + d];
      }
      out[row * HS + d] = acc / l;
    }
  }
}

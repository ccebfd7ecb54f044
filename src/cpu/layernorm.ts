/** CPU twin of shaders/layernorm.wgsl: out = (x - mean) / sqrt(var + eps) * weight + bias, row by row. */
export function layernorm(
  out: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  bias: Float32Array,
  R: number,
  C: number,
  opts: { eps: number },
): void {
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += x[r * C + c];
    const mean = s / C;
    let q = 0;
    for (let c = 0; c < C; c++) q += (x[r * C + c] - mean) ** 2;
    const inv = 1 / Math.sqrt(q / C + opts.eps);
    for (let c = 0; c < C; c++) out[r * C + c] = (x[r * C + c] - mean) * inv * weight[c] + bias[c];
  }
}

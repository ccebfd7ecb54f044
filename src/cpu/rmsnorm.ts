/** CPU twin of shaders/rmsnorm.wgsl: out = x / sqrt(mean(x^2) + eps) * weight, row by row. */
export function rmsnorm(
  out: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  R: number,
  C: number,
  opts: { eps: number },
): void {
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += x[r * C + c] * x[r * C + c];
    const inv = 1 / Math.sqrt(s / C + opts.eps);
    for (let c = 0; c < C; c++) out[r * C + c] = x[r * C + c] * inv * weight[c];
  }
}

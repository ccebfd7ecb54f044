/** CPU twin of shaders/row_norm.wgsl: out[r] = sqrt(sum_c x[r, c]^2) over R rows of C floats. */
export function row_norm(out: Float32Array, x: Float32Array, R: number, C: number): void {
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += x[r * C + c] * x[r * C + c];
    out[r] = Math.sqrt(s);
  }
}

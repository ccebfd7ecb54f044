/** CPU twin of shaders/softmax.wgsl: row-wise exp((x - max) / T) / sum. */
export function softmax(
  out: Float32Array,
  x: Float32Array,
  R: number,
  N: number,
  opts: { temperature: number },
): void {
  const T = opts.temperature;
  if (!(T > 0)) throw new Error(`softmax: temperature must be > 0, got ${T}`);
  for (let r = 0; r < R; r++) {
    let m = -Infinity;
    for (let j = 0; j < N; j++) m = Math.max(m, x[r * N + j]);
    let s = 0;
    for (let j = 0; j < N; j++) s += Math.exp((x[r * N + j] - m) / T);
    for (let j = 0; j < N; j++) out[r * N + j] = Math.exp((x[r * N + j] - m) / T) / s;
  }
}

/** CPU twin of shaders/bench_copy.wgsl: out[i] = x[i] for the N = 4 * N4 floats. */
export function bench_copy(out: Float32Array, x: Float32Array, N: number): void {
  for (let i = 0; i < N; i++) out[i] = x[i];
}

/** CPU twin of shaders/residual.wgsl: out[i] = a[i] + b[i]; `out` may be `a` (in place). */
export function residual(out: Float32Array, a: Float32Array, b: Float32Array, N: number): void {
  for (let i = 0; i < N; i++) out[i] = a[i] + b[i];
}

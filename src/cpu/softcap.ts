/** CPU twin of shaders/softcap.wgsl: x[i] = cap * tanh(x[i] / cap) in place, for i < N. */
export function softcap(x: Float32Array, N: number, cap: number): void {
  for (let i = 0; i < N; i++) x[i] = cap * Math.tanh(x[i] / cap);
}

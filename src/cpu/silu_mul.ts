/** CPU twin of shaders/silu_mul.wgsl: out[i] = gate[i] * sigmoid(gate[i]) * up[i] (SwiGLU). */
export function silu_mul(out: Float32Array, gate: Float32Array, up: Float32Array, N: number): void {
  for (let i = 0; i < N; i++) {
    const g = gate[i];
    out[i] = (g / (1 + Math.exp(-g))) * up[i];
  }
}

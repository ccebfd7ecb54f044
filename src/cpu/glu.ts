/**
 * CPU twin of shaders/silu_mul.wgsl: the SwiGLU gate over the fused gate|up projection [R, 2F]:
 * out[r, i] = g * sigmoid(g) * gateUp[r, F + i] with g = gateUp[r, i].
 */
export function silu_mul(out: Float32Array, gateUp: Float32Array, R: number, F: number): void {
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < F; i++) {
      const g = gateUp[r * 2 * F + i];
      out[r * F + i] = (g / (1 + Math.exp(-g))) * gateUp[r * 2 * F + F + i];
    }
  }
}

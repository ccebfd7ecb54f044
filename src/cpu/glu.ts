/**
 * CPU twin of shaders/glu.wgsl: the gated linear unit over the fused gate|up projection [R, 2F]:
 * out[r, i] = act(g) * gateUp[r, F + i] with g = gateUp[r, i]; act is silu (SwiGLU) or the tanh
 * approximation of gelu (GeGLU).
 */

export interface GluOptions {
  /** 'silu' (SwiGLU, default) or 'gelu_tanh' (GeGLU). */
  activation?: 'silu' | 'gelu_tanh';
}

export function glu(
  out: Float32Array,
  gateUp: Float32Array,
  R: number,
  F: number,
  opts: GluOptions = {},
): void {
  const gelu = opts.activation === 'gelu_tanh';
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < F; i++) {
      const g = gateUp[r * 2 * F + i];
      // silu: g / (1 + exp(-g)); gelu_tanh: 0.5 g (1 + tanh(u)) = g / (1 + exp(-2u)).
      const e = gelu ? 2 * Math.sqrt(2 / Math.PI) * (g + 0.044715 * g ** 3) : g;
      out[r * F + i] = (g / (1 + Math.exp(-e))) * gateUp[r * 2 * F + F + i];
    }
  }
}

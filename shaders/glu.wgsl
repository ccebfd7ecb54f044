// glu: the gated linear unit of a gated MLP, elementwise, over the fused gate|up projection.
//   out[r, i] = act(g) * gateUp[r, F + i],   g = gateUp[r, i]
//   act = silu (SwiGLU: Llama, Qwen, Phi-3):  g * sigmoid(g) = g / (1 + exp(-g))
//   GELU_TANH (GeGLU: Gemma):                 0.5 g (1 + tanh(u)) = g / (1 + exp(-2u)),
//                                             u = sqrt(2/pi) (g + 0.044715 g^3)
// Shapes: gateUp is [R, 2F] f32, each row the gate projection then the up projection (one matmul
// computes both); out is [R, F] f32.
// Bindings: 0 params {R, F}, 1 out, 2 gateUp.
// Variants: GELU_TANH (GeGLU; otherwise SwiGLU).
// Tuning: WG workgroup size (default 256). Grid: ceil(R * F / WG) workgroups, folded into x and y.
// Numerics: both activations are written as g / (1 + exp(-e)), which keeps its relative accuracy in
// the negative tail; past e = -80 the result is 0 (under 1e-33) rather than exp overflowing.
// CPU twin: src/cpu/glu.ts

struct Params { R: u32, F: u32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> gateUp: array<f32>;

fn act(g: f32) -> f32 {
#if ${GELU_TANH}
  let e = 1.5957691216057308 * (g + 0.044715 * g * g * g);
#else
  let e = g;
#endif
  return select(g / (1.0 + exp(-e)), 0.0, e < -80.0);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let F = params.F;
  if (i >= params.R * F) { return; }
  let g = gateUp[i + (i / F) * F];
  let u = gateUp[i + (i / F) * F + F];
  out[i] = act(g) * u;
}

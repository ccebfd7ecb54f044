// silu_mul: the SwiGLU gate, elementwise, over the fused gate|up projection.
//   out[r, i] = g * sigmoid(g) * gateUp[r, F + i],   g = gateUp[r, i],   sigmoid(g) = 1 / (1 + exp(-g))
// Shapes: gateUp is [R, 2F] f32, each row the gate projection then the up projection (one matmul
// computes both); out is [R, F] f32.
// Bindings: 0 params {R, F}, 1 out, 2 gateUp.
// Variants: none.
// Tuning: WG workgroup size (default 256). Grid: ceil(R * F / WG) workgroups, folded into x and y.
// CPU twin: src/cpu/silu_mul.ts

struct Params { R: u32, F: u32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> gateUp: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let F = params.F;
  if (i >= params.R * F) { return; }
  let g = gateUp[i + (i / F) * F];
  let u = gateUp[i + (i / F) * F + F];
  // Below g = -80 the silu is under 1e-33 in magnitude: 0, rather than g / exp(-g) overflowing.
  out[i] = select(g / (1.0 + exp(-g)), 0.0, g < -80.0) * u;
}

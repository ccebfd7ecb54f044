// silu_mul: the SwiGLU gate, elementwise.
//   out[i] = gate[i] * sigmoid(gate[i]) * up[i],   sigmoid(g) = 1 / (1 + exp(-g))
// Shapes: out, gate, up are [N] f32 (a [T, FF] activation flattened, N = T*FF).
// Bindings: 0 params {N}, 1 out, 2 gate, 3 up.
// Variants: none.
// Tuning: WG workgroup size (default 256). Grid: ceil(N / WG) workgroups, folded into x and y.
// CPU twin: src/cpu/silu_mul.ts

struct Params { N: u32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> gate: array<f32>;
@group(0) @binding(3) var<storage, read> up: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= params.N) { return; }
  let g = gate[i];
  // Below g = -80 the silu is under 1e-33 in magnitude: 0, rather than g / exp(-g) overflowing.
  out[i] = select(g / (1.0 + exp(-g)), 0.0, g < -80.0) * up[i];
}

// softcap: soft-capping, elementwise and in place (Gemma 2's final logits).
//   x[i] <- cap * tanh(x[i] / cap)
// Shapes: x is [N] f32.
// Bindings: 0 params {N, cap}, 1 x (read_write).
// Variants: none.
// Tuning: WG workgroup size (default 256). Grid: ceil(N / WG) workgroups, folded into x and y.
// Numerics: tanh(y) = sign(y) (1 - 2 / (exp(2 |y|) + 1)) with |y| clamped at 40 (tanh is 1 in f32
// long before): absolute error a few 1e-8, times cap. The builtin tanh is only specified loosely.
// CPU twin: src/cpu/softcap.ts

struct Params { N: u32, cap: f32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= params.N) { return; }
  let c = params.cap;
  let v = x[i];
  let y = min(abs(v / c), 40.0);
  x[i] = sign(v) * c * (1.0 - 2.0 / (exp(2.0 * y) + 1.0));
}

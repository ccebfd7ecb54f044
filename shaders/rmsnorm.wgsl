// rmsnorm: root-mean-square normalisation of each row (Llama).
//   out[r, c] = x[r, c] / sqrt(mean_c(x[r, :]^2) + eps) * weight[c]
// Shapes: out, x are [R, C] f32 row-major; weight is [C].
// Bindings: 0 params {R, C, eps}, 1 out, 2 x, 3 weight.
// Variants: none.
// Tuning: WG threads per row (default 256, a power of two). Grid: R workgroups, folded into x and y.
// Each thread sums a strided slice of the row, then a tree reduction in workgroup memory.
// CPU twin: src/cpu/rmsnorm.ts

struct Params { R: u32, C: u32, eps: f32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.R) { return; }
  let C = params.C;
  let base = row * C;
  var s = 0.0;
  for (var c = lid; c < C; c += WG) {
    let v = x[base + c];
    s += v * v;
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) { partial[lid] += partial[lid + half]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(partial[0] / f32(C) + params.eps);
  for (var c = lid; c < C; c += WG) {
    out[base + c] = x[base + c] * inv * weight[c];
  }
}

// layernorm: layer normalisation of each row (GPT-2).
//   mean = sum_c x[r, c] / C,  var = sum_c (x[r, c] - mean)^2 / C
//   out[r, c] = (x[r, c] - mean) / sqrt(var + eps) * weight[c] + bias[c]
// Shapes: out, x are [R, C] f32 row-major; weight, bias are [C].
// Bindings: 0 params {R, C, eps}, 1 out, 2 x, 3 weight, 4 bias.
// Variants: none.
// Tuning: WG threads per row (default 256, a power of two). Grid: R workgroups, folded into x and y.
// Two passes over the row (mean, then the centred sum of squares: no E[x^2] - mean^2
// cancellation), both shifted by the row's first element so a large common offset costs no
// precision; each is a strided per-thread sum and a tree reduction in workgroup memory.
// CPU twin: src/cpu/layernorm.ts

struct Params { R: u32, C: u32, eps: f32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

var<workgroup> partial: array<f32, WG>;

// The sum of `v` over the workgroup, returned to every thread (call in uniform control flow).
fn workgroupSum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) { partial[lid] += partial[lid + half]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.R) { return; }
  let C = params.C;
  let base = row * C;
  // Sums are of x - x[r, 0]: a large common offset drops out exactly before any rounding.
  let shift = x[base];
  var s = 0.0;
  for (var c = lid; c < C; c += WG) { s += x[base + c] - shift; }
  let mean = workgroupSum(lid, s) / f32(C);
  var q = 0.0;
  for (var c = lid; c < C; c += WG) {
    let d = (x[base + c] - shift) - mean;
    q += d * d;
  }
  let inv = inverseSqrt(workgroupSum(lid, q) / f32(C) + params.eps);
  for (var c = lid; c < C; c += WG) {
    out[base + c] = ((x[base + c] - shift) - mean) * inv * weight[c] + bias[c];
  }
}

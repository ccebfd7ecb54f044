// qk_norm: RMSNorm of each query and key head, in place (Qwen3, Gemma 3 normalize q and k per head
// before the rotary embedding).
//   For row t and head h < NQ + NK (the NQ query heads, then the NK key heads):
//     x[t, h, :] <- x[t, h, :] / sqrt(mean(x[t, h, :]^2) + eps) * w[h < NQ ? 0 : 1, :]
// Shapes: x is [T, rowStride] f32, head h of row t at x[t * rowStride + h * HS + (0 .. HS - 1)]
// (the q | k | v rows of the fused projection: rowStride = (NQ + 2 NK) HS; v is left alone);
// w is [2, HS] f32: the query heads' weight, then the key heads'.
// Bindings: 0 params {T, NQ, NK, HS, rowStride, eps}, 1 x (read_write), 2 w.
// Variants: none.
// Tuning: WG workgroup size (default 64). One invocation per (row, head), looping over its HS
// values twice (sum of squares, then scale): no workgroup memory and no barrier; heads are short.
// Grid: ceil(T * (NQ + NK) / WG) workgroups, folded into x and y.
// CPU twin: src/cpu/qk_norm.ts

struct Params { T: u32, NQ: u32, NK: u32, HS: u32, rowStride: u32, eps: f32 }
override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  let heads = params.NQ + params.NK;
  if (g >= params.T * heads) { return; }
  let t = g / heads;
  let h = g % heads;
  let HS = params.HS;
  let base = t * params.rowStride + h * HS;
  let wBase = select(HS, 0u, h < params.NQ);
  var s = 0.0;
  for (var d = 0u; d < HS; d++) {
    let v = x[base + d];
    s += v * v;
  }
  let inv = inverseSqrt(s / f32(HS) + params.eps);
  for (var d = 0u; d < HS; d++) { x[base + d] = x[base + d] * inv * w[wBase + d]; }
}

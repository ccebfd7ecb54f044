// rope: rotary position embedding, in place.
//   For row t (position p = pos + t), head h, pair i < rotaryDim / 2:
//     a = p * invFreq[i]
//   invFreq holds the pair frequencies (theta^(-2 i / rotaryDim) by default; scaled ones for
//   Llama 3 or linear rope scaling, per-dimension factors from a GGUF, another base for Gemma 3's
//   local layers: src/checkpoint/rope.ts computes them all).
//     (x0, x1) <- (x0 cos a - x1 sin a, x0 sin a + x1 cos a)
//   where (x0, x1) = (x[j], x[j + rotaryDim / 2]) with j = i (Hugging Face "rotate_half" layout),
//   or (x[2 i], x[2 i + 1]) under PAIRS (GGUF / llama.cpp adjacent layout), offsets within the head.
//   Dimensions rotaryDim..HS-1 of each head are left as they are (partial rotary).
// Shapes: x is [T, rowStride] f32 row-major; heads 0 .. NH - 1 of row t are x[t * rowStride + h * HS
// + (0 .. HS - 1)], updated in place; the rest of a row is left alone. rowStride = NH * HS for q or
// k alone; with a fused projection qkv [T, (NHQ + 2 NKV) * HS], NH = NHQ + NKV rotates q and k in
// one dispatch and leaves v.
// Bindings: 0 params {T, NH, HS, half, pos, rowStride}, 1 x (read_write), 2 invFreq [rotaryDim / 2] f32.
// Variants: PAIRS (adjacent pairs; otherwise the half-split layout).
// Tuning: WG workgroup size (default 64). Grid: ceil(T * NH * half / WG) workgroups, folded into x, y;
// one invocation per rotated pair.
// Numerics: invFreq is computed in f64 on the CPU and rounded to f32 (as Hugging Face keeps it).
// cos and sin are computed here (quadrant reduction with pi/2 split in three, then minimax
// polynomials, about 1 ulp): WGSL only specifies the builtins to 2^-11 absolute on [-pi, pi],
// and SwiftShader's are that coarse. What remains is the f32 rounding of p * inv_freq, about
// p * 1e-7 radians (4e-4 at position 4000).
// CPU twin: src/cpu/rope.ts

struct Params { T: u32, NH: u32, HS: u32, half: u32, pos: u32, rowStride: u32 }
override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> invFreq: array<f32>;

// pi/2 = PIO2_A + PIO2_B + PIO2_C (Cephes' split); A and B are short, so k * A and k * B are exact
// for quadrant counts k up to several thousand (angles up to about 10^4 radians).
const PIO2_A: f32 = 1.5703125;
const PIO2_B: f32 = 4.837512969970703125e-4;
const PIO2_C: f32 = 7.54978995489188216e-8;
const TWO_OVER_PI: f32 = 0.6366197723675814;

// (cos a, sin a) to about 1 ulp: quadrant reduction, then Cephes' minimax polynomials on
// [-pi/4, pi/4]. The builtins are only specified to 2^-11 absolute, and some are that coarse.
fn cosSin(a: f32) -> vec2f {
  let k = round(a * TWO_OVER_PI);
  let r = ((a - k * PIO2_A) - k * PIO2_B) - k * PIO2_C;
  let z = r * r;
  let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  let q = i32(k) & 3;
  if (q == 0) { return vec2f(c, s); }
  if (q == 1) { return vec2f(-s, c); }
  if (q == 2) { return vec2f(-c, -s); }
  return vec2f(s, -c);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  let half = params.half;
  let i = g % half;
  let th = g / half;
  if (th >= params.T * params.NH) { return; }
  let t = th / params.NH;
  let head = th % params.NH;
  let a = f32(params.pos + t) * invFreq[i];
  let cs = cosSin(a);
  let c = cs.x;
  let s = cs.y;
  let base = t * params.rowStride + head * params.HS;
#if ${PAIRS}
  let i0 = base + 2u * i;
  let i1 = i0 + 1u;
#else
  let i0 = base + i;
  let i1 = i0 + half;
#endif
  let x0 = x[i0];
  let x1 = x[i1];
  x[i0] = x0 * c - x1 * s;
  x[i1] = x0 * s + x1 * c;
}

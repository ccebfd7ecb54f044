// kv_append: writes a block of new keys and values into the KV cache.
//   kCache[pos + t, i] = k[t * srcStride + kOffset + i],  vCache[pos + t, i] = v[t * srcStride + vOffset + i]
//   for t < T, i < D.
// Shapes: k, v hold T rows of srcStride floats (f32); row t's D = NKV * HS new keys start at element
// kOffset (values at vOffset). Separate projections: srcStride = D, offsets 0. A fused projection
// qkv [T, (NH + 2 NKV) * HS] is bound as both k and v (two read-only bindings may alias) with
// srcStride = (NH + 2 NKV) * HS, kOffset = NH * HS, vOffset = (NH + NKV) * HS: offsets are uniforms
// because binding offsets must be 256-byte aligned.
// kCache, vCache are [maxCtx, D] f32, or under F16 [maxCtx, ceil(D / 2)] u32 words of packed halves
// (element i of a row in word i / 2, low half when i is even, an odd D pads the last high half
// with 0); rows pos .. pos + T - 1 are written.
// Bindings: 0 params {T, D, pos, srcStride, kOffset, vOffset}, 1 kCache, 2 vCache, 3 k, 4 v.
// Variants: F16 (packed half cache, pack2x16float: core WGSL, no shader-f16). One invocation per
// cache word, so the two halves of a word are written together (never two invocations per word).
// Numerics: f32 is a copy; under F16 pack2x16float rounds to a neighbouring half (WGSL allows either;
// SwiftShader rounds to nearest even as the twin does).
// Tuning: WG workgroup size (default 256).
// Grid: ceil(T * D / WG) workgroups (F16: ceil(T * ceil(D / 2) / WG)), folded into x and y.
// CPU twin: src/cpu/kv_append.ts

struct Params { T: u32, D: u32, pos: u32, srcStride: u32, kOffset: u32, vOffset: u32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
#if ${F16}
@group(0) @binding(1) var<storage, read_write> kCache: array<u32>;
@group(0) @binding(2) var<storage, read_write> vCache: array<u32>;
#else
@group(0) @binding(1) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(2) var<storage, read_write> vCache: array<f32>;
#endif
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = (wid.x + wid.y * nwg.x) * WG + lid;
  let D = params.D;
#if ${F16}
  // g is a cache word: elements 2w and 2w + 1 of row t.
  let W = (D + 1u) / 2u;
  if (g >= params.T * W) { return; }
  let t = g / W;
  let i = 2u * (g % W);
  let kRow = t * params.srcStride + params.kOffset;
  let vRow = t * params.srcStride + params.vOffset;
  var kp = vec2f(k[kRow + i], 0.0);
  var vp = vec2f(v[vRow + i], 0.0);
  if (i + 1u < D) {
    kp.y = k[kRow + i + 1u];
    vp.y = v[vRow + i + 1u];
  }
  let dst = (params.pos + t) * W + i / 2u;
  kCache[dst] = pack2x16float(kp);
  vCache[dst] = pack2x16float(vp);
#else
  if (g >= params.T * D) { return; }
  let t = g / D;
  let i = g % D;
  let dst = (params.pos + t) * D + i;
  kCache[dst] = k[t * params.srcStride + params.kOffset + i];
  vCache[dst] = v[t * params.srcStride + params.vOffset + i];
#endif
}

// kv_append: writes a block of new keys and values into the KV cache.
//   kCache[(pos + t) * D + i] = k[t * D + i],  vCache[(pos + t) * D + i] = v[t * D + i]
// Shapes: k, v are [T, D] f32 (D = NKV * HS, the projections of T new positions);
// kCache, vCache are [maxCtx, D] f32, rows pos .. pos + T - 1 are written.
// Bindings: 0 params {T, D, pos}, 1 kCache, 2 vCache, 3 k, 4 v.
// Variants: none.
// Tuning: WG workgroup size (default 256). Grid: ceil(T * D / WG) workgroups, folded into x and y.
// CPU twin: src/cpu/kv_append.ts

struct Params { T: u32, D: u32, pos: u32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(2) var<storage, read_write> vCache: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= params.T * params.D) { return; }
  let dst = params.pos * params.D + i;
  kCache[dst] = k[i];
  vCache[dst] = v[i];
}

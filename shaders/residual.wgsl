// residual: elementwise residual add.
//   out[i] = a[i] + b[i]            (IN_PLACE: a[i] = a[i] + b[i])
// Shapes: a, b, out are [N] f32 (a [T, C] activation flattened, N = T*C).
// Bindings: 0 params {N}, 1 out (absent when IN_PLACE), 2 a (read_write when IN_PLACE), 3 b.
// Variants: IN_PLACE (a buffer may not be bound twice in one dispatch, so x += y has its own).
// Tuning: WG workgroup size (default 256). Grid: ceil(N / WG) workgroups, folded into x and y.
// CPU twin: src/cpu/residual.ts

struct Params { N: u32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
#if ${IN_PLACE}
@group(0) @binding(2) var<storage, read_write> a: array<f32>;
#else
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
#endif
@group(0) @binding(3) var<storage, read> b: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= params.N) { return; }
#if ${IN_PLACE}
  a[i] = a[i] + b[i];
#else
  out[i] = a[i] + b[i];
#endif
}

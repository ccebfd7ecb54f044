// bench_copy: the memory-bandwidth probe of the kernel benchmark (src/bench).
//   out[i] = x[i]                   for i < N4 (vec4 elements, N = 4*N4 floats)
// Shapes: x, out are [N4] vec4<f32>; bytes moved per call: 2 * 16 * N4 (one read, one write).
// Bindings: 0 params {N4}, 1 out, 2 x.
// Variants: none.
// Tuning: WG workgroup size (default 256). Grid: ceil(N4 / WG) workgroups, folded into x and y.
//   One 16-byte load and store per invocation: the access pattern a streaming kernel can best hope
//   for, so its GB/s is the ceiling the other kernels' GB/s are compared with.
// CPU twin: src/cpu/bench_copy.ts

struct Params { N4: u32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(2) var<storage, read> x: array<vec4f>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= params.N4) { return; }
  out[i] = x[i];
}

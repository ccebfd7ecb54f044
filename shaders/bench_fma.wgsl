// bench_fma: the arithmetic-throughput probe of the kernel benchmark (src/bench).
//   Invocation i runs 16 independent chains  x <- fma(x, a, b)  for `iters` steps, starting from
//   x_j = s + 0.1 j with s = (i mod 1024) / 1000, then writes out[i] = the sum of the 16 chains
//   (summed as ((x0 + x1) + (x2 + x3)) lane-wise, then (l.x + l.y) + (l.z + l.w)).
// Shapes: out is [N] f32. FLOPs per call: 32 * iters * N (each fma counts as 2).
// Bindings: 0 params {N, iters, a, b}, 1 out.
// Variants: none.
// Tuning: WG workgroup size (default 256). Grid: ceil(N / WG) workgroups, folded into x and y.
//   Four vec4 chains give every lane independent work to hide the fma latency; a and b come from
//   the uniform so the compiler cannot fold the loop. |a| < 1 keeps the chains contracting, so
//   rounding differences do not grow with iters.
// CPU twin: src/cpu/bench_fma.ts

struct Params { N: u32, iters: u32, a: f32, b: f32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= params.N) { return; }
  let s = f32(i % 1024u) / 1000.0;
  var x0 = vec4f(s) + vec4f(0.0, 0.1, 0.2, 0.3);
  var x1 = vec4f(s) + vec4f(0.4, 0.5, 0.6, 0.7);
  var x2 = vec4f(s) + vec4f(0.8, 0.9, 1.0, 1.1);
  var x3 = vec4f(s) + vec4f(1.2, 1.3, 1.4, 1.5);
  let a = vec4f(params.a);
  let b = vec4f(params.b);
  for (var k = 0u; k < params.iters; k++) {
    x0 = fma(x0, a, b);
    x1 = fma(x1, a, b);
    x2 = fma(x2, a, b);
    x3 = fma(x3, a, b);
  }
  let l = (x0 + x1) + (x2 + x3);
  out[i] = (l.x + l.y) + (l.z + l.w);
}

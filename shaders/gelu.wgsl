// gelu: the Gaussian error linear unit, elementwise.
//   TANH:  out[i] = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))        (GPT-2, "gelu_new")
//   else:  out[i] = 0.5 x (1 + erf(x / sqrt 2)) = 0.5 x erfc(-x / sqrt 2)  (exact)
// Shapes: out, x are [N] f32 (a [T, FF] activation flattened, N = T*FF).
// Bindings: 0 params {N}, 1 out, 2 x.
// Variants: TANH (the tanh approximation; otherwise exact erf).
// Tuning: WG workgroup size (default 256). Grid: ceil(N / WG) workgroups, folded into x and y.
// Numerics: TANH uses 0.5 (1 + tanh(u)) = 1 / (1 + exp(-2u)), which keeps its relative accuracy in
// the negative tail where 1 + tanh(u) cancels; past -2u > 80 the result is 0 (below 1e-33), so
// nothing overflows (tanh itself overflows through exp in some implementations). erfc is the Chebyshev-fitted
// form of Numerical Recipes (erfcc), fractional error < 1.2e-7 everywhere; computing
// 0.5 x erfc(-x / sqrt 2) keeps the relative accuracy of the far negative tail.
// CPU twin: src/cpu/gelu.ts

struct Params { N: u32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

#if ${TANH}
fn gelu(v: f32) -> f32 {
  let u = 0.7978845608028654 * (v + 0.044715 * v * v * v);
  let e = -2.0 * u;
  // Past e = 80 the result is below 1e-33 in magnitude (and v^3 may have overflowed to inf).
  return select(v / (1.0 + exp(max(e, -80.0))), 0.0, e > 80.0);
}
#else
// erfc(z) with fractional error below 1.2e-7 (Numerical Recipes erfcc).
fn erfc(z: f32) -> f32 {
  let a = min(abs(z), 10.0);
  let t = 1.0 / (1.0 + 0.5 * a);
  let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  let r = t * exp(-a * a + poly);
  return select(2.0 - r, r, z >= 0.0);
}

fn gelu(v: f32) -> f32 {
  return 0.5 * v * erfc(-0.7071067811865476 * v);
}
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= params.N) { return; }
  out[i] = gelu(x[i]);
}

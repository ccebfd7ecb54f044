// softmax: row-wise softmax with temperature, numerically stable.
//   m = max_j x[r, j],  out[r, j] = exp((x[r, j] - m) / T) / sum_k exp((x[r, k] - m) / T)
// Shapes: out, x are [R, N] f32 row-major (N up to the vocabulary, 50257+). T > 0 (invT = 1 / T).
// Bindings: 0 params {R, N, invT}, 1 out, 2 x.
// Variants: none.
// Tuning: WG threads per row (default 256, a power of two). Grid: R workgroups, folded into x and y.
// Pass 1: each thread keeps an online (running max, rescaled sum) over a strided slice of the row;
// the pairs are merged by a tree reduction in workgroup memory. Pass 2 writes the probabilities.
// CPU twin: src/cpu/softmax.ts

struct Params { R: u32, N: u32, invT: f32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

var<workgroup> maxes: array<f32, WG>;
var<workgroup> sums: array<f32, WG>;

const LOWEST: f32 = -3.4028234663852886e38;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.R) { return; }
  let N = params.N;
  let invT = params.invT;
  let base = row * N;
  var m = LOWEST;
  var s = 0.0;
  for (var j = lid; j < N; j += WG) {
    let v = x[base + j];
    if (v > m) {
      s = s * exp((m - v) * invT) + 1.0;
      m = v;
    } else {
      s += exp((v - m) * invT);
    }
  }
  maxes[lid] = m;
  sums[lid] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) {
      let m1 = maxes[lid];
      let m2 = maxes[lid + half];
      let mm = max(m1, m2);
      sums[lid] = sums[lid] * exp((m1 - mm) * invT) + sums[lid + half] * exp((m2 - mm) * invT);
      maxes[lid] = mm;
    }
    workgroupBarrier();
  }
  let rowMax = maxes[0];
  let inv = 1.0 / sums[0];
  for (var j = lid; j < N; j += WG) {
    out[base + j] = exp((x[base + j] - rowMax) * invT) * inv;
  }
}

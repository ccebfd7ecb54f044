// matmul: linear layer, one output row per activation row.
//   out[m, outOffset + n] = sum_k x[m, k] * W(n, k) (+ bias[n])   for m < M, n < N
//   (out's row stride is outStride, so the column blocks of a weight split over several bindings
//   each write their own columns of one output).
// Shapes: x [M, K] f32 row-major; bias [N] f32; out [M, outStride] f32.
//   W layout 'NK' (default): Hugging Face Linear weight [N, K] row-major, W(n, k) = w[n*K + k].
//   W layout 'KN' (W_KN): GPT-2 Conv1D weight [K, N] row-major, W(n, k) = w[k*N + n].
//   F16: w holds packed halves, two per u32 along the contiguous dimension (k for NK, n for KN),
//   each row padded to a whole number of u32s: a row of length L takes ceil(L/2) words, element
//   i of a row sits in word i/2, low half when i is even (packWeightF16 in src/cpu/f16.ts).
// Bindings: 0 params {M, K, N, outStride, outOffset}, 1 out, 2 x, 3 w, 4 bias (BIAS only).
// Variants: W_KN (weight layout), F16 (packed f16 weight), BIAS, DECODE (small M, e.g. one token:
//   TPR invocations share each output along k, then reduce in workgroup memory; without DECODE
//   each invocation computes a 4x4 block of outputs in registers, with no barriers at all).
// Tuning: WG workgroup size (prefill default 64; decode default 256), TPR invocations per output in
//   DECODE (power of two dividing WG, default 32; the wrapper uses 32 for NK, 16 for KN).
//   Grid, prefill: ceil(ceil(M/4) * ceil(N/4) / WG) workgroups; decode: M * ceil(N / (WG/TPR))
//   workgroups; both folded into x and y.
// CPU twin: src/cpu/matmul.ts

struct Params { M: u32, K: u32, N: u32, outStride: u32, outOffset: u32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
#if ${F16}
@group(0) @binding(3) var<storage, read> w: array<u32>;
#else
@group(0) @binding(3) var<storage, read> w: array<f32>;
#endif
#if ${BIAS}
@group(0) @binding(4) var<storage, read> bias: array<f32>;
#endif

// Writes one finished output, adding the bias.
fn store(m: u32, n: u32, acc: f32) {
#if ${BIAS}
  out[m * params.outStride + params.outOffset + n] = acc + bias[n];
#else
  out[m * params.outStride + params.outOffset + n] = acc;
#endif
}

#if ${DECODE}
override WG: u32 = 256;
override TPR: u32 = 32;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // A workgroup computes ROWS = WG/TPR consecutive outputs n of one row m. Lanes of one output
  // stride over k; NK puts the lanes of an output side by side (coalesced along a weight row),
  // KN puts the outputs side by side (coalesced along n).
  let ROWS = WG / TPR;
  let g = wid.x + wid.y * nwg.x;
  let groupsN = (params.N + ROWS - 1u) / ROWS;
  let m = g / groupsN;
#if ${W_KN}
  let r = lid % ROWS;
  let lane = lid / ROWS;
  let laneStride = ROWS;
#else
  let r = lid / TPR;
  let lane = lid % TPR;
  let laneStride = 1u;
#endif
  let n = (g % groupsN) * ROWS + r;
  // Every invocation reaches every barrier: the out-of-range ones just contribute zeros.
  let valid = m < params.M && n < params.N;
  var acc = 0.0;
  if (valid) {
    let xRow = m * params.K;
#if ${F16}
#if ${W_KN}
    let rowWords = (params.N + 1u) / 2u;
    let odd = (n & 1u) == 1u;
    for (var k = lane; k < params.K; k += TPR) {
      let pair = unpack2x16float(w[k * rowWords + n / 2u]);
      acc += x[xRow + k] * select(pair.x, pair.y, odd);
    }
#else
    let rowWords = (params.K + 1u) / 2u;
    let wRow = n * rowWords;
    for (var kk = lane; kk < rowWords; kk += TPR) {
      let pair = unpack2x16float(w[wRow + kk]);
      let k = 2u * kk;
      // The padding half of an odd-K row is 0, but x[k + 1] would read the next row.
      let x1 = select(0.0, x[xRow + min(k + 1u, params.K - 1u)], k + 1u < params.K);
      acc += x[xRow + k] * pair.x + x1 * pair.y;
    }
#endif
#else
#if ${W_KN}
    for (var k = lane; k < params.K; k += TPR) {
      acc += x[xRow + k] * w[k * params.N + n];
    }
#else
    let wRow = n * params.K;
    for (var k = lane; k < params.K; k += TPR) {
      acc += x[xRow + k] * w[wRow + k];
    }
#endif
#endif
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      partial[lid] += partial[lid + s * laneStride];
    }
    workgroupBarrier();
  }
  if (valid && lane == 0u) {
    store(m, n, partial[lid]);
  }
}
#else
override WG: u32 = 64;

// One invocation per 4x4 output block (rows m0..m0+3, columns n0..n0+3), accumulated in registers:
// acc_i[j] = out(m0 + i, n0 + j). Rows and columns past M and N are clamped for reading and
// never stored. Neighbouring invocations take neighbouring column blocks of the same rows.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let M = params.M;
  let K = params.K;
  let N = params.N;
  let tile = (wid.x + wid.y * nwg.x) * WG + lid;
  let tilesN = (N + 3u) / 4u;
  let m0 = (tile / tilesN) * 4u;
  let n0 = (tile % tilesN) * 4u;
  if (m0 >= M) { return; }
  let x0 = m0 * K;
  let x1 = min(m0 + 1u, M - 1u) * K;
  let x2 = min(m0 + 2u, M - 1u) * K;
  let x3 = min(m0 + 3u, M - 1u) * K;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
#if ${F16}
#if ${W_KN}
  let rowWords = (N + 1u) / 2u;
  let lo = n0 / 2u;
  let hi = min(lo + 1u, rowWords - 1u);
  for (var k = 0u; k < K; k++) {
    let b01 = unpack2x16float(w[k * rowWords + lo]);
    let b23 = unpack2x16float(w[k * rowWords + hi]);
    let b = vec4f(b01, b23);
    acc0 += x[x0 + k] * b;
    acc1 += x[x1 + k] * b;
    acc2 += x[x2 + k] * b;
    acc3 += x[x3 + k] * b;
  }
#else
  let rowWords = (K + 1u) / 2u;
  let w0 = n0 * rowWords;
  let w1 = min(n0 + 1u, N - 1u) * rowWords;
  let w2 = min(n0 + 2u, N - 1u) * rowWords;
  let w3 = min(n0 + 3u, N - 1u) * rowWords;
  // Whole pairs of k, then the last k of an odd K (whose padding half is skipped).
  for (var kk = 0u; kk < K / 2u; kk++) {
    let p0 = unpack2x16float(w[w0 + kk]);
    let p1 = unpack2x16float(w[w1 + kk]);
    let p2 = unpack2x16float(w[w2 + kk]);
    let p3 = unpack2x16float(w[w3 + kk]);
    let be = vec4f(p0.x, p1.x, p2.x, p3.x);
    let bo = vec4f(p0.y, p1.y, p2.y, p3.y);
    let k = 2u * kk;
    acc0 += x[x0 + k] * be + x[x0 + k + 1u] * bo;
    acc1 += x[x1 + k] * be + x[x1 + k + 1u] * bo;
    acc2 += x[x2 + k] * be + x[x2 + k + 1u] * bo;
    acc3 += x[x3 + k] * be + x[x3 + k + 1u] * bo;
  }
  if ((K & 1u) == 1u) {
    let kk = rowWords - 1u;
    let k = K - 1u;
    let b = vec4f(unpack2x16float(w[w0 + kk]).x, unpack2x16float(w[w1 + kk]).x,
                  unpack2x16float(w[w2 + kk]).x, unpack2x16float(w[w3 + kk]).x);
    acc0 += x[x0 + k] * b;
    acc1 += x[x1 + k] * b;
    acc2 += x[x2 + k] * b;
    acc3 += x[x3 + k] * b;
  }
#endif
#else
#if ${W_KN}
  let c0 = n0;
  let c1 = min(n0 + 1u, N - 1u);
  let c2 = min(n0 + 2u, N - 1u);
  let c3 = min(n0 + 3u, N - 1u);
  for (var k = 0u; k < K; k++) {
    let row = k * N;
    let b = vec4f(w[row + c0], w[row + c1], w[row + c2], w[row + c3]);
    acc0 += x[x0 + k] * b;
    acc1 += x[x1 + k] * b;
    acc2 += x[x2 + k] * b;
    acc3 += x[x3 + k] * b;
  }
#else
  let w0 = n0 * K;
  let w1 = min(n0 + 1u, N - 1u) * K;
  let w2 = min(n0 + 2u, N - 1u) * K;
  let w3 = min(n0 + 3u, N - 1u) * K;
  for (var k = 0u; k < K; k++) {
    let b = vec4f(w[w0 + k], w[w1 + k], w[w2 + k], w[w3 + k]);
    acc0 += x[x0 + k] * b;
    acc1 += x[x1 + k] * b;
    acc2 += x[x2 + k] * b;
    acc3 += x[x3 + k] * b;
  }
#endif
#endif
  storeRow(m0, n0, acc0);
  if (m0 + 1u < M) { storeRow(m0 + 1u, n0, acc1); }
  if (m0 + 2u < M) { storeRow(m0 + 2u, n0, acc2); }
  if (m0 + 3u < M) { storeRow(m0 + 3u, n0, acc3); }
}

// Stores the in-range columns of one row of a 4x4 block.
fn storeRow(m: u32, n0: u32, acc: vec4f) {
  for (var j = 0u; j < 4u; j++) {
    if (n0 + j < params.N) { store(m, n0 + j, acc[j]); }
  }
}
#endif

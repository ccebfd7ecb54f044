// matmul: linear layer, one output row per activation row.
//   out[m, outOffset + n] = sum_k x[m, k] * W(n, k) (+ bias[n])          for m < M, n < N
//   ACCUMULATE: out[m, outOffset + n] += that sum (+ bias[n])  (the residual add x += a.W + b)
//   (out's row stride is outStride, so the column blocks of a weight split over several bindings
//   each write their own columns of one output).
// Shapes: x [M, K] f32 row-major; bias [N] f32; out [M, outStride] f32.
//   W layout 'NK' (default): Hugging Face Linear weight [N, K] row-major, W(n, k) = w[n*K + k].
//   W layout 'KN' (W_KN): GPT-2 Conv1D weight [K, N] row-major, W(n, k) = w[k*N + n].
//   F16: w holds packed halves, two per u32 along the contiguous dimension (k for NK, n for KN),
//   each row padded to a whole number of u32s: a row of length L takes ceil(L/2) words, element
//   i of a row sits in word i/2, low half when i is even (packWeightF16 in src/formats/f16.ts).
//   QUANT (with exactly one of Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K): w holds ggml
//   blocks (layouts in src/formats/formats.ts, values as src/formats/quant.ts decodes them), NK
//   only, K a multiple of the block size (32, or 256 for the k-quants): row n is K/QK blocks at
//   byte n*(K/QK)*blockBytes, rows back to back, bound as array<u32> (the buffer padded to whole
//   words). Blocks start at even bytes, so u16 and u32 fields are read from one or two words
//   with shifts. Values are decoded to f32 in the loader; x and the sums stay f32.
// Bindings: 0 params {M, K, N, outStride, outOffset}, 1 out, 2 x, 3 w, 4 bias (BIAS only),
//   5 part, split-K partial sums [S, M, N] f32 (SPLITK writes it, REDUCE reads it; REDUCE binds
//   only 1, 4 and 5).
// The seam: every kernel reads the weight through w4(n, k, tail) = W(n, k..k+3) (k a multiple of
//   4; with tail, the k past K come back as zeros) or w4x4(n0, k, tail) = W(n0..n0+3, k..k+3),
//   or wdot(m, n, k) = sum_{i<KC} x[m, k+i] * W(n, k+i) (k a multiple of KC, never a tail), x
//   through x4(m, k, tail), and writes through store(m, n, acc), the epilogue. A weight format
//   (layout, packing, quantized blocks along k) is one implementation of w4 and wdot; w4x4 is four
//   w4 unless the format is stored along n (KN), where loading along n shares words and rows.
//   Float formats have KC = 4 and wdot = dot(x4, w4); quantized ones KC = 32, a block (or a k-quant
//   sub-block) whose scales wdot decodes once: wdot(m, n, k) = wdotx(xblock(m, k), n, k), so GEMV
//   loads the 32 values of x once for its R outputs (xblock) and each format writes only wdotx. TILE steps k by quads (w4x4; a quantized w4 decodes
//   its quad's scales each call: a quad never straddles blocks); GEMV, COOP and SUBGROUP step by
//   KC. Each kernel's inner loop is written once, over the loaders.
// Variants:
//   kind (exactly one of TILE, GEMV, COOP, SUBGROUP, REDUCE):
//     TILE     each invocation a 4x4 block of outputs in registers, no barriers (prefill).
//     GEMV     each invocation R adjacent outputs of one row m over all of k, no barriers
//              (matrix-vector).
//     COOP     TPR invocations per output split k, then a tree reduction in workgroup memory.
//     SUBGROUP the subgroups of a workgroup take its WG/TPR outputs one at a time from an atomic
//              counter, all lanes of a subgroup along k, reduced with subgroupAdd. Any subgroup
//              size works (lanes are ranked among the active ones); needs the subgroups feature.
//     GEMV + SPLITK  k split into S slices over separate workgroups, each writing its partial sums
//              to part (no epilogue); then REDUCE sums the S partials of each output and stores it.
//   W_KN (weight layout), F16 (packed f16 weight), VEC4 (K % 4 == 0: x bound as array<vec4f>, and
//   the weight as vec4f (NK f32) or vec2u (NK F16) for whole-quad loads; KN keeps scalar weight
//   loads; QUANT weights are always u32 words), BIAS, ACCUMULATE, the weight format (F16, QUANT
//   and its format; none of them: f32).
// Tuning (override constants): WG workgroup size (every kind; REDUCE uses 64); R adjacent outputs
//   per invocation in GEMV and SPLITK (1..4); TPR invocations per output in COOP (a power of two
//   dividing WG) and, in SUBGROUP, WG/TPR outputs per workgroup; S number of k slices in SPLITK
//   and REDUCE (slices are ceil(K/S) rounded up to a multiple of KC; trailing ones may be empty).
//   Names and defaults per kind: matmulKernelName in src/kernels/matmul.ts.
// Grid (workgroups, folded into x and y; the wrapper sets it):
//   TILE ceil(ceil(M/4) * ceil(N/4) / WG); GEMV M * ceil(N / (WG*R)); SPLITK S times that;
//   COOP and SUBGROUP M * ceil(N / (WG/TPR)); REDUCE ceil(M*N / WG).
// CPU twin: src/cpu/matmul.ts
#if ${SUBGROUP}
enable subgroups;
// The loop over outputs ends on a value broadcast to the whole subgroup, so every subgroupAdd runs
// with the whole subgroup; the analysis cannot see through the broadcast.
diagnostic(off, subgroup_uniformity);
#endif

struct Params { M: u32, K: u32, N: u32, outStride: u32, outOffset: u32 }

override WG: u32 = 64;
override R: u32 = 1;
override TPR: u32 = 32;
override S: u32 = 1;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
#if ${VEC4}
@group(0) @binding(2) var<storage, read> x: array<vec4f>;
#else
@group(0) @binding(2) var<storage, read> x: array<f32>;
#endif
#if ${BIAS}
@group(0) @binding(4) var<storage, read> bias: array<f32>;
#endif
#if ${SPLITK}
@group(0) @binding(5) var<storage, read_write> part: array<f32>;
#endif
#if ${REDUCE}
@group(0) @binding(5) var<storage, read> part: array<f32>;
#endif

// x[m, k..k+3]; with `tail`, the k past K are zeros. VEC4 has K % 4 == 0, so no tail.
fn x4(m: u32, k: u32, tail: bool) -> vec4f {
#if ${VEC4}
  return x[(m * params.K + k) / 4u];
#else
  let i = m * params.K + k;
  if (!tail) { return vec4f(x[i], x[i + 1u], x[i + 2u], x[i + 3u]); }
  let c = params.K - k;
  return vec4f(x[i], select(0.0, x[i + 1u], c > 1u), select(0.0, x[i + 2u], c > 2u), 0.0);
#endif
}

// The weight loaders, one implementation per layout and storage: w4(n, k, tail) = W(n, k..k+3),
// k a multiple of 4, with `tail` (k + 4 > K) the k past K are zeros; w4x4(n0, k, tail) has
// W(n0 + j, k..k+3) as column j, n0 a multiple of 4 (outputs past N are read clamped, not used).
#if ${W_KN}
#if ${F16}
@group(0) @binding(3) var<storage, read> w: array<u32>;
// KN f16: W(n, k) is half n&1 of word k*ceil(N/2) + n/2.
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  let rowWords = (params.N + 1u) / 2u;
  let i = k * rowWords + n / 2u;
  let odd = (n & 1u) == 1u;
  let c = select(4u, params.K - k, tail);
  var v = vec4f(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (j < c) {
      let pair = unpack2x16float(w[i + j * rowWords]);
      v[j] = select(pair.x, pair.y, odd);
    }
  }
  return v;
}

// KN f16, n0 a multiple of 4: two words of each row k+i hold n0..n0+3.
fn w4x4(n0: u32, k: u32, tail: bool) -> mat4x4f {
  let rowWords = (params.N + 1u) / 2u;
  let lo = n0 / 2u;
  let hi = min(lo + 1u, rowWords - 1u);
  let c = select(4u, params.K - k, tail);
  var rows = mat4x4f();
  for (var i = 0u; i < 4u; i++) {
    if (i < c) {
      let r = (k + i) * rowWords;
      rows[i] = vec4f(unpack2x16float(w[r + lo]), unpack2x16float(w[r + hi]));
    }
  }
  return transpose(rows);
}
#else
@group(0) @binding(3) var<storage, read> w: array<f32>;
// KN f32: four loads a row of W apart.
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  let N = params.N;
  let i = k * N + n;
  if (!tail) { return vec4f(w[i], w[i + N], w[i + 2u * N], w[i + 3u * N]); }
  let c = params.K - k;
  return vec4f(w[i], select(0.0, w[i + N], c > 1u), select(0.0, w[i + 2u * N], c > 2u), 0.0);
}

// KN f32: four neighbouring floats of each row k+i.
fn w4x4(n0: u32, k: u32, tail: bool) -> mat4x4f {
  let N = params.N;
  let n = min(n0 + vec4u(0u, 1u, 2u, 3u), vec4u(N - 1u));
  let c = select(4u, params.K - k, tail);
  var rows = mat4x4f();
  for (var i = 0u; i < 4u; i++) {
    if (i < c) {
      let r = (k + i) * N;
      rows[i] = vec4f(w[r + n.x], w[r + n.y], w[r + n.z], w[r + n.w]);
    }
  }
  return transpose(rows);
}
#endif
#else
#if ${QUANT}
@group(0) @binding(3) var<storage, read> w: array<u32>;

// Reading ggml blocks bound as u32 words. Blocks start at even bytes, and so do the fields read
// as u16 or u32 (4 quants of one w4 call always start at an even byte). q4_1, q5_1, q4_k and
// q5_k blocks are whole words (20, 24, 144, 176 bytes), so all their fields are read with u32a.
// The u32 at byte b, a multiple of 4.
fn u32a(b: u32) -> u32 {
  return w[b >> 2u];
}

// The u32 at even byte b: one word, or the halves of two when b is 2 mod 4 (the second index
// clamped: when b is a multiple of 4 it is not used, and may lie past the end).
fn u32at(b: u32) -> u32 {
  let i = b >> 2u;
  let lo = w[i];
  let hi = w[min(i + 1u, arrayLength(&w) - 1u)];
  return select(lo, (lo >> 16u) | (hi << 16u), (b & 2u) != 0u);
}

// The f16 at even byte b.
fn f16at(b: u32) -> f32 {
  return unpack2x16float(w[b >> 2u] >> ((b & 2u) * 8u)).x;
}

// The byte at byte b.
fn u8at(b: u32) -> u32 {
  return (w[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

// The u32 at byte 2 of the word pair (lo, hi) when `split`, else hi: a field starting at byte
// 4i+4 (not split) or 4i+2 (split), with lo = w[i] and hi = w[i+1].
fn pick(lo: u32, hi: u32, split: bool) -> u32 {
  return select(hi, (lo >> 16u) | (hi << 16u), split);
}

// The four bytes of q (low first) as unsigned integers.
fn bytes4(q: u32) -> vec4f {
  return vec4f((vec4u(q) >> vec4u(0u, 8u, 16u, 24u)) & vec4u(0xffu));
}

// The four bytes of q (low first) as signed integers.
fn sbytes4(q: u32) -> vec4f {
  return vec4f((vec4i(bitcast<i32>(q)) << vec4u(24u, 16u, 8u, 0u)) >> vec4u(24u));
}

// Bits 0..3 of h moved to bit 4 of bytes 0..3 (the fifth bit of four 5-bit quants): h * (1 +
// 2^7 + 2^14 + 2^21) puts bit i at bit 8i, with no carries.
fn fifthBits(h: u32) -> u32 {
  return (((h & 0xfu) * 0x00204081u) & 0x01010101u) << 4u;
}

// Byte offset of the block of row n holding k, QK values and BYTES bytes a block.
fn blockAt(n: u32, k: u32, QK: u32, BYTES: u32) -> u32 {
  return (n * (params.K / QK) + k / QK) * BYTES;
}

// x[m, k..k+31] in registers: what a quantized block (or k-quant sub-block) multiplies, loaded
// once for every output an invocation computes over it.
fn xblock(m: u32, k: u32) -> array<vec4f, 8> {
  var xb: array<vec4f, 8>;
  for (var j = 0u; j < 8u; j++) { xb[j] = x4(m, k + 4u * j, false); }
  return xb;
}

// The seam's whole-block dot product: wdotx(xblock(m, k), n, k), each format's wdotx below.
fn wdot(m: u32, n: u32, k: u32) -> f32 {
  return wdotx(xblock(m, k), n, k);
}

#if ${Q8_0}
// q8_0 (34 B: d, qs[32] i8): x = d * q.
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  let b = blockAt(n, k, 32u, 34u);
  return f16at(b) * sbytes4(u32at(b + 2u + k % 32u));
}

// A whole block: the 9 words holding it (qs straddle words when the block starts at 4i).
const KC = 32u;
fn wdotx(xb: array<vec4f, 8>, n: u32, k: u32) -> f32 {
  let b = blockAt(n, k, 32u, 34u);
  let i = b >> 2u;
  let split = (b & 2u) == 0u;
  var lo = w[i];
  let d = unpack2x16float(select(lo >> 16u, lo, split)).x;
  var acc = 0.0;
  for (var j = 0u; j < 8u; j++) {
    let hi = w[i + 1u + j];
    acc += dot(xb[j], sbytes4(pick(lo, hi, split)));
    lo = hi;
  }
  return d * acc;
}
#elif ${Q4_0}
// q4_0 (18 B: d, qs[16]): value j < 16 is the low nibble of qs[j], j >= 16 the high nibble of
// qs[j - 16]; x = d * (q - 8).
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  let b = blockAt(n, k, 32u, 18u);
  let j = k % 32u;
  let q = (u32at(b + 2u + j % 16u) >> (j / 16u * 4u)) & 0x0f0f0f0fu;
  return f16at(b) * (bytes4(q) - 8.0);
}

// A whole block: quads j and j+4 are the low and high nibbles of qs word j.
const KC = 32u;
fn wdotx(xb: array<vec4f, 8>, n: u32, k: u32) -> f32 {
  let b = blockAt(n, k, 32u, 18u);
  let i = b >> 2u;
  let split = (b & 2u) == 0u;
  var lo = w[i];
  let d = unpack2x16float(select(lo >> 16u, lo, split)).x;
  // d * sum x (q - 8) = d * (sum x q - 8 sum x).
  var acc = 0.0;
  var xs = vec4f(0.0);
  for (var j = 0u; j < 4u; j++) {
    let hi = w[i + 1u + j];
    let q = pick(lo, hi, split);
    acc += dot(xb[j], bytes4(q & 0x0f0f0f0fu)) + dot(xb[4u + j], bytes4((q >> 4u) & 0x0f0f0f0fu));
    xs += xb[j] + xb[4u + j];
    lo = hi;
  }
  return d * (acc - 8.0 * dot(xs, vec4f(1.0)));
}
#elif ${Q4_1}
// q4_1 (20 B: d, m, qs[16]), nibbles as q4_0: x = d * q + m.
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  let b = blockAt(n, k, 32u, 20u);
  let j = k % 32u;
  let dm = unpack2x16float(u32a(b));
  let q = (u32a(b + 4u + j % 16u) >> (j / 16u * 4u)) & 0x0f0f0f0fu;
  return dm.x * bytes4(q) + dm.y;
}

// A whole block: quads j and j+4 are the low and high nibbles of qs word j.
const KC = 32u;
fn wdotx(xb: array<vec4f, 8>, n: u32, k: u32) -> f32 {
  let i = blockAt(n, k, 32u, 20u) >> 2u;
  let dm = unpack2x16float(w[i]);
  var acc = 0.0;
  for (var j = 0u; j < 4u; j++) {
    let q = w[i + 1u + j];
    acc += dot(xb[j], dm.x * bytes4(q & 0x0f0f0f0fu) + dm.y);
    acc += dot(xb[4u + j], dm.x * bytes4((q >> 4u) & 0x0f0f0f0fu) + dm.y);
  }
  return acc;
}
#elif ${Q5_0}
// q5_0 (22 B: d, qh u32, qs[16]), nibbles as q4_0, bit j of qh is bit 4 of value j:
// x = d * (q - 16).
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  let b = blockAt(n, k, 32u, 22u);
  let j = k % 32u;
  let lo = (u32at(b + 6u + j % 16u) >> (j / 16u * 4u)) & 0x0f0f0f0fu;
  let q = lo | fifthBits(u32at(b + 2u) >> j);
  return f16at(b) * (bytes4(q) - 16.0);
}

// A whole block (6 words: qh and qs straddle words when the block starts at 4i).
const KC = 32u;
fn wdotx(xb: array<vec4f, 8>, n: u32, k: u32) -> f32 {
  let b = blockAt(n, k, 32u, 22u);
  let i = b >> 2u;
  let split = (b & 2u) == 0u;
  let w0 = w[i];
  var lo = w[i + 1u];
  let d = unpack2x16float(select(w0 >> 16u, w0, split)).x;
  let qh = pick(w0, lo, split);
  var acc = 0.0;
  for (var j = 0u; j < 4u; j++) {
    let hi = w[i + 2u + j];
    let q = pick(lo, hi, split);
    let q0 = (q & 0x0f0f0f0fu) | fifthBits(qh >> (4u * j));
    let q1 = ((q >> 4u) & 0x0f0f0f0fu) | fifthBits(qh >> (16u + 4u * j));
    acc += dot(xb[j], d * (bytes4(q0) - 16.0));
    acc += dot(xb[4u + j], d * (bytes4(q1) - 16.0));
    lo = hi;
  }
  return acc;
}
#elif ${Q5_1}
// q5_1 (24 B: d, m, qh u32, qs[16]), quants as q5_0: x = d * q + m.
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  let b = blockAt(n, k, 32u, 24u);
  let j = k % 32u;
  let dm = unpack2x16float(u32a(b));
  let lo = (u32a(b + 8u + j % 16u) >> (j / 16u * 4u)) & 0x0f0f0f0fu;
  let q = lo | fifthBits(u32a(b + 4u) >> j);
  return dm.x * bytes4(q) + dm.y;
}

// A whole block.
const KC = 32u;
fn wdotx(xb: array<vec4f, 8>, n: u32, k: u32) -> f32 {
  let i = blockAt(n, k, 32u, 24u) >> 2u;
  let dm = unpack2x16float(w[i]);
  let qh = w[i + 1u];
  var acc = 0.0;
  for (var j = 0u; j < 4u; j++) {
    let q = w[i + 2u + j];
    let q0 = (q & 0x0f0f0f0fu) | fifthBits(qh >> (4u * j));
    let q1 = ((q >> 4u) & 0x0f0f0f0fu) | fifthBits(qh >> (16u + 4u * j));
    acc += dot(xb[j], dm.x * bytes4(q0) + dm.y);
    acc += dot(xb[4u + j], dm.x * bytes4(q1) + dm.y);
  }
  return acc;
}
#elif ${Q6_K}
// q6_k (210 B: ql[128], qh[64], scales[16] i8, d). Value v = 128h + 32g + l (l < 32): low
// nibble (g < 2) or high nibble (g >= 2) of ql[64h + 32(g&1) + l], bits 2g, 2g+1 of qh[32h + l]
// above it, scale scales[8h + l/16 + 2g]: x = d * scale * (q - 32).
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  let b = blockAt(n, k, 256u, 210u);
  let v = k % 256u;
  let h = v / 128u;
  let g = v / 32u % 4u;
  let l = v % 32u;
  let lo = (u32at(b + 64u * h + 32u * (g & 1u) + l) >> (g / 2u * 4u)) & 0x0f0f0f0fu;
  let hi = (u32at(b + 128u + 32u * h + l) >> (2u * g)) & 0x03030303u;
  let scale = bitcast<i32>(u8at(b + 192u + 8u * h + l / 16u + 2u * g) << 24u) >> 24u;
  return (f16at(b + 208u) * f32(scale)) * (bytes4(lo | (hi << 4u)) - 32.0);
}

// 32 values v = 128h + 32g + l, l = 0..31: 32 bytes of ql and of qh, from word il (ih) on, each
// u32 the halves of two words when the block starts at 4i+2 (the word after the last is still in
// the block); two scales (l < 16 and l >= 16, adjacent bytes).
const KC = 32u;
fn wdotx(xb: array<vec4f, 8>, n: u32, k: u32) -> f32 {
  let b = blockAt(n, k, 256u, 210u);
  let v = k % 256u;
  let h = v / 128u;
  let g = v / 32u % 4u;
  let split = (b & 2u) != 0u;
  let il = (b + 64u * h + 32u * (g & 1u)) >> 2u;
  let ih = (b + 128u + 32u * h) >> 2u;
  let d = f16at(b + 208u);
  let sc = u32at(b + 192u + 8u * h + 2u * g);
  let s0 = d * f32(bitcast<i32>(sc << 24u) >> 24u);
  let s1 = d * f32(bitcast<i32>(sc << 16u) >> 24u);
  let shiftLo = g / 2u * 4u;
  var ql = w[il];
  var qh = w[ih];
  var acc = 0.0;
  for (var j = 0u; j < 8u; j++) {
    let ql1 = w[il + 1u + j];
    let qh1 = w[ih + 1u + j];
    let lo = (select(ql, (ql >> 16u) | (ql1 << 16u), split) >> shiftLo) & 0x0f0f0f0fu;
    let hi = (select(qh, (qh >> 16u) | (qh1 << 16u), split) >> (2u * g)) & 0x03030303u;
    acc += dot(xb[j], select(s1, s0, j < 4u) * (bytes4(lo | (hi << 4u)) - 32.0));
    ql = ql1;
    qh = qh1;
  }
  return acc;
}
#else
// ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j (0..7) from the 12 scale bytes
// at byte o. j < 4: low 6 bits of bytes j and j+4; j >= 4: the nibbles of byte j+4, with the top
// two bits of bytes j-4 (scale) and j (min) above them.
fn scaleMin(o: u32, j: u32) -> vec2f {
  let shift = (j % 4u) * 8u;
  let lo = u32a(o) >> shift;
  let mid = u32a(o + 4u) >> shift;
  let hi = u32a(o + 8u) >> shift;
  let sc = select((hi & 0xfu) | (((lo >> 6u) & 3u) << 4u), lo & 63u, j < 4u);
  let mn = select(((hi >> 4u) & 0xfu) | (((mid >> 6u) & 3u) << 4u), mid & 63u, j < 4u);
  return vec2f(f32(sc), f32(mn));
}

#if ${Q4_K}
// q4_k (144 B: d, dmin, scales[12], qs[128]): sub-block j = v/32 of value v is the low (j even)
// or high (j odd) nibbles of qs[32(j/2)..]; x = d*scale_j * q - dmin*min_j.
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  let b = blockAt(n, k, 256u, 144u);
  let v = k % 256u;
  let j = v / 32u;
  let dm = unpack2x16float(u32a(b));
  let sm = scaleMin(b + 4u, j);
  let q = (u32a(b + 16u + j / 2u * 32u + v % 32u) >> (j % 2u * 4u)) & 0x0f0f0f0fu;
  return (dm.x * sm.x) * bytes4(q) - dm.y * sm.y;
}

// A sub-block of 32: one scale and min, 8 words of qs.
const KC = 32u;
fn wdotx(xb: array<vec4f, 8>, n: u32, k: u32) -> f32 {
  let b = blockAt(n, k, 256u, 144u);
  let j = k % 256u / 32u;
  let dm = unpack2x16float(w[b >> 2u]);
  let sm = scaleMin(b + 4u, j);
  let scale = dm.x * sm.x;
  let offset = dm.y * sm.y;
  let iq = (b + 16u + j / 2u * 32u) >> 2u;
  let shift = j % 2u * 4u;
  var acc = 0.0;
  for (var i = 0u; i < 8u; i++) {
    let q = (w[iq + i] >> shift) & 0x0f0f0f0fu;
    acc += dot(xb[i], scale * bytes4(q) - offset);
  }
  return acc;
}
#elif ${Q5_K}
// q5_k (176 B: d, dmin, scales[12], qh[32], qs[128]): as q4_k, and bit j of qh[v % 32] is bit 4
// of value v of sub-block j.
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  let b = blockAt(n, k, 256u, 176u);
  let v = k % 256u;
  let j = v / 32u;
  let dm = unpack2x16float(u32a(b));
  let sm = scaleMin(b + 4u, j);
  let lo = (u32a(b + 48u + j / 2u * 32u + v % 32u) >> (j % 2u * 4u)) & 0x0f0f0f0fu;
  let hi = (u32a(b + 16u + v % 32u) >> j) & 0x01010101u;
  return (dm.x * sm.x) * bytes4(lo | (hi << 4u)) - dm.y * sm.y;
}

// A sub-block of 32: one scale and min, 8 words of qs and 8 of qh.
const KC = 32u;
fn wdotx(xb: array<vec4f, 8>, n: u32, k: u32) -> f32 {
  let b = blockAt(n, k, 256u, 176u);
  let j = k % 256u / 32u;
  let dm = unpack2x16float(w[b >> 2u]);
  let sm = scaleMin(b + 4u, j);
  let scale = dm.x * sm.x;
  let offset = dm.y * sm.y;
  let iq = (b + 48u + j / 2u * 32u) >> 2u;
  let ih = (b + 16u) >> 2u;
  let shift = j % 2u * 4u;
  var acc = 0.0;
  for (var i = 0u; i < 8u; i++) {
    let q = ((w[iq + i] >> shift) & 0x0f0f0f0fu) | (((w[ih + i] >> j) & 0x01010101u) << 4u);
    acc += dot(xb[i], scale * bytes4(q) - offset);
  }
  return acc;
}
#endif
#endif
#elif ${F16}
#if ${VEC4}
@group(0) @binding(3) var<storage, read> w: array<vec2u>;
// NK f16, K % 4 == 0: a row is K/4 vec2u, each four halves.
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  let q = w[(n * params.K + k) / 4u];
  return vec4f(unpack2x16float(q.x), unpack2x16float(q.y));
}
#else
@group(0) @binding(3) var<storage, read> w: array<u32>;
// NK f16: k..k+3 are the two words from k/2 of row n (ceil(K/2) words a row).
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  let i = n * ((params.K + 1u) / 2u) + k / 2u;
  let lo = unpack2x16float(w[i]);
  if (!tail) { return vec4f(lo, unpack2x16float(w[i + 1u])); }
  let c = params.K - k;
  let hi = select(vec2f(0.0), unpack2x16float(w[i + 1u]), c > 2u);
  return vec4f(lo.x, select(0.0, lo.y, c > 1u), select(0.0, hi.x, c > 2u), 0.0);
}
#endif
#else
#if ${VEC4}
@group(0) @binding(3) var<storage, read> w: array<vec4f>;
// NK f32, K % 4 == 0: one vec4 load.
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  return w[(n * params.K + k) / 4u];
}
#else
@group(0) @binding(3) var<storage, read> w: array<f32>;
// NK f32: four consecutive floats of row n.
fn w4(n: u32, k: u32, tail: bool) -> vec4f {
  let i = n * params.K + k;
  if (!tail) { return vec4f(w[i], w[i + 1u], w[i + 2u], w[i + 3u]); }
  let c = params.K - k;
  return vec4f(w[i], select(0.0, w[i + 1u], c > 1u), select(0.0, w[i + 2u], c > 2u), 0.0);
}
#endif
#endif

// Formats stored along k: four rows of w4 (outputs past N read row N-1).
fn w4x4(n0: u32, k: u32, tail: bool) -> mat4x4f {
  let n = min(n0 + vec4u(0u, 1u, 2u, 3u), vec4u(params.N - 1u));
  return mat4x4f(w4(n.x, k, tail), w4(n.y, k, tail), w4(n.z, k, tail), w4(n.w, k, tail));
}
#endif

#if ${QUANT}
#else
// Float formats step k one quad at a time.
const KC = 4u;
fn wdot(m: u32, n: u32, k: u32) -> f32 {
  return dot(x4(m, k, false), w4(n, k, false));
}
#endif

// The epilogue: writes one finished output, adding the bias, and adding to out with ACCUMULATE.
fn store(m: u32, n: u32, acc: f32) {
  let i = m * params.outStride + params.outOffset + n;
#if ${BIAS}
  let v = acc + bias[n];
#else
  let v = acc;
#endif
#if ${ACCUMULATE}
  out[i] = out[i] + v;
#else
  out[i] = v;
#endif
}

#if ${GEMV}
#if ${QUANT}
// The dot products of x[m, k..k+KC-1] with the same k of outputs n0..n0+3 (only the first R used).
fn dotR(m: u32, n0: u32, k: u32, tail: bool) -> vec4f {
  let n = min(n0 + vec4u(0u, 1u, 2u, 3u), vec4u(params.N - 1u));
  let xb = xblock(m, k);
  var d = vec4f(wdotx(xb, n.x, k), 0.0, 0.0, 0.0);
  if (R > 1u) { d.y = wdotx(xb, n.y, k); }
  if (R > 2u) { d.z = wdotx(xb, n.z, k); }
  if (R > 3u) { d.w = wdotx(xb, n.w, k); }
  return d;
}
#else
// The dot products of x[m, k..k+3] with the same k of outputs n0..n0+3 (only the first R used).
fn dotR(m: u32, n0: u32, k: u32, tail: bool) -> vec4f {
  let xv = x4(m, k, tail);
  if (R == 4u) { return xv * w4x4(n0, k, tail); }
  let n = min(n0 + vec4u(0u, 1u, 2u, 3u), vec4u(params.N - 1u));
  var d = vec4f(dot(xv, w4(n.x, k, tail)), 0.0, 0.0, 0.0);
  if (R > 1u) { d.y = dot(xv, w4(n.y, k, tail)); }
  if (R > 2u) { d.z = dot(xv, w4(n.z, k, tail)); }
  return d;
}
#endif

// Invocation lid of a workgroup owns outputs n0..n0+R-1 of one row m; outputs past N are clamped
// for reading and never stored. SPLITK: the workgroup also owns one slice of k, a multiple of KC
// long.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let M = params.M;
  let K = params.K;
  let N = params.N;
  let g = wid.x + wid.y * nwg.x;
  let groupsN = (N + WG * R - 1u) / (WG * R);
  let m = (g / groupsN) % M;
#if ${SPLITK}
  let s = g / (groupsN * M);
  if (s >= S || M == 0u) { return; }
  let slice = ((K + S - 1u) / S + KC - 1u) / KC * KC;
  let k0 = min(s * slice, K);
  let k1 = min(k0 + slice, K);
#else
  if (g / groupsN >= M) { return; }
  let k0 = 0u;
  let k1 = K;
#endif
  let n0 = ((g % groupsN) * WG + lid) * R;
  let kq = k0 + (k1 - k0) / KC * KC;
  var acc = vec4f(0.0);
  for (var k = k0; k < kq; k += KC) {
    acc += dotR(m, n0, k, false);
  }
  if (kq < k1) { acc += dotR(m, n0, kq, true); }
  for (var r = 0u; r < R; r++) {
    if (n0 + r < N) {
#if ${SPLITK}
      part[(s * M + m) * N + n0 + r] = acc[r];
#else
      store(m, n0 + r, acc[r]);
#endif
    }
  }
}
#endif

#if ${COOP}
var<workgroup> partial: array<f32, WG>;

// A workgroup computes ROWS = WG/TPR consecutive outputs n of one row m. Lanes of one output take
// every TPR-th chunk of KC values of k; NK puts the lanes of an output side by side (coalesced along a weight
// row), KN puts the outputs side by side (coalesced along n).
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let K = params.K;
  let ROWS = WG / TPR;
  let g = wid.x + wid.y * nwg.x;
  let groupsN = (params.N + ROWS - 1u) / ROWS;
  let m = g / groupsN;
  if (m >= params.M) { return; }
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
  // Every invocation reaches every barrier: the ones past N read row N-1 and are not stored.
  let nr = min(n, params.N - 1u);
  let kq = K / KC * KC;
  var acc = 0.0;
  for (var k = KC * lane; k < kq; k += KC * TPR) {
    acc += wdot(m, nr, k);
  }
  if (kq < K && lane == 0u) { acc += dot(x4(m, kq, true), w4(nr, kq, true)); }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    if (lane < s) {
      partial[lid] += partial[lid + s * laneStride];
    }
    workgroupBarrier();
  }
  if (n < params.N && lane == 0u) {
    store(m, n, partial[lid]);
  }
}
#endif

#if ${SUBGROUP}
var<workgroup> nextOutput: atomic<u32>;

// A workgroup owns ROWS = WG/TPR consecutive outputs of one row m. Each subgroup takes the next
// unclaimed one from nextOutput until none is left; its active lanes, ranked 0..lanes-1, take
// every lanes-th chunk of KC values of k. Nothing assumes a subgroup size or which invocations form a subgroup.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let K = params.K;
  let ROWS = WG / TPR;
  let g = wid.x + wid.y * nwg.x;
  let groupsN = (params.N + ROWS - 1u) / ROWS;
  let m = g / groupsN;
  if (m >= params.M) { return; }
  // WGSL zero-initializes nextOutput; SwiftShader was seen doing it per subgroup with no barrier
  // after, so a subgroup that starts late resets the counter and outputs are done twice.
  workgroupBarrier();
  let lanes = subgroupAdd(1u);
  let lane = subgroupExclusiveAdd(1u);
  let kq = K / KC * KC;
  loop {
    var claimed = 0u;
    if (lane == 0u) { claimed = atomicAdd(&nextOutput, 1u); }
    let r = subgroupBroadcastFirst(claimed);
    let n = (g % groupsN) * ROWS + r;
    if (r >= ROWS || n >= params.N) { break; }
    var acc = 0.0;
    for (var k = KC * lane; k < kq; k += KC * lanes) {
      acc += wdot(m, n, k);
    }
    if (kq < K && lane == 0u) { acc += dot(x4(m, kq, true), w4(n, kq, true)); }
    let total = subgroupAdd(acc);
    if (lane == 0u) { store(m, n, total); }
  }
}
#endif

#if ${REDUCE}
// One invocation per output: the sum of its S partials (part[s, m, n]), through the epilogue.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let M = params.M;
  let N = params.N;
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= M * N) { return; }
  var acc = 0.0;
  for (var s = 0u; s < S; s++) {
    acc += part[s * M * N + i];
  }
  store(i / N, i % N, acc);
}
#endif

#if ${TILE}
// One invocation per 4x4 output block (rows m0..m0+3, columns n0..n0+3), accumulated in registers.
// Rows and columns past M and N are clamped for reading and never stored. Neighbouring invocations
// take neighbouring column blocks of the same rows.
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
  let rows = min(m0 + vec4u(0u, 1u, 2u, 3u), vec4u(M - 1u));
  let kq = K / 4u * 4u;
  // acc[i][j] = out(m0 + i, n0 + j).
  var acc = mat4x4f();
  for (var k = 0u; k < kq; k += 4u) {
    acc += block(rows, n0, k, false);
  }
  if (kq < K) { acc += block(rows, n0, kq, true); }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      if (m0 + i < M && n0 + j < N) { store(m0 + i, n0 + j, acc[i][j]); }
    }
  }
}

// One quad of k of a 4x4 block: column i of the result is row m_i's [dot(x_i, W(n0 + j))]_j.
fn block(m: vec4u, n0: u32, k: u32, tail: bool) -> mat4x4f {
  let b = w4x4(n0, k, tail);
  return mat4x4f(x4(m.x, k, tail) * b, x4(m.y, k, tail) * b, x4(m.z, k, tail) * b,
                 x4(m.w, k, tail) * b);
}
#endif

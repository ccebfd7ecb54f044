// attention: causal multi-head attention over the KV cache, grouped-query heads.
//   For query row t (absolute position p = pos + t) and head h, with kv head g = h / (NH / NKV):
//     s_j = scale * q[t, h] . kCache[j, g]          for j = lo .. p (causal: the cache up to p)
//     s_j = softcap * tanh(s_j / softcap)           when softcap > 0 (Gemma 2's logit soft-capping)
//     out[t, h] = sum_j softmax_j(s) vCache[j, g]
//   lo = 0, or with a sliding window of W keys (window = W > 0) lo = max(0, p + 1 - W): the W most
//   recent keys, the query's own included (transformers: kv_idx > q_idx - W).
// Shapes: q[t, h] is q[t * qStride + h * HS + (0 .. HS - 1)] f32 (qStride = NH * HS for q alone,
// (NH + 2 NKV) * HS when q is the front of fused qkv rows); out is [T, NH * HS] f32;
// kCache, vCache are [maxCtx, NKV * HS] f32, or under F16 packed halves [maxCtx, ceil(NKV * HS / 2)]
// u32 (kv_append has written rows pos .. pos + T - 1). HS <= 256. NKV divides NH.
// Bindings: 0 params {T, NH, NKV, HS, pos, scale, qStride, chunk, chunks, softcap, window}, 1 out (under SPLIT the
// partials), 2 q, 3 kCache, 4 vCache, 5 probs (PROBS).
// Variants (any combination):
//   F16: packed half caches, read with unpack2x16float (core WGSL, no shader-f16).
//   SPLIT (flash-decoding): the keys 0 .. p are cut into chunks of `chunk`; workgroup (row, c) takes
//     keys c * chunk .. min(p + 1, (c + 1) * chunk) - 1 and writes its running max m, sum
//     l = sum_j exp(s_j - m) and unnormalized acc = sum_j exp(s_j - m) v_j to
//     partials[(row * chunks + c) * (HS + 2) + (0, 1, 2 ..)] = (m, l, acc[0 .. HS - 1]);
//     attention_merge.wgsl combines the chunks. Chunks past a row's causal end, or wholly before its
//     window, write nothing.
//   SUBGROUP (needs the `subgroups` feature): no workgroup memory and no barriers (barriers dominate
//     on SwiftShader). The workgroup must lie in one subgroup (WG <= the subgroup size; checked, a
//     wider one writes NaN): invocation lid owns head dimensions d = lid, lid + WG, ..., every
//     invocation walks the same keys, s_j is the subgroupAdd of the partial dots, and m, l are
//     updated with one exp per key (the larger of m and s_j is the new max).
//   Otherwise (online): keys are taken WG at a time; each invocation scores one key (q pre-scaled in
//     workgroup memory), a barrier, then every invocation reads the WG scores, updates m and l
//     (rescaling by exp(m_old - m_new)) and accumulates p_j v_j for its dimensions d = lid, lid + WG...
//     Two barriers per WG keys; workgroup memory 256 + WG floats.
//   PROBS (online or SUBGROUP, no SPLIT, pos = 0; for inspect): also writes the probabilities
//     probs[(h * T + t) * T + j] = softmax_j(s) for j <= t (inside the window), 0 for the other
//     j < T: each workgroup scores its keys once more against the final max and sum.
// Tuning: WG invocations per workgroup (default 64; online: at least 32 so HS <= 8 * WG);
//   SG_DIMS (SUBGROUP) = ceil(HS / WG) head dimensions per invocation, <= 64, a constant so the
//   per-invocation arrays can stay in registers; chunk (SPLIT) keys per workgroup, a uniform.
// Grid: T * NH workgroups (SPLIT: T * NH * chunks, chunks = ceil((pos + T) / chunk), the chunk index
//   fastest), folded into x and y.
// Numerics: tanh(y) = sign(y) (1 - 2 / (exp(2 |y|) + 1)), absolute error a few 1e-8 (times softcap).
// CPU twin: src/cpu/attention.ts (SPLIT with src/cpu/attention_merge.ts gives the same out).
#if ${SUBGROUP}
enable subgroups;
#endif

struct Params { T: u32, NH: u32, NKV: u32, HS: u32, pos: u32, scale: f32, qStride: u32, chunk: u32, chunks: u32,
                 softcap: f32, window: u32 }
override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
#if ${F16}
@group(0) @binding(3) var<storage, read> kCache: array<u32>;
@group(0) @binding(4) var<storage, read> vCache: array<u32>;
#else
@group(0) @binding(3) var<storage, read> kCache: array<f32>;
@group(0) @binding(4) var<storage, read> vCache: array<f32>;
#endif
#if ${PROBS}
@group(0) @binding(5) var<storage, read_write> probs: array<f32>;
#endif

const MAX_HS: u32 = 256u;
const LOWEST: f32 = -3.4028234663852886e38;

// Where cache row j starts (in floats, or under F16 in u32 words).
fn rowStart(j: u32) -> u32 {
#if ${F16}
  return j * ((params.NKV * params.HS + 1u) / 2u);
#else
  return j * params.NKV * params.HS;
#endif
}

// Element i of the cache row that starts at `row` (see rowStart).
fn kAt(row: u32, i: u32) -> f32 {
#if ${F16}
  return unpack2x16float(kCache[row + i / 2u])[i & 1u];
#else
  return kCache[row + i];
#endif
}

fn vAt(row: u32, i: u32) -> f32 {
#if ${F16}
  return unpack2x16float(vCache[row + i / 2u])[i & 1u];
#else
  return vCache[row + i];
#endif
}

// A score after soft-capping (softcap > 0), else as it is.
fn capped(s: f32) -> f32 {
  let c = params.softcap;
  if (c <= 0.0) { return s; }
  let y = min(abs(s / c), 40.0);
  return sign(s) * c * (1.0 - 2.0 / (exp(2.0 * y) + 1.0));
}

// The work of workgroup g: a (row, head) pair row = t * NH + h, its keys start .. end - 1, and
// whether it has any (a SPLIT chunk past the row's causal end has none).
struct Work { row: u32, start: u32, end: u32, valid: bool }

fn workOf(g: u32) -> Work {
#if ${SPLIT}
  let row = g / params.chunks;
  let start = (g % params.chunks) * params.chunk;
#else
  let row = g;
  let start = 0u;
#endif
  if (row >= params.T * params.NH) { return Work(row, 0u, 0u, false); }
  let L = params.pos + row / params.NH + 1u;
  let W = params.window;
  let lo = select(0u, L - W, W > 0u && L > W);
#if ${SPLIT}
  let end = min(L, start + params.chunk);
  let first = max(start, lo);
  return Work(row, first, end, first < end);
#else
  return Work(row, lo, L, true);
#endif
}

// Head dimension d of workgroup g's result: out[row, d] = acc / l, or (SPLIT) the unnormalized
// partial with m and l in front.
fn emit(g: u32, row: u32, d: u32, acc: f32, m: f32, l: f32) {
#if ${SPLIT}
  let slot = g * (params.HS + 2u);
  if (d == 0u) {
    out[slot] = m;
    out[slot + 1u] = l;
  }
  out[slot + 2u + d] = acc;
#else
  out[row * params.HS + d] = acc / l;
#endif
}

#if ${SUBGROUP}
override SG_DIMS: u32 = 64u;
const MAX_SG_DIMS: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_size) sgSize: u32) {
  let g = wid.x + wid.y * nwg.x;
  let w = workOf(g);
  if (!w.valid) { return; }
  let HS = params.HS;
  let h = w.row % params.NH;
  let kvOffset = (h / (params.NH / params.NKV)) * HS;
  let qRow = (w.row / params.NH) * params.qStride + h * HS;

  var qv: array<f32, MAX_SG_DIMS>;
  var acc: array<f32, MAX_SG_DIMS>;
  for (var a = 0u; a < SG_DIMS; a++) {
    let d = lid + a * WG;
    if (d < HS) { qv[a] = q[qRow + d] * params.scale; }
  }
  var m = LOWEST;
  var l = 0.0;
  for (var j = w.start; j < w.end; j++) {
    let row = rowStart(j);
    var part = 0.0;
    for (var a = 0u; a < SG_DIMS; a++) {
      let d = lid + a * WG;
      if (d < HS) { part += qv[a] * kAt(row, kvOffset + d); }
    }
    let s = capped(subgroupAdd(part));
    // One exp per key: either the new score is below the max, or it becomes the max.
    var p = 1.0;
    if (s <= m) {
      p = exp(s - m);
    } else {
      let corr = exp(m - s);
      l *= corr;
      for (var a = 0u; a < SG_DIMS; a++) { acc[a] *= corr; }
      m = s;
    }
    l += p;
    for (var a = 0u; a < SG_DIMS; a++) {
      let d = lid + a * WG;
      if (d < HS) { acc[a] += p * vAt(row, kvOffset + d); }
    }
  }
#if ${PROBS}
  // The row's probabilities: each key scored once more against the final max m and sum l (the
  // key range is uniform over the subgroup, so subgroupAdd stays in uniform control flow).
  let probsRow = ((w.row % params.NH) * params.T + w.row / params.NH) * params.T;
  for (var j = 0u; j < params.T; j++) {
    var p = 0.0;
    if (j >= w.start && j < w.end) {
      let row = rowStart(j);
      var part = 0.0;
      for (var a = 0u; a < SG_DIMS; a++) {
        let d = lid + a * WG;
        if (d < HS) { part += qv[a] * kAt(row, kvOffset + d); }
      }
      p = exp(capped(subgroupAdd(part)) - m) / l;
    }
    if (lid == 0u) { probs[probsRow + j] = p; }
  }
#endif
  // A workgroup spread over several subgroups summed only part of each dot: poison the result
  // (through a var: a NaN constant does not compile).
  if (sgSize < WG) {
    var nanBits = 0x7fc00000u;
    m = bitcast<f32>(nanBits);
    l = m;
  }
  for (var a = 0u; a < SG_DIMS; a++) {
    let d = lid + a * WG;
    if (d < HS) { emit(g, w.row, d, acc[a], m, l); }
  }
}
#else
// Head dimensions per invocation: MAX_HS / ACC <= WG.
const ACC: u32 = 8u;

var<workgroup> qs: array<f32, MAX_HS>;
var<workgroup> scores: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * nwg.x;
  let w = workOf(g);
  if (!w.valid) { return; }
  let HS = params.HS;
  let h = w.row % params.NH;
  let kvOffset = (h / (params.NH / params.NKV)) * HS;
  let qRow = (w.row / params.NH) * params.qStride + h * HS;
  let nAcc = (HS + WG - 1u) / WG;

  for (var d = lid; d < HS; d += WG) { qs[d] = q[qRow + d] * params.scale; }
  workgroupBarrier();

  var m = LOWEST;
  var l = 0.0;
  var acc: array<f32, ACC>;
  for (var base = w.start; base < w.end; base += WG) {
    let n = min(WG, w.end - base);
    var s = LOWEST;
    if (lid < n) {
      let row = rowStart(base + lid);
      var dot = 0.0;
      for (var d = 0u; d < HS; d++) { dot += qs[d] * kAt(row, kvOffset + d); }
      s = capped(dot);
    }
    scores[lid] = s;
    workgroupBarrier();

    var chunkMax = LOWEST;
    for (var j = 0u; j < n; j++) { chunkMax = max(chunkMax, scores[j]); }
    let mNew = max(m, chunkMax);
    let corr = exp(m - mNew);
    l *= corr;
    for (var a = 0u; a < nAcc; a++) { acc[a] *= corr; }
    for (var j = 0u; j < n; j++) {
      let p = exp(scores[j] - mNew);
      l += p;
      let row = rowStart(base + j);
      for (var a = 0u; a < nAcc; a++) {
        let d = lid + a * WG;
        if (d < HS) { acc[a] += p * vAt(row, kvOffset + d); }
      }
    }
    m = mNew;
    // The next chunk overwrites the scores.
    workgroupBarrier();
  }

#if ${PROBS}
  // The row's probabilities: each key scored once more against the final max m and sum l.
  let probsRow = ((w.row % params.NH) * params.T + w.row / params.NH) * params.T;
  for (var j = lid; j < params.T; j += WG) {
    var p = 0.0;
    if (j >= w.start && j < w.end) {
      let row = rowStart(j);
      var dot = 0.0;
      for (var d = 0u; d < HS; d++) { dot += qs[d] * kAt(row, kvOffset + d); }
      p = exp(capped(dot) - m) / l;
    }
    probs[probsRow + j] = p;
  }
#endif
  for (var a = 0u; a < nAcc; a++) {
    let d = lid + a * WG;
    if (d < HS) { emit(g, w.row, d, acc[a], m, l); }
  }
}
#endif

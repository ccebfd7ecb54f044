// attention: causal multi-head attention over the KV cache, grouped-query heads.
//   For query row t (absolute position p = pos + t) and head h, with kv head g = h / (NH / NKV):
//     s_j = scale * q[t, h] . kCache[j, g]          for j = 0 .. p (causal: the cache up to p)
//     out[t, h] = sum_j softmax_j(s) vCache[j, g]
// Shapes: q, out are [T, NH * HS] f32; kCache, vCache are [maxCtx, NKV * HS] f32 (kv_append has
// written rows pos .. pos + T - 1). HS <= 256. NKV divides NH.
// Bindings: 0 params {T, NH, NKV, HS, pos, scale}, 1 out, 2 q, 3 kCache, 4 vCache.
// Variants: none; the same kernel serves decode (T = 1) and prefill (a block of T rows).
// Tuning: WG threads per (row, head) (default 64, at least 32 so HS <= 8 * WG).
// Grid: T * NH workgroups, folded into x and y.
// Method (online softmax, so any context length runs without storing all scores): the keys are
// taken WG at a time. Each thread scores one key of the chunk (dot over HS with q, pre-scaled
// in workgroup memory); after a barrier every thread reads the chunk's scores, updates the
// running max m and sum l (rescaling by exp(m_old - m_new)), and accumulates p_j * v_j for its
// own head dimensions d = lid, lid + WG, ... Workgroup memory: 256 + WG floats (1.25 KiB).
// CPU twin: src/cpu/attention.ts

struct Params { T: u32, NH: u32, NKV: u32, HS: u32, pos: u32, scale: f32 }
override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> kCache: array<f32>;
@group(0) @binding(4) var<storage, read> vCache: array<f32>;

const MAX_HS: u32 = 256u;
// Head dimensions per thread: MAX_HS / ACC <= WG.
const ACC: u32 = 8u;
const LOWEST: f32 = -3.4028234663852886e38;

var<workgroup> qs: array<f32, MAX_HS>;
var<workgroup> scores: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.T * params.NH) { return; }
  let HS = params.HS;
  let t = row / params.NH;
  let h = row % params.NH;
  let kvOffset = (h / (params.NH / params.NKV)) * HS;
  let D = params.NKV * HS;
  let L = params.pos + t + 1u;
  let nAcc = (HS + WG - 1u) / WG;

  // q[t, h] is row * HS in [T, NH * HS].
  for (var d = lid; d < HS; d += WG) { qs[d] = q[row * HS + d] * params.scale; }
  workgroupBarrier();

  var m = LOWEST;
  var l = 0.0;
  var acc: array<f32, ACC>;
  for (var base = 0u; base < L; base += WG) {
    let n = min(WG, L - base);
    var s = LOWEST;
    if (lid < n) {
      let kRow = (base + lid) * D + kvOffset;
      var dot = 0.0;
      for (var d = 0u; d < HS; d++) { dot += qs[d] * kCache[kRow + d]; }
      s = dot;
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
      let vRow = (base + j) * D + kvOffset;
      for (var a = 0u; a < nAcc; a++) {
        let d = lid + a * WG;
        if (d < HS) { acc[a] += p * vCache[vRow + d]; }
      }
    }
    m = mNew;
    // The next chunk overwrites the scores.
    workgroupBarrier();
  }

  let invL = 1.0 / l;
  for (var a = 0u; a < nAcc; a++) {
    let d = lid + a * WG;
    if (d < HS) { out[row * HS + d] = acc[a] * invL; }
  }
}

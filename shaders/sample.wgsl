// sample: the next token id from one logits row, by the rule of the CPU sampler, so a decode step
// reads back a few bytes instead of the row.
//   y_i = logits[i] for i < n (NaN as -inf, -0 as +0); for ids whose bit is set in `seen`,
//         y_i / penalty when y_i > 0, y_i * penalty otherwise (repetition penalty, Hugging Face).
//   Rank order: y descending, then id ascending (the CPU's stable sort).
//   temperature 0, or max y = +-inf: out[0] = the first-ranked id (greedy).
//   Otherwise z_i = (y_i - max y) / temperature, e_i = exp(z_i), and the kept ids are
//     the first topK ranked (topK > 0), and of those the shortest ranked prefix whose e-mass
//     reaches topP times theirs, and of those the ids with z_i >= log(minP);
//   out[0] = the first kept id i, in increasing id order, with r * sum_kept e < sum_{kept j <= i} e_j
//     (the last kept id with e > 0 when rounding leaves the sum under that).
//   mark = 1: the chosen id's bit is set in `seen`, so the next step penalizes it.
//   TOP_N: out[1 .. 1+topN) = ids of the topN largest raw logits (largest first, lower id first on
//     ties), top[1 .. 1+topN) = those logits (NaN as -inf); past n: id 0xffffffff, -inf.
//     top[0] = log sum_{i<n} exp(logits_i / T), T = temperature (1 when 0): with the top logits
//     it gives their exact probabilities, softmax(logits / T).
// Shapes: logits [V] f32 (one row, bound at its offset), n = min(validVocab, V) <= 2^24 - 1;
//   seen [ceil(V/32)] u32, bit i%32 of word i/32 for id i; out [1 + topN] u32; top [1 + topN] f32.
// Bindings: 0 params, 1 out, 2 top (TOP_N only), 3 seen, 4 logits, 5 scratch (Scratch, 10.25 KiB,
//   the wrapper's own: histograms and candidate ids; no content carries over between dispatches).
// Variants: TOP_N (the top-N list and the log-sum-exp).
// Method: one workgroup, no sort. Pass 1 over the row: max y and the first id holding it (and the
//   first top-k histogram level, and the log-sum-exp). Thresholds come from radix select on the
//   56-bit rank key (sortable bits of y, then 2^24-1-id): per level one pass builds a 256-bin
//   histogram of the next 8 bits (counts for top-k and top-N; counts and 64-bit fixed-point
//   e-masses for top-p, so no result depends on the order of the atomics), and invocation 0 walks
//   the bins from the top. Once the ids at or above the current bin fit in CAP they are copied to
//   the scratch buffer and later levels read only them. The draw: when that list holds every kept
//   id and at most WG are kept, sort them by id (each counts the smaller ones) and search the
//   running sum once; else split [0, n) into WG chunks, find the chunk holding r * (kept mass) from
//   the chunk sums, and repeat inside it down to one id. Every sum runs in a fixed order, so the
//   same inputs give the same id.
//   Passes over the whole row (V = 50257, normal logits of scale 3): greedy 1, temperature only 2,
//   top-k 40 + top-p 0.9 2, top-p 0.9 alone 3 (other levels read the list); top-N adds 2.
//   Barriers: 2 per select level, 3 per draw level, a few for the clearing and the reductions.
// Compile time: SwiftShader (no GPU) compiled the first form of this kernel in seconds. Two causes,
//   and the rules that follow from them: (1) Dawn zero-fills workgroup memory through
//   VK_KHR_zero_initialize_workgroup_memory, which SwiftShader unrolls into one store per word
//   (0.3-0.6 ms of compile per word): the histograms and the candidates live in `scratch`, and
//   only the per-invocation partials and the state stay in workgroup memory. (2) Every call is
//   inlined, and compile time grows faster than the inlined size: one radix select serves all
//   three (a loop over the phases), one draw serves both ways of drawing, the same loop visits the
//   list or the row. But SwiftShader runs both sides of every branch under a lane mask, so per-id
//   work that one case does not need sits in a loop of its own, left empty (one idle iteration)
//   when not needed: count selects compute no masses, the row draw reads no list.
// Tuning: WG invocations (a multiple of 16; reductions take groups of 16; the wrapper uses 256,
//   and 64 on software adapters, where barriers cost the most), CAP candidates. Workgroup memory:
//   about 100 bytes + 16 bytes per invocation.
// CPU twin: src/cpu/sample.ts

struct Params {
  n: u32,
  temperature: f32,
  topK: u32,       // 0 = off (the wrapper sends 0 when topK >= n)
  topP: f32,       // 1 = off
  logMinP: f32,    // log(minP); about -3.4e38 when off
  penalty: f32,    // 1 = off
  r: f32,          // uniform in [0, 1), drawn on the CPU
  mark: u32,
  topN: u32,       // TOP_N: entries of the list (<= 64); 0 without TOP_N
}

override WG: u32 = 256;
const CAP: u32 = 1024u;
const GROUP: u32 = 16u;
const NONE: u32 = 0xffffffffu;
const MASS_HI: u32 = 256u;
const MASS_LO: u32 = 512u;
const KEY_NEG_INF: u32 = 0x007fffffu;   // keyOf(-inf), the smallest key
const KEY_POS_INF: u32 = 0xff800000u;   // keyOf(+inf)
const BITS_NEG_INF: u32 = 0xff800000u;
const BITS_POS_INF: u32 = 0x7f800000u;
const ID_MAX: u32 = 0xffffffu;
const FLT_MAX: f32 = 0x1.fffffep+127f;
// What a radix select ranks: penalized logits of all ids (top-k), of the top-k kept (top-p), raw
// logits of all ids (top-N).
const SEL_TOPK: u32 = 0u;
const SEL_TOPP: u32 = 1u;
const SEL_TOPN: u32 = 2u;
// Candidate list state.
const LIST_NONE: u32 = 0u;
const LIST_BUILD: u32 = 1u;   // the next pass copies the candidates
const LIST_READY: u32 = 2u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
#if ${TOP_N}
@group(0) @binding(2) var<storage, read_write> top: array<f32>;
#endif
@group(0) @binding(3) var<storage, read_write> seen: array<u32>;
@group(0) @binding(4) var<storage, read> logits: array<f32>;

// The large arrays, in storage rather than workgroup memory (see Compile time above).
struct Scratch {
  // Two histogram sets, used by alternate levels: one is cleared while the other fills. Bin b of
  // set h: the count at bins[h][b], the 64-bit fixed-point mass at bins[h][MASS_HI + b] (high
  // word) and bins[h][MASS_LO + b] (low word).
  bins: array<array<atomic<u32>, 768>, 2>,
  cands: array<u32, CAP>,
  topIds: array<u32, 64>,
}
@group(0) @binding(5) var<storage, read_write> scratch: Scratch;

var<workgroup> listLen: atomic<u32>;
var<workgroup> partKey: array<u32, WG>;
var<workgroup> partId: array<u32, WG>;
var<workgroup> partA: array<f32, WG>;
var<workgroup> partB: array<f32, WG>;
var<workgroup> topLen: atomic<u32>;
var<workgroup> rawPosInf: atomic<u32>;  // TOP_N: some logit is +inf
// State written by invocation 0 between passes.
var<workgroup> ctl: u32;          // bit 0: select done; bits 1-2: list state
var<workgroup> prefix: vec2u;     // select: the chosen digits so far (lower digits 0)
var<workgroup> need: u32;         // count select: rank of the boundary inside the current bin
var<workgroup> above: u32;        // ids of the set ranked above the current bin
var<workgroup> cum: vec2u;        // mass select: fixed-point mass above the current bin
var<workgroup> goal: vec2u;       // mass select: fixed-point mass to reach
var<workgroup> keep: vec2u;       // kept ids: rank key >= keep
var<workgroup> maxKey: u32;
var<workgroup> argmaxId: u32;
var<workgroup> lse: f32;
var<workgroup> drawRange: vec2u;  // ids [x, y) holding the draw
var<workgroup> drawRest: f32;     // mass still to pass inside drawRange (-2: not yet drawn; -1: take the last)
var<workgroup> keptLen: atomic<u32>;
var<workgroup> keptCount: u32;
var<workgroup> chosen: u32;

var<private> passes: u32 = 0u;
var<private> maxY: f32;
var<private> invT: f32;

// +-inf from its bits at run time (an infinite constant does not compile).
fn infinity(bits: u32) -> f32 {
  var b = bits;
  return bitcast<f32>(b);
}

fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

fn isFinite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// Order-preserving u32 of a float (larger value, larger key); NaN as -inf, -0 as +0.
fn keyOf(v: f32) -> u32 {
  var b = select(bitcast<u32>(v), BITS_NEG_INF, isNan(v));
  b = select(b, 0u, (b & 0x7fffffffu) == 0u);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn valueOf(key: u32) -> f32 {
  return bitcast<f32>(select(~key, key & 0x7fffffffu, (key & 0x80000000u) != 0u));
}

fn penalizedKey(i: u32, penalize: bool) -> u32 {
  var y = logits[i];
  if (penalize && params.penalty != 1.0 && isFinite(y) && ((seen[i >> 5u] >> (i & 31u)) & 1u) != 0u) {
    y = select(y * params.penalty, y / params.penalty, y > 0.0);
  }
  return keyOf(y);
}

// Rank key: larger ranks first; the low word prefers lower ids.
fn rankKey(key: u32, i: u32) -> vec2u {
  return vec2u(key, ID_MAX - i);
}

fn geq(a: vec2u, b: vec2u) -> bool {
  return a.x > b.x || (a.x == b.x && a.y >= b.y);
}

// e = exp((y - max y) / T) of a penalized key; 0 for -inf and below the f32 range.
fn massOf(key: u32) -> f32 {
  let z = (valueOf(key) - maxY) * invT;
  return select(exp(z), 0.0, key == KEY_NEG_INF || z < -87.0);
}

// e of id i when it is kept for the draw, else 0.
fn keptMass(i: u32) -> f32 {
  let key = penalizedKey(i, true);
  let z = (valueOf(key) - maxY) * invT;
  let kept = geq(rankKey(key, i), keep) && key != KEY_NEG_INF && z >= params.logMinP && z >= -87.0;
  return select(0.0, exp(z), kept);
}

// 64-bit fixed point (hi, lo) in units of 2^-40: e in [0, 1] takes at most 2^40, n ids < 2^24.
fn add64(a: vec2u, b: vec2u) -> vec2u {
  let lo = a.y + b.y;
  return vec2u(a.x + b.x + select(0u, 1u, lo < a.y), lo);
}

fn geq64(a: vec2u, b: vec2u) -> bool {
  return a.x > b.x || (a.x == b.x && a.y >= b.y);
}

fn toFixed(e: f32) -> vec2u {
  let s = e * 256.0;
  let hi = floor(s);
  return vec2u(u32(hi), u32((s - hi) * 4294967296.0));
}

fn fromFixed(a: vec2u) -> f32 {
  return f32(a.x) * (1.0 / 256.0) + f32(a.y) * (1.0 / 1099511627776.0);
}

// The fixed-point mass of bin b of histogram set hs.
fn massAt(hs: u32, b: u32) -> vec2u {
  return vec2u(atomicLoad(&scratch.bins[hs][MASS_HI + b]), atomicLoad(&scratch.bins[hs][MASS_LO + b]));
}

fn addMass(hs: u32, bin: u32, e: f32) {
  let m = toFixed(e);
  var hi = m.x;
  if (m.y != 0u) {
    let old = atomicAdd(&scratch.bins[hs][MASS_LO + bin], m.y);
    if (old + m.y < old) { hi += 1u; }
  }
  if (hi != 0u) { atomicAdd(&scratch.bins[hs][MASS_HI + bin], hi); }
}

// The 8-bit digit of level d (0..6) of a rank key, most significant first.
fn digitOf(c: vec2u, d: u32) -> u32 {
  return select((c.y >> (16u - 8u * (d - 4u))) & 255u, (c.x >> (24u - 8u * d)) & 255u, d < 4u);
}

// The digits above level d of a rank key, lower digits 0.
fn digitsAbove(c: vec2u, d: u32) -> vec2u {
  // Shifts by 32 or more are taken mod 32 in WGSL; select keeps the side that shifts by less.
  let high = vec2u(c.x & ~(0xffffffffu >> (8u * d)), 0u);
  let low = vec2u(c.x, c.y & ~(ID_MAX >> (8u * (d - 4u))) & ID_MAX);
  return select(low, high, d < 4u);
}

// One id of a select pass at level d: counted (and its mass added) when its digits above d are the
// prefix; copied to the candidate list when `copy` and it ranks at or above the prefix.
fn visit(i: u32, d: u32, mode: u32, copy: bool, hs: u32, withMass: bool) {
  let key = penalizedKey(i, mode != SEL_TOPN);
  let c = rankKey(key, i);
  // A mass select ranks only the ids kept so far.
  let inSet = !withMass || geq(c, keep);
  let a = digitsAbove(c, d);
  if (inSet && copy && geq(a, prefix)) {
    let j = atomicAdd(&listLen, 1u);
    if (j < CAP) { scratch.cands[j] = i; }
  }
  if (inSet && all(a == prefix)) {
    let b = digitOf(c, d);
    atomicAdd(&scratch.bins[hs][b], 1u);
    if (withMass) { addMass(hs, b, massOf(key)); }
  }
}

// Invocation 0, after the histogram of level d: picks the bin that holds the boundary, updates the
// state and says whether the select is done and whether to copy candidates on the next pass.
fn decide(d: u32, mode: u32, hs: u32) {
  var listState = ctl >> 1u;
  if (listState == LIST_BUILD) { listState = LIST_READY; }
  let byMass = mode == SEL_TOPP;
  if (byMass && d == 0u) {
    var total = vec2u(0u);
    for (var b = 0u; b < 256u; b++) { total = add64(total, massAt(hs, b)); }
    let t = params.topP * fromFixed(total) * 256.0;
    let hi = floor(t);
    goal = vec2u(u32(hi), u32((t - hi) * 4294967296.0));
  }
  // From the top bin down: the first where the count reaches `need` (count select) or the mass
  // reaches `goal` (mass select, which skips empty bins).
  var bin = NONE;
  var passed = 0u;
  var k = need;
  var c = cum;
  for (var b = 255i; b >= 0i; b--) {
    let h = atomicLoad(&scratch.bins[hs][b]);
    var next = c;
    var reached = k <= h;
    if (byMass) {
      if (h == 0u) { continue; }
      next = add64(c, massAt(hs, u32(b)));
      reached = geq64(next, goal);
    }
    if (reached) {
      bin = u32(b);
      break;
    }
    c = next;
    k -= h;
    passed += h;
  }
  var done = true;
  if (bin != NONE) {
    let h = atomicLoad(&scratch.bins[hs][bin]);
    need = k;
    cum = c;
    done = select(k == h, h == 1u, byMass);
    above += passed;
    if (d < 4u) {
      prefix.x |= bin << (24u - 8u * d);
    } else {
      prefix.y |= bin << (16u - 8u * (d - 4u));
    }
    if (!done && listState == LIST_NONE && above + h <= CAP) {
      listState = LIST_BUILD;
      atomicStore(&listLen, 0u);
    }
  } else if (byMass) {
    // Rounding kept the mass under the target: top-p keeps everything.
    prefix = vec2u(0u);
  }
  ctl = select(0u, 1u, done || d == 6u) | (listState << 1u);
}

// Radix select: leaves in `prefix` a rank key such that the selected ids of mode's set are those
// whose rank key is >= prefix: the first `count` ranked (top-k, top-N), or the shortest ranked
// prefix whose mass reaches topP times the set's (top-p). `size` is the size of the set; `reuse`
// keeps a candidate list built earlier for a superset; `prefilled`: pass 1 built level 0.
fn radixSelect(lid: u32, mode: u32, count: u32, size: u32, reuse: bool, prefilled: bool) {
  if (lid == 0u) {
    prefix = vec2u(0u);
    need = count;
    above = 0u;
    cum = vec2u(0u);
    var listState = ctl >> 1u;
    if (!(reuse && listState == LIST_READY)) {
      listState = select(LIST_NONE, LIST_BUILD, size <= CAP);
      atomicStore(&listLen, 0u);
    }
    ctl = listState << 1u;
  }
  var state = workgroupUniformLoad(&ctl);
  for (var d = 0u; d < 7u; d++) {
    let hs = passes & 1u;
    passes++;
    // Clear the other histogram set for the next level (its last reader passed a barrier since).
    for (var b = lid; b < 768u; b += WG) { atomicStore(&scratch.bins[1u - hs][b], 0u); }
    // The ids of the list when it is ready, else all; none when pass 1 built this level.
    let listState = state >> 1u;
    let fromList = listState == LIST_READY;
    var len = select(params.n, min(atomicLoad(&listLen), CAP), fromList);
    if (prefilled && d == 0u) { len = 0u; }
    // Two loops, one of them empty: a count select computes no masses (see Compile time above).
    let byMass = mode == SEL_TOPP;
    let copy = listState == LIST_BUILD;
    for (var j = lid; j < select(len, 0u, byMass); j += WG) {
      var i = j;
      if (fromList) { i = scratch.cands[j]; }
      visit(i, d, mode, copy, hs, false);
    }
    for (var j = lid; j < select(0u, len, byMass); j += WG) {
      var i = j;
      if (fromList) { i = scratch.cands[j]; }
      visit(i, d, mode, copy, hs, true);
    }
    // The histogram and the candidates are in storage; listLen is ordered by the uniform load.
    storageBarrier();
    if (lid == 0u) { decide(d, mode, hs); }
    state = workgroupUniformLoad(&ctl);
    if ((state & 1u) != 0u) { break; }
  }
}

// Reduces each invocation's (key, id, m, s) into partKey/partId/partA/partB[0] in two levels of
// GROUP: larger key, then lower id; (m, s) are running (max, sum of exp((v - m) * k)) pairs.
fn combine(dst: u32, src: u32, k: f32) {
  let key = partKey[src];
  let id = partId[src];
  let dstKey = partKey[dst];
  if (key > dstKey || (key == dstKey && id < partId[dst])) {
    partKey[dst] = key;
    partId[dst] = id;
  }
  let mDst = partA[dst];
  let mSrc = partA[src];
  let sDst = partB[dst];
  let sSrc = partB[src];
  let m = max(mDst, mSrc);
  var s = 0.0;
  if (sDst > 0.0) { s += sDst * exp((mDst - m) * k); }
  if (sSrc > 0.0) { s += sSrc * exp((mSrc - m) * k); }
  partA[dst] = m;
  partB[dst] = s;
}

fn addTop(i: u32) {
  let j = atomicAdd(&topLen, 1u);
  if (j < 64u) { scratch.topIds[j] = i; }
}

struct Crossing {
  index: u32,
  rest: f32,
}

// Invocation 0, over the WG values in partA and their GROUP sums in partB: the first positive entry
// where the running sum passes `rest`, and what is left of `rest` inside it; rest < 0 (or rounding
// that leaves the sum under rest) takes the last positive entry and leaves rest < 0.
fn findCrossing(rest: f32) -> Crossing {
  var pick = NONE;
  var lastPos = 0u;
  var run = 0.0;
  for (var g = 0u; g < WG / GROUP; g++) {
    let v = partB[g];
    if (v <= 0.0) { continue; }
    lastPos = g;
    if (rest >= 0.0 && rest < run + v) {
      pick = g;
      break;
    }
    run += v;
  }
  var left = rest - run;
  if (pick == NONE) {
    pick = lastPos;
    left = -1.0;
  }
  let group = pick;
  pick = NONE;
  run = 0.0;
  for (var j = group * GROUP; j < group * GROUP + GROUP; j++) {
    let v = partA[j];
    if (v <= 0.0) { continue; }
    lastPos = j;
    if (left >= 0.0 && left < run + v) {
      pick = j;
      break;
    }
    run += v;
  }
  var c = Crossing(pick, left - run);
  if (pick == NONE) { c = Crossing(lastPos, -1.0); }
  return c;
}

// partB[g] = sum of partA[g*GROUP .. (g+1)*GROUP), in order; a barrier before and after.
fn groupSums(lid: u32) {
  workgroupBarrier();
  if (lid < WG / GROUP) {
    var g = 0.0;
    for (var j = 0u; j < GROUP; j++) { g += partA[lid * GROUP + j]; }
    partB[lid] = g;
  }
  workgroupBarrier();
}

fn groupTotal() -> f32 {
  var total = 0.0;
  for (var g = 0u; g < WG / GROUP; g++) { total += partB[g]; }
  return total;
}

// The draw. From the candidate list, when it holds every kept id (`fromList`) and at most WG of
// them are kept: the kept ids sorted by id (each finds its place by counting), then one crossing
// search. Else over [0, n): WG chunk sums of the kept mass, the chunk where the running mass passes
// r * total, then the same inside that chunk, down to one id. One loop serves both, so that the
// sums and the search are compiled once.
fn draw(lid: u32, listReady: bool) {
  if (lid == 0u) {
    drawRange = vec2u(0u, params.n);
    drawRest = -2.0;
  }
  var fromList = listReady;
  loop {
    let range = workgroupUniformLoad(&drawRange);
    let len = range.y - range.x;
    if (!fromList && len <= 1u) { break; }
    let chunk = (len + WG - 1u) / WG;
    // Row: this invocation's chunk of the range; list: ids cands[lid], cands[lid + WG], ...
    let start = range.x + lid * chunk;
    let end = min(start + chunk, range.y);
    // Two loops, one of them empty: the row draw reads no list.
    var s = 0.0;
    for (var i = start; i < select(end, start, fromList); i++) { s += keptMass(i); }
    for (var j = lid; j < select(0u, min(atomicLoad(&listLen), CAP), fromList); j += WG) {
      let i = scratch.cands[j];
      let e = keptMass(i);
      if (e > 0.0) {
        let k = atomicAdd(&keptLen, 1u);
        if (k < WG) {
          partKey[k] = i;
          partB[k] = e;
        }
      }
    }
    if (fromList) {
      workgroupBarrier();
      if (lid == 0u) { keptCount = atomicLoad(&keptLen); }
      let count = workgroupUniformLoad(&keptCount);
      if (count > WG) {
        // Too many kept for one level: draw from the row.
        fromList = false;
        continue;
      }
      if (lid < count) {
        let id = partKey[lid];
        var rank = 0u;
        for (var q = 0u; q < count; q++) { rank += select(0u, 1u, partKey[q] < id); }
        partId[rank] = id;
        partA[rank] = partB[lid];
      } else {
        partA[lid] = 0.0;
      }
    } else {
      partA[lid] = s;
    }
    groupSums(lid);
    if (lid == 0u) {
      var rest = drawRest;
      if (rest == -2.0) { rest = params.r * groupTotal(); }
      let c = findCrossing(rest);
      drawRest = c.rest;
      if (fromList) {
        drawRange = vec2u(partId[c.index], 0u);
      } else {
        let lo = range.x + c.index * chunk;
        drawRange = vec2u(lo, min(lo + chunk, range.y));
      }
    }
    if (fromList) { break; }
  }
  if (lid == 0u) { chosen = drawRange.x; }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let n = params.n;
  let T = params.temperature;
  let lseK = select(1.0, 1.0 / T, T > 0.0);
  // Workgroup memory starts zeroed, so the counters need no clearing; the histograms, in scratch, do.
  for (var b = lid; b < 2u * 768u; b += WG) { atomicStore(&scratch.bins[b / 768u][b % 768u], 0u); }
  storageBarrier();
  let prefillK = params.topK > 0u && T > 0.0;

  // Pass 1: the first-ranked id and its key; with top-k, the first level of its histogram (and the
  // candidate list of all ids when they fit); with TOP_N, the running log-sum-exp of raw logits.
  var bestKey = 0u;
  var bestId = NONE;
  var m = -FLT_MAX;
  var s = 0.0;
  for (var i = lid; i < n; i += WG) {
    let key = penalizedKey(i, true);
    if (key > bestKey) {
      bestKey = key;
      bestId = i;
    }
    if (prefillK) {
      atomicAdd(&scratch.bins[0][key >> 24u], 1u);
      if (n <= CAP) { scratch.cands[i] = i; }
    }
#if ${TOP_N}
    let v = logits[i];
    if (isFinite(v)) {
      if (v > m) {
        s = s * exp((m - v) * lseK) + 1.0;
        m = v;
      } else {
        s += exp((v - m) * lseK);
      }
    } else if (v > 0.0) {
      atomicStore(&rawPosInf, 1u);
    }
#endif
  }
  partKey[lid] = bestKey;
  partId[lid] = bestId;
  partA[lid] = m;
  partB[lid] = s;
  if (lid == 0u && prefillK && n <= CAP) {
    atomicStore(&listLen, n);
    ctl = LIST_READY << 1u;
  }
  // Level 0: each group of GROUP into its first entry; level 1: the group heads into entry 0.
  for (var level = 0u; level < 2u; level++) {
    workgroupBarrier();
    let inner = level == 0u;
    if (lid < select(1u, WG / GROUP, inner)) {
      let dst = select(0u, lid * GROUP, inner);
      let stride = select(GROUP, 1u, inner);
      for (var j = 1u; j < select(WG / GROUP, GROUP, inner); j++) { combine(dst, dst + j * stride, lseK); }
    }
  }
  if (lid == 0u) {
    maxKey = partKey[0];
    argmaxId = partId[0];
    // Any +inf logit makes the sum +inf; none finite makes it -inf.
    if (atomicLoad(&rawPosInf) != 0u) {
      lse = infinity(BITS_POS_INF);
    } else if (partB[0] == 0.0) {
      lse = infinity(BITS_NEG_INF);
    } else {
      lse = partA[0] * lseK + log(partB[0]);
    }
  }
  let mk = workgroupUniformLoad(&maxKey);

  // Greedy; and what the CPU falls back to when every logit is -inf or one is +inf.
  let sampling = !(T == 0.0 || mk == KEY_NEG_INF || mk == KEY_POS_INF);
  if (sampling) {
    maxY = valueOf(mk);
    invT = 1.0 / T;
  } else {
    if (lid == 0u) { chosen = argmaxId; }
    // Histogram set 0 may hold the top-k counts: the top-N select starts on set 1.
    passes = 1u;
  }
  // The phases in order: top-k select, top-p select, the draw, top-N select: a loop, so that the
  // inlined radix select appears once (see Compile time above).
  let N = min(params.topN, n);
  var size = n;
  for (var phase = 0u; phase < 4u; phase++) {
    if (phase == 2u) {
      // Every kept id is in a ready candidate list: draw from it when few are kept.
      if (sampling) { draw(lid, (workgroupUniformLoad(&ctl) >> 1u) == LIST_READY); }
      continue;
    }
    var mode = SEL_TOPK;
    var count = params.topK;
    var setSize = n;
    var on = sampling && params.topK > 0u;
    if (phase == 1u) {
      mode = SEL_TOPP;
      count = 0u;
      setSize = size;
      on = sampling && params.topP < 1.0;
    } else if (phase == 3u) {
      mode = SEL_TOPN;
      count = N;
      on = N > 0u;
    }
    if (on) {
      radixSelect(lid, mode, count, setSize, mode != SEL_TOPN, mode == SEL_TOPK);
      // The kept ids: rank key >= keep, the larger of the top-k and top-p boundaries.
      if (lid == 0u && (mode == SEL_TOPK || (mode == SEL_TOPP && geq(prefix, keep)))) { keep = prefix; }
      if (mode == SEL_TOPK) { size = params.topK; }
    }
  }
#if ${TOP_N}
  if (N > 0u) {
    let fromList = (workgroupUniformLoad(&ctl) >> 1u) == LIST_READY;
    let len = select(n, min(atomicLoad(&listLen), CAP), fromList);
    for (var j = lid; j < len; j += WG) {
      var i = j;
      if (fromList) { i = scratch.cands[j]; }
      if (geq(rankKey(keyOf(logits[i]), i), prefix)) { addTop(i); }
    }
  }
  storageBarrier();
  // Rank each of the N entries among the others: its place in the list.
  for (var j = lid; j < params.topN; j += WG) {
    if (j < N) {
      let i = scratch.topIds[j];
      let c = rankKey(keyOf(logits[i]), i);
      var rank = 0u;
      for (var q = 0u; q < N; q++) {
        let o = scratch.topIds[q];
        if (o != i && geq(rankKey(keyOf(logits[o]), o), c)) { rank++; }
      }
      out[1u + rank] = i;
      top[1u + rank] = valueOf(c.x);
    } else {
      out[1u + j] = NONE;
      top[1u + j] = infinity(BITS_NEG_INF);
    }
  }
  if (lid == 0u) { top[0] = lse; }
#endif

  storageBarrier();
  workgroupBarrier();
  if (lid == 0u) {
    let id = chosen;
    out[0] = id;
    if (params.mark != 0u) { seen[id >> 5u] |= 1u << (id & 31u); }
  }
}

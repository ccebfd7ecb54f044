// attention_merge: the second half of flash-decoding attention (attention.wgsl's SPLIT variant):
// combines the per-chunk partials of each (row, head) into the normalized output.
//   For row = t * NH + h with n = ceil((pos + t + 1) / chunk) chunks, partial c = (m_c, l_c, acc_c):
//     M = max_c m_c,   out[t, h * HS + d] = sum_c exp(m_c - M) acc_c[d] / sum_c exp(m_c - M) l_c
//   over the chunks c0 .. n - 1, c0 = floor(lo / chunk) with lo the row's first key (0, or
//   pos + t + 1 - window under a sliding window of `window` keys; 0 = none).
// Shapes: partials [T * NH, chunks, HS + 2] f32 with chunks = ceil((pos + T) / chunk) (the last row's
// count, as the SPLIT dispatch's grid), each slot (m, l, acc[0 .. HS - 1]); slots of chunks c >= n
// (past the row's causal end) and c < c0 (before its window) are not read. out is [T, NH * HS] f32.
// Bindings: 0 params {T, NH, HS, pos, chunk, chunks, window}, 1 out, 2 partials.
// Variants: none.
// Tuning: WG workgroup size (default 64). One invocation per output float, each recomputing M and the
// denominator over its row's chunks (n is small; this needs no barrier).
// Grid: ceil(T * NH * HS / WG) workgroups, folded into x and y.
// CPU twin: src/cpu/attention_merge.ts

struct Params { T: u32, NH: u32, HS: u32, pos: u32, chunk: u32, chunks: u32, window: u32 }
override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> partials: array<f32>;

const LOWEST: f32 = -3.4028234663852886e38;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  let HS = params.HS;
  if (i >= params.T * params.NH * HS) { return; }
  let row = i / HS;
  let d = i % HS;
  let L = params.pos + row / params.NH + 1u;
  let n = (L + params.chunk - 1u) / params.chunk;
  let W = params.window;
  let c0 = select(0u, L - W, W > 0u && L > W) / params.chunk;
  let slot = HS + 2u;
  let base = row * params.chunks * slot;

  var M = LOWEST;
  for (var c = c0; c < n; c++) { M = max(M, partials[base + c * slot]); }
  var l = 0.0;
  var acc = 0.0;
  for (var c = c0; c < n; c++) {
    let s = base + c * slot;
    let w = exp(partials[s] - M);
    l += w * partials[s + 1u];
    acc += w * partials[s + 2u + d];
  }
  out[i] = acc / l;
}

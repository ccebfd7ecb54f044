// embedding: token (and position) embedding lookup for one chunk of the token table.
//   out[t, c] = wte[ids[t] - rowStart, c]  (+ wpe[pos + t, c] with POSITIONS)
//   for t < T, c < C, and only for tokens with rowStart <= ids[t] < rowStart + rows; the rows of
//   other tokens are left untouched (a table over the storage binding limit is split into row
//   chunks, one dispatch per chunk).
// Shapes: ids [T] u32; wte [rows, C] f32, or with F16 packed halves, each row padded to
//   ceil(C/2) u32s (element c of a row in word c/2, low half when c is even); wpe [maxPos, C] f32;
//   out [T, C] f32.
// Bindings: 0 params {T, C, pos, rowStart, rows}, 1 out, 2 ids, 3 wte, 4 wpe (POSITIONS only).
// Variants: POSITIONS (add learned position embeddings, GPT-2), F16 (wte packed f16).
// Tuning: WG workgroup size (default 256), one invocation per output element.
//   Grid: ceil(T*C / WG) workgroups, folded into x and y.
// CPU twin: src/cpu/embedding.ts

struct Params { T: u32, C: u32, pos: u32, rowStart: u32, rows: u32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
#if ${F16}
@group(0) @binding(3) var<storage, read> wte: array<u32>;
#else
@group(0) @binding(3) var<storage, read> wte: array<f32>;
#endif
#if ${POSITIONS}
@group(0) @binding(4) var<storage, read> wpe: array<f32>;
#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WG + lid;
  if (i >= params.T * params.C) { return; }
  let t = i / params.C;
  let c = i - t * params.C;
  // Unsigned wrap-around sends ids below rowStart past rows too.
  let row = ids[t] - params.rowStart;
  if (row >= params.rows) { return; }
#if ${F16}
  let pair = unpack2x16float(wte[row * ((params.C + 1u) / 2u) + c / 2u]);
  var v = select(pair.x, pair.y, (c & 1u) == 1u);
#else
  var v = wte[row * params.C + c];
#endif
#if ${POSITIONS}
  v += wpe[(params.pos + t) * params.C + c];
#endif
  out[i] = v;
}

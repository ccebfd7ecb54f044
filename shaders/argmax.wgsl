// argmax: index of the largest value of each row.
//   out[r] = min { i : x[r, i] = max_j x[r, j] }      (first index on ties; NaN never wins)
//   out[r] = 0xffffffff when the row has no finite maximum (only NaN, or a max of +-inf): the
//   runner reports that as a NumericalError rather than emitting a token.
// Shapes: x [R, N] f32 row-major (logits: R positions, N vocabulary), out [R] u32.
// Bindings: 0 params {R, N}, 1 out, 2 x.
// Variants: none.
// Tuning: WG invocations per row (power of two, default 256): each scans a strided slice of the
//   row, then a tree reduction in workgroup memory. Grid: R workgroups, folded into x and y.
// CPU twin: src/cpu/argmax.ts

struct Params { R: u32, N: u32 }
override WG: u32 = 256;
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

var<workgroup> bestValue: array<f32, WG>;
var<workgroup> bestIndex: array<u32, WG>;

// Whether candidate (v, i) beats the current best (b, j); NONE marks "no candidate yet".
fn beats(v: f32, i: u32, b: f32, j: u32) -> bool {
  return i != NONE && (j == NONE || v > b || (v == b && i < j));
}

fn isNan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // Every invocation reaches every barrier: the row index is uniform across the workgroup.
  let r = wid.x + wid.y * nwg.x;
  let valid = r < params.R;
  var b = 0.0;
  var j = NONE;
  if (valid) {
    let base = r * params.N;
    for (var i = lid; i < params.N; i += WG) {
      let v = x[base + i];
      if (!isNan(v) && beats(v, i, b, j)) {
        b = v;
        j = i;
      }
    }
  }
  bestValue[lid] = b;
  bestIndex[lid] = j;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let v = bestValue[lid + s];
      let i = bestIndex[lid + s];
      if (beats(v, i, bestValue[lid], bestIndex[lid])) {
        bestValue[lid] = v;
        bestIndex[lid] = i;
      }
    }
    workgroupBarrier();
  }
  if (valid && lid == 0u) {
    let v = bestValue[0];
    let finite = bestIndex[0] != NONE && (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
    out[r] = select(NONE, bestIndex[0], finite);
  }
}

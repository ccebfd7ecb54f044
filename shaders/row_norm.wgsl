// row_norm: the Euclidean norm of each row.
//   out[r] = sqrt(sum_c x[r, c]^2)
//   (the embedding rows' norms for cosine similarity: src/model/embeddings.ts dequantizes a chunk
//   of the table with the embedding kernel, then takes its rows' norms here)
// Shapes: x [R, C] f32 row-major; out [R] f32.
// Bindings: 0 params {R, C}, 1 out, 2 x.
// Variants: none.
// Tuning: WG threads per row (default 64, a power of two). Grid: R workgroups, folded into x and y.
// Each thread sums a strided slice of the row, then a tree reduction in workgroup memory.
// CPU twin: src/cpu/row_norm.ts

struct Params { R: u32, C: u32 }
override WG: u32 = 64;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  // The row is uniform across the workgroup: all of it returns here or reaches every barrier.
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.R) { return; }
  let base = row * params.C;
  var s = 0.0;
  for (var c = lid; c < params.C; c += WG) {
    let v = x[base + c];
    s += v * v;
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (lid < half) { partial[lid] += partial[lid + half]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[row] = sqrt(partial[0]); }
}

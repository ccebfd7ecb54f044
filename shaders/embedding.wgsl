// embedding: token (and position) embedding lookup for one chunk of the token table.
//   out[t, c] = scale * wte[ids[t] - rowStart, c]  (+ wpe[pos + t, c] with POSITIONS)
//   (scale is 1, or sqrt(hidden) for Gemma's scaled embedding)
//   for t < T, c < C, and only for tokens with rowStart <= ids[t] < rowStart + rows; the rows of
//   other tokens are left untouched (a table over the storage binding limit is split into row
//   chunks, one dispatch per chunk).
// Shapes: ids [T] u32; wte [rows, C] f32, or with F16 packed halves, each row padded to
//   ceil(C/2) u32s (element c of a row in word c/2, low half when c is even), or with QUANT ggml
//   blocks (one of Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K; layouts in
//   src/formats/formats.ts): C a multiple of the block size QK, row r is C/QK blocks at byte
//   r*(C/QK)*blockBytes, bound as u32 words; wpe [maxPos, C] f32; out [T, C] f32.
// Bindings: 0 params {T, C, pos, rowStart, rows, scale}, 1 out, 2 ids, 3 wte, 4 wpe (POSITIONS only).
// Variants: POSITIONS (add learned position embeddings, GPT-2), the wte format: F16, or QUANT and
//   one quantized format, or none of them (f32). Each invocation decodes its one value
//   (as src/formats/quant.ts does; shaders/matmul.wgsl decodes four at a time).
// Tuning: WG workgroup size (default 256), one invocation per output element.
//   Grid: ceil(T*C / WG) workgroups, folded into x and y.
// CPU twin: src/cpu/embedding.ts

struct Params { T: u32, C: u32, pos: u32, rowStart: u32, rows: u32, scale: f32 }
override WG: u32 = 256;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
#if ${QUANT}
@group(0) @binding(3) var<storage, read> wte: array<u32>;

// The byte at byte b.
fn u8at(b: u32) -> u32 {
  return (wte[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu;
}

// The f16 at even byte b.
fn f16at(b: u32) -> f32 {
  return unpack2x16float(wte[b >> 2u] >> ((b & 2u) * 8u)).x;
}

// The byte at byte b as a signed integer.
fn i8at(b: u32) -> f32 {
  return f32(bitcast<i32>(u8at(b) << 24u) >> 24u);
}

// Byte offset of the block holding value c of row `row`, QK values and BYTES bytes a block.
fn blockAt(row: u32, c: u32, QK: u32, BYTES: u32) -> u32 {
  return (row * (params.C / QK) + c / QK) * BYTES;
}

// ggml's get_scale_min_k4: scale and min of sub-block j (0..7) from the 12 scale bytes at byte o.
fn scaleMin(o: u32, j: u32) -> vec2f {
  if (j < 4u) { return vec2f(f32(u8at(o + j) & 63u), f32(u8at(o + j + 4u) & 63u)); }
  let hi = u8at(o + j + 4u);
  let sc = (hi & 0xfu) | ((u8at(o + j - 4u) >> 6u) << 4u);
  let mn = (hi >> 4u) | ((u8at(o + j) >> 6u) << 4u);
  return vec2f(f32(sc), f32(mn));
}

// Value c of row `row`.
fn value(row: u32, c: u32) -> f32 {
#if ${Q8_0}
  let b = blockAt(row, c, 32u, 34u);
  return f16at(b) * i8at(b + 2u + c % 32u);
#elif ${Q4_0}
  let b = blockAt(row, c, 32u, 18u);
  let j = c % 32u;
  let q = (u8at(b + 2u + j % 16u) >> (j / 16u * 4u)) & 0xfu;
  return f16at(b) * (f32(q) - 8.0);
#elif ${Q4_1}
  let b = blockAt(row, c, 32u, 20u);
  let j = c % 32u;
  let q = (u8at(b + 4u + j % 16u) >> (j / 16u * 4u)) & 0xfu;
  return f16at(b) * f32(q) + f16at(b + 2u);
#elif ${Q5_0}
  let b = blockAt(row, c, 32u, 22u);
  let j = c % 32u;
  let lo = (u8at(b + 6u + j % 16u) >> (j / 16u * 4u)) & 0xfu;
  let hi = (u8at(b + 2u + j / 8u) >> (j % 8u)) & 1u;
  return f16at(b) * (f32(lo | (hi << 4u)) - 16.0);
#elif ${Q5_1}
  let b = blockAt(row, c, 32u, 24u);
  let j = c % 32u;
  let lo = (u8at(b + 8u + j % 16u) >> (j / 16u * 4u)) & 0xfu;
  let hi = (u8at(b + 4u + j / 8u) >> (j % 8u)) & 1u;
  return f16at(b) * f32(lo | (hi << 4u)) + f16at(b + 2u);
#elif ${Q4_K}
  let b = blockAt(row, c, 256u, 144u);
  let v = c % 256u;
  let j = v / 32u;
  let sm = scaleMin(b + 4u, j);
  let q = (u8at(b + 16u + j / 2u * 32u + v % 32u) >> (j % 2u * 4u)) & 0xfu;
  return (f16at(b) * sm.x) * f32(q) - f16at(b + 2u) * sm.y;
#elif ${Q5_K}
  let b = blockAt(row, c, 256u, 176u);
  let v = c % 256u;
  let j = v / 32u;
  let sm = scaleMin(b + 4u, j);
  let lo = (u8at(b + 48u + j / 2u * 32u + v % 32u) >> (j % 2u * 4u)) & 0xfu;
  let hi = (u8at(b + 16u + v % 32u) >> j) & 1u;
  return (f16at(b) * sm.x) * f32(lo | (hi << 4u)) - f16at(b + 2u) * sm.y;
#elif ${Q6_K}
  // Value v = 128h + 32g + l (see shaders/matmul.wgsl).
  let b = blockAt(row, c, 256u, 210u);
  let v = c % 256u;
  let h = v / 128u;
  let g = v / 32u % 4u;
  let l = v % 32u;
  let lo = (u8at(b + 64u * h + 32u * (g & 1u) + l) >> (g / 2u * 4u)) & 0xfu;
  let hi = (u8at(b + 128u + 32u * h + l) >> (2u * g)) & 3u;
  return (f16at(b + 208u) * i8at(b + 192u + 8u * h + l / 16u + 2u * g)) * (f32(lo | (hi << 4u)) - 32.0);
#endif
}
#elif ${F16}
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
#if ${QUANT}
  var v = value(row, c);
#elif ${F16}
  let pair = unpack2x16float(wte[row * ((params.C + 1u) / 2u) + c / 2u]);
  var v = select(pair.x, pair.y, (c & 1u) == 1u);
#else
  var v = wte[row * params.C + c];
#endif
  v *= params.scale;
#if ${POSITIONS}
  v += wpe[(params.pos + t) * params.C + c];
#endif
  out[i] = v;
}

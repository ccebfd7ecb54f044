/**
 * Half precision: f16 conversion both ways (exact decoding, round-to-nearest-even encoding), bf16
 * decoding, and the packed f16 storage shared by the CPU twins and the weight loaders: two IEEE
 * half floats per u32, element 2i in the low 16 bits and 2i+1 in the high 16 bits, as WGSL's
 * unpack2x16float reads them. An odd element count pads the last u32's high half with 0.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The f16 bits of `x`, rounded to nearest even (overflow to infinity, NaN kept quiet). */
export function f16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the full mantissa into place, rounding to nearest even.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** Every f16 value by its bits: the exact conversion as one load (the hot loops of dequantization). */
export const F16_VALUES: Float32Array = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) t[h] = mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return t;
})();

/** The bf16 bits of `x`, rounded to nearest even (NaN kept quiet). */
export function bf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The value of f16 bits `h` (exact: every half is an f32). */
export function f16Value(h: number): number {
  return F16_VALUES[h & 0xffff];
}

/** The value of bf16 bits `h`: the high half of an f32 (exact). */
export function bf16Value(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** `x` rounded to the nearest f16 value. */
export function f16Round(x: number): number {
  return f16Value(f16Bits(x));
}

/** Packs floats as halves, two per u32 (element 2i low); an odd count pads the last high half with 0. */
export function packF16(data: Float32Array): Uint32Array {
  const out = new Uint32Array(Math.ceil(data.length / 2));
  for (let i = 0; i < data.length; i++) out[i >>> 1] |= f16Bits(data[i]) << ((i & 1) * 16);
  return out;
}

/** Unpacks the first `n` halves of packed f16 data. */
export function unpackF16(packed: Uint32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f16Value((packed[i >>> 1] >>> ((i & 1) * 16)) & 0xffff);
  return out;
}

/**
 * Packs a row-major [rows, cols] matrix as halves, each row padded to ceil(cols/2) u32s so every
 * row starts on a u32 boundary (element c of row r sits in word r*ceil(cols/2) + c/2, low half when
 * c is even). This is the F16 weight layout of matmul (an 'NK' weight packs [N, K], a 'KN' one
 * [K, N]) and of embedding's wte.
 */
export function packWeightF16(w: Float32Array, rows: number, cols: number): Uint32Array {
  const rowWords = Math.ceil(cols / 2);
  const out = new Uint32Array(rows * rowWords);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++)
      out[r * rowWords + (c >>> 1)] |= f16Bits(w[r * cols + c]) << ((c & 1) * 16);
  }
  return out;
}

/**
 * Exact CPU dequantization: every storage format (src/formats/formats.ts) to f32, block by block as
 * ggml defines it (ggml/src/ggml-quants.c dequantize_row_*, block structs in ggml-common.h). The
 * one home for turning stored bytes into floats: the checkpoint readers, the CPU twins of matmul
 * and embedding, and the tests use it; shaders/matmul.wgsl and shaders/embedding.wgsl decode the
 * same values on the GPU.
 *
 * Every value is computed in f32 as ggml computes it. Products of an f16 scale and the small
 * integers here are exact in f32; the one rounding (x = d*q + m of q4_1/q5_1, d1*q - m1 of the
 * k-quants) is an f32 rounding here too (an f64 sum of f32s rounded to f32 is the f32 sum).
 *
 * A block of 256 (k-quants) is 8 sub-blocks of 32 (q4_k, q5_k: a 6-bit scale and min each, packed
 * in 12 bytes, see scaleMin) or 16 of 16 (q6_k: an i8 scale each). Within a k-quant block the
 * values are not in byte order: q4_k/q5_k sub-blocks 2c and 2c+1 take the low and high nibbles of
 * the same 32 bytes qs[32c..32c+31]; q6_k's halves of 128 take ql's low nibbles, then the low
 * nibbles of the next 32 bytes, then both high nibbles, with qh's bit pairs 0-1, 2-3, 4-5, 6-7.
 */
import { bf16Value, F16_VALUES } from './f16';
import {
  BLOCK,
  bytesOf,
  type GpuWeightFormat,
  isQuant,
  type QuantFormat,
  type StorageFormat,
} from './formats';

const f16At = (b: Uint8Array, o: number): number => F16_VALUES[b[o] | (b[o + 1] << 8)];
const u32At = (b: Uint8Array, o: number): number =>
  (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

/**
 * ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j (0..7) of a q4_k/q5_k block from
 * its 12 scale bytes at `o`: j < 4 in the low 6 bits of bytes j and j+4; j >= 4 in the nibbles of
 * byte j+4 with the top 2 bits of bytes j-4 (scale) and j (min) above them.
 */
function scaleMin(b: Uint8Array, o: number, j: number): [number, number] {
  if (j < 4) return [b[o + j] & 63, b[o + j + 4] & 63];
  return [(b[o + j + 4] & 0xf) | ((b[o + j - 4] >> 6) << 4), (b[o + j + 4] >> 4) | ((b[o + j] >> 6) << 4)];
}

/** d * scale of the 8 sub-blocks of one q6_k half (exact in f32: 11 + 8 bits). */
const sc6 = new Float32Array(8);

/** Dequantizes `nb` blocks of a quantized format from bytes[o..] into y[at..]. */
function quantBlocks(
  format: StorageFormat,
  b: Uint8Array,
  o: number,
  nb: number,
  y: Float32Array,
  at: number,
) {
  const size = BLOCK[format].bytes;
  for (let i = 0; i < nb; i++, o += size) {
    switch (format) {
      case 'q8_0': {
        const d = f16At(b, o);
        for (let j = 0; j < 32; j++) y[at++] = d * ((b[o + 2 + j] << 24) >> 24);
        break;
      }
      case 'q4_0': {
        // Value j is the low nibble of qs[j], value j+16 its high nibble.
        const d = f16At(b, o);
        for (let j = 0; j < 16; j++) {
          const q = b[o + 2 + j];
          y[at + j] = d * ((q & 0xf) - 8);
          y[at + j + 16] = d * ((q >> 4) - 8);
        }
        at += 32;
        break;
      }
      case 'q4_1': {
        const d = f16At(b, o);
        const m = f16At(b, o + 2);
        for (let j = 0; j < 16; j++) {
          const q = b[o + 4 + j];
          y[at + j] = d * (q & 0xf) + m;
          y[at + j + 16] = d * (q >> 4) + m;
        }
        at += 32;
        break;
      }
      case 'q5_0':
      case 'q5_1': {
        // Bit j of qh is bit 4 of value j.
        const one = format === 'q5_1';
        const d = f16At(b, o);
        const m = one ? f16At(b, o + 2) : 0;
        const qh = u32At(b, o + (one ? 4 : 2));
        const qs = o + (one ? 8 : 6);
        for (let j = 0; j < 16; j++) {
          const q = b[qs + j];
          const lo = (q & 0xf) | (((qh >>> j) & 1) << 4);
          const hi = (q >> 4) | (((qh >>> (j + 16)) & 1) << 4);
          y[at + j] = one ? d * lo + m : d * (lo - 16);
          y[at + j + 16] = one ? d * hi + m : d * (hi - 16);
        }
        at += 32;
        break;
      }
      case 'q4_k':
      case 'q5_k': {
        const five = format === 'q5_k';
        const d = f16At(b, o);
        const dmin = f16At(b, o + 2);
        const qh = o + 16;
        const qs = o + (five ? 48 : 16);
        for (let c = 0; c < 4; c++) {
          const [s1, m1] = scaleMin(b, o + 4, 2 * c);
          const [s2, m2] = scaleMin(b, o + 4, 2 * c + 1);
          const d1 = Math.fround(d * s1);
          const n1 = Math.fround(dmin * m1);
          const d2 = Math.fround(d * s2);
          const n2 = Math.fround(dmin * m2);
          for (let l = 0; l < 32; l++) {
            const q = b[qs + 32 * c + l];
            // q5_k: bit 2c of qh[l] is bit 4 of sub-block 2c's value l, bit 2c+1 of sub-block 2c+1's.
            const h = five ? b[qh + l] >> (2 * c) : 0;
            y[at + l] = d1 * ((q & 0xf) | ((h & 1) << 4)) - n1;
            y[at + 32 + l] = d2 * ((q >> 4) | ((h & 2) << 3)) - n2;
          }
          at += 64;
        }
        break;
      }
      case 'q6_k': {
        const d = f16At(b, o + 208);
        for (let h = 0; h < 2; h++) {
          const ql = o + 64 * h;
          const qh = o + 128 + 32 * h;
          for (let i = 0; i < 8; i++) sc6[i] = d * ((b[o + 192 + 8 * h + i] << 24) >> 24);
          for (let l = 0; l < 32; l++) {
            // Scales is + 0, 2, 4, 6 of this half, is = l/16.
            const is = l >> 4;
            const a = b[ql + l];
            const c = b[ql + l + 32];
            const e = b[qh + l];
            y[at + l] = sc6[is] * (((a & 0xf) | ((e & 3) << 4)) - 32);
            y[at + l + 32] = sc6[is + 2] * (((c & 0xf) | (((e >> 2) & 3) << 4)) - 32);
            y[at + l + 64] = sc6[is + 4] * (((a >> 4) | (((e >> 4) & 3) << 4)) - 32);
            y[at + l + 96] = sc6[is + 6] * (((c >> 4) | (((e >> 6) & 3) << 4)) - 32);
          }
          at += 128;
        }
        break;
      }
      default:
        throw new Error(`dequantize: '${format}' is not a quantized format`);
    }
  }
}

/**
 * The first `n` values stored from the start of `bytes` in `format`, as f32 (into `out` when
 * given, which must hold n). Quantized formats need n a multiple of the block size. f16 and bf16
 * are plain consecutive halves (not packWeightF16's padded rows: see dequantizeRows). `bytes` may
 * start at any byte offset.
 */
export function dequantize(
  format: StorageFormat,
  bytes: Uint8Array,
  n: number,
  out?: Float32Array,
): Float32Array {
  const need = bytesOf(format, n);
  if (need === undefined) {
    throw new Error(
      `dequantize: ${n} values are not a whole number of ${format} blocks (${BLOCK[format].elements})`,
    );
  }
  if (bytes.length < need)
    throw new Error(`dequantize: ${n} ${format} values need ${need} bytes, got ${bytes.length}`);
  const y = out ?? new Float32Array(n);
  if (y.length < n) throw new Error(`dequantize: out holds ${y.length} values, needs ${n}`);
  const b = bytes;
  switch (format) {
    case 'f32':
      if (b.byteOffset % 4 === 0) y.set(new Float32Array(b.buffer, b.byteOffset, n));
      else y.set(new Float32Array(b.slice(0, 4 * n).buffer));
      break;
    case 'f16':
      for (let i = 0; i < n; i++) y[i] = F16_VALUES[b[2 * i] | (b[2 * i + 1] << 8)];
      break;
    case 'bf16':
      for (let i = 0; i < n; i++) y[i] = bf16Value(b[2 * i] | (b[2 * i + 1] << 8));
      break;
    default:
      quantBlocks(format, b, 0, n / BLOCK[format].elements, y, 0);
  }
  return y;
}

/**
 * A [rows, cols] matrix as f32, row r starting at byte r*rowBytes (default: rows back to back; pass
 * gpuRowBytes for the GPU layout, where f16 rows are padded to whole u32s).
 */
export function dequantizeRows(
  format: StorageFormat,
  bytes: Uint8Array,
  rows: number,
  cols: number,
  rowBytes = bytesOf(format, cols),
): Float32Array {
  if (rowBytes === undefined)
    throw new Error(`dequantizeRows: a ${format} row of ${cols} values is not whole blocks`);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    dequantize(format, bytes.subarray(r * rowBytes), cols, out.subarray(r * cols, (r + 1) * cols));
  }
  return out;
}

/** The bytes of a typed array (a weight uploaded as u32 words or floats, read as stored). */
export function bytesView(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * The f16 scale fields of each quantized format as (byte offset in the block, exponent e): random
 * halves of magnitude [2^e, 2^(e+1)) keep |d * q| and |m| below about 1.
 */
const SCALE_FIELDS: Record<QuantFormat, [number, number][]> = {
  q8_0: [[0, -8]],
  q4_0: [[0, -4]],
  q4_1: [
    [0, -5],
    [2, -2],
  ],
  q5_0: [[0, -5]],
  q5_1: [
    [0, -6],
    [2, -2],
  ],
  q4_k: [
    [0, -11],
    [2, -7],
  ],
  q5_k: [
    [0, -12],
    [2, -7],
  ],
  q6_k: [[208, -13]],
};

/**
 * Random valid blocks: `rows` rows of `cols` values of a quantized format, rows back to back, as
 * u32 words (the GPU upload: the buffer padded with zeros to a whole number of words). Quants and
 * packed scales are random bytes; the f16 scales are finite normal halves of either sign sized so
 * that |x| <= about 1 (the magnitude of the f32 test weights), from a seeded xorshift.
 */
export function randomBlocks(format: GpuWeightFormat, rows: number, cols: number, seed: number): Uint32Array {
  if (!isQuant(format)) throw new Error(`randomBlocks: '${format}' is not a quantized format`);
  const rowBytes = bytesOf(format, cols);
  if (rowBytes === undefined)
    throw new Error(`randomBlocks: a ${format} row of ${cols} values is not whole blocks`);
  const words = new Uint32Array(Math.ceil((rows * rowBytes) / 4));
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const nbytes = rows * rowBytes;
  for (let i = 0; i < words.length; i++) words[i] = next();
  const b = bytesView(words);
  b.fill(0, nbytes);
  // A half of magnitude [2^e, 2^(e+1)), random mantissa and sign.
  const half = (o: number, e: number) => {
    const r = next();
    const h = (r & 0x8000) | ((e + 15) << 10) | (r & 0x3ff);
    b[o] = h & 0xff;
    b[o + 1] = h >> 8;
  };
  const scales = SCALE_FIELDS[format];
  const size = BLOCK[format].bytes;
  for (let o = 0; o < nbytes; o += size) for (const [at, e] of scales) half(o + at, e);
  return words;
}

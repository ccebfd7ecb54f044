/**
 * Quantizers for `dtype: 'q8' | 'q4'`: ggml's reference quantizers quantize_row_q8_0_ref and
 * quantize_row_q4_0_ref (ggml/src/ggml-quants.c), bit for bit. Rows of `cols` values become
 * cols / 32 blocks each, back to back (layouts in formats.ts).
 *
 *   q8_0: amax = max |x|, d = amax / 127, q = roundf(x / d) (half away from zero)   x ~ d * q
 *   q4_0: max = the x of largest |x| (the first one on ties), d = max / -8,
 *         q = min(15, trunc(x / d + 8.5))                                          x ~ d * (q - 8)
 *
 * As in C, the arithmetic is f32 (Math.fround at every step: d, 1/d, x * (1/d), + 8.5), x / d is
 * computed as x * (1/d) with the unrounded f32 d, and d is stored as f16 rounded to nearest even.
 * A block of zeros gets d = 0 (and q8_0 quants 0, q4_0 quants 8). Non-finite values give
 * unspecified but in-range quants, as in C where they are undefined.
 */
import { f16Bits } from './f16';

const QK = 32;

function checkShape(name: string, x: Float32Array, rows: number, cols: number): void {
  if (!Number.isInteger(cols) || cols <= 0 || cols % QK !== 0) {
    throw new RangeError(`${name}: a row of ${cols} values is not a whole number of ${QK}-value blocks`);
  }
  if (!Number.isInteger(rows) || rows < 0 || x.length !== rows * cols) {
    throw new RangeError(`${name}: ${x.length} values do not make ${rows} rows of ${cols}`);
  }
}

/** Quantizes a row-major [rows, cols] matrix to q8_0 (34 bytes per 32 values). */
export function quantizeQ8_0(x: Float32Array, rows: number, cols: number): Uint8Array {
  checkShape('quantizeQ8_0', x, rows, cols);
  const nb = (rows * cols) / QK;
  const out = new Uint8Array(nb * 34);
  const fround = Math.fround;
  for (let b = 0; b < nb; b++) {
    const src = b * QK;
    let amax = 0;
    for (let j = 0; j < QK; j++) {
      const a = Math.abs(x[src + j]);
      if (a > amax) amax = a;
    }
    const d = fround(amax / 127);
    const id = d ? fround(1 / d) : 0;
    const h = f16Bits(d);
    const o = b * 34;
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    for (let j = 0; j < QK; j++) {
      const v = fround(x[src + j] * id);
      // roundf: half away from zero; v + 0.5 is exact in double for any f32 v of this size.
      const q = v < 0 ? -Math.floor(0.5 - v) : Math.floor(v + 0.5);
      out[o + 2 + j] = q & 0xff;
    }
  }
  return out;
}

/** Quantizes a row-major [rows, cols] matrix to q4_0 (18 bytes per 32 values). */
export function quantizeQ4_0(x: Float32Array, rows: number, cols: number): Uint8Array {
  checkShape('quantizeQ4_0', x, rows, cols);
  const nb = (rows * cols) / QK;
  const out = new Uint8Array(nb * 18);
  const fround = Math.fround;
  for (let b = 0; b < nb; b++) {
    const src = b * QK;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[src + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fround(max / -8);
    const id = d ? fround(1 / d) : 0;
    const h = f16Bits(d);
    const o = b * 18;
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    for (let j = 0; j < QK / 2; j++) {
      // x * id lies in [-8, 8] (up to f32 rounding), so x * id + 8.5 is positive and trunc is floor.
      const q0 = Math.min(15, Math.floor(fround(fround(x[src + j] * id) + 8.5)));
      const q1 = Math.min(15, Math.floor(fround(fround(x[src + QK / 2 + j] * id) + 8.5)));
      out[o + 2 + j] = (q0 & 0xf) | ((q1 & 0xf) << 4);
    }
  }
  return out;
}

import { describe, expect, it } from 'vitest';
import { f16Bits } from '../src/formats/f16';
import { BLOCK, type QuantFormat } from '../src/formats/formats';
import { dequantize } from '../src/formats/quant';
import { quantizeQ4_0, quantizeQ8_0 } from '../src/formats/quantize';
import { rng } from './kernels/harness';
import {
  type Quantized,
  quantizeQ4_1,
  quantizeQ4K,
  quantizeQ5_0,
  quantizeQ5_1,
  quantizeQ5K,
  quantizeQ6K,
} from './quantize';

/** A block's 32 values from a prefix, the rest 0. */
function block(prefix: number[], second: number[] = []): number[] {
  const b = new Array(32).fill(0);
  b.splice(0, prefix.length, ...prefix);
  b.splice(16, second.length, ...second);
  return b;
}

const u16 = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);

describe('quantizeQ8_0 (quantize_row_q8_0_ref)', () => {
  it('quantizes hand-computed blocks: d = amax / 127 as f16, q = round half away from zero', () => {
    const x = new Float32Array([
      // amax 127: d = 1
      ...block([127, -127, 0.5, -0.5, 1.5, -2.5, 3.49, 0, 100.4, -100.6]),
      // amax 254 (negative): d = 2, q = x / 2
      ...block([-254, 3, 5, -1, 1, 0.999]),
      // amax 1: d = 1/127 = 0.0078740..., f16 2^-7 * (1 + 8/1024) = 0x2008
      ...block([1, -0.25, 0.1]),
    ]);
    const q = quantizeQ8_0(x, 1, 96);
    expect(q.length).toBe(3 * 34);
    expect(u16(q, 0)).toBe(0x3c00);
    expect([...q.subarray(2, 12)]).toEqual([127, 129, 1, 255, 2, 253, 3, 0, 100, 155]);
    expect([...q.subarray(12, 34)]).toEqual(new Array(22).fill(0));
    expect(u16(q, 34)).toBe(0x4000);
    expect([...q.subarray(36, 42)]).toEqual([129, 2, 3, 255, 1, 0]);
    expect(u16(q, 68)).toBe(0x2008);
    expect([...q.subarray(70, 73)]).toEqual([127, 224, 13]);
  });

  it('gives a zero block d = 0 and zero quants, and keeps rows back to back', () => {
    const x = new Float32Array(2 * 64);
    x[64 + 40] = -127; // row 1, block 1, value 8
    const q = quantizeQ8_0(x, 2, 64);
    expect(q.length).toBe(4 * 34);
    expect([...q.subarray(0, 3 * 34)].every((b) => b === 0)).toBe(true);
    expect(u16(q, 3 * 34)).toBe(0x3c00);
    expect(q[3 * 34 + 2 + 8]).toBe(129);
  });

  it('refuses rows that are not whole blocks and a length that is not rows x cols', () => {
    expect(() => quantizeQ8_0(new Float32Array(48), 1, 48)).toThrow(/48 values is not a whole number/);
    expect(() => quantizeQ8_0(new Float32Array(64), 3, 32)).toThrow(/do not make 3 rows of 32/);
    expect(() => quantizeQ4_0(new Float32Array(20), 1, 20)).toThrow(/quantizeQ4_0/);
  });
});

describe('quantizeQ4_0 (quantize_row_q4_0_ref)', () => {
  it('quantizes hand-computed blocks: d = max / -8, q = min(15, trunc(x / d + 8.5)), j | j+16 << 4', () => {
    const x = new Float32Array([
      // max -8 (the first of -8 and 8): d = 1, q = min(15, trunc(x + 8.5))
      ...block([-8, 7, 7.6, 0, -0.5, 0.5, -1.5, 8, 2.49, -3.51], [1, -1, 6.5, -7.5]),
      // max 4: d = -0.5, q = min(15, trunc(-2x + 8.5))
      ...block([4, -4, 1, -1, 0.2], [-3.9, 0.25]),
      // zeros: d = 0 / -8 = -0 (f16 0x8000), q = 8
      ...block([]),
    ]);
    const q = quantizeQ4_0(x, 1, 96);
    expect(q.length).toBe(3 * 18);
    expect(u16(q, 0)).toBe(0x3c00);
    expect([...q.subarray(2, 18)]).toEqual([
      0x90, 0x7f, 0xff, 0x18, 0x88, 0x89, 0x87, 0x8f, 0x8a, 0x84, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
    ]);
    expect(u16(q, 18)).toBe(0xb800);
    expect([...q.subarray(20, 36)]).toEqual([0xf0, 0x8f, 0x86, 0x8a, ...new Array(12).fill(0x88)]);
    expect(u16(q, 36)).toBe(0x8000);
    expect([...q.subarray(38, 54)]).toEqual(new Array(16).fill(0x88));
  });
});

/**
 * Rows of several blocks whose scales differ by up to 2^±6, so a dequantizer that reads blocks
 * out of order or with another block's scale fails, with some special blocks: all zero, constant,
 * all negative, all positive, and a single outlier.
 */
function testMatrix(rows: number, cols: number, per: number, seed: number): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(rows * cols);
  for (let b = 0; b < x.length / per; b++) {
    const scale = 2 ** Math.floor(r() * 13 - 6);
    const kind = Math.floor(r() * 10);
    for (let i = 0; i < per; i++) {
      const g = Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
      const v =
        kind === 0
          ? 0
          : kind === 1
            ? 0.75
            : kind === 2
              ? -Math.abs(g) - 0.5
              : kind === 3
                ? Math.abs(g) + 0.5
                : kind === 4
                  ? i === 7
                    ? 40
                    : g * 0.1
                  : g;
      x[b * per + i] = v * scale;
    }
  }
  return x;
}

const maxAbs = (a: ArrayLike<number>, from: number, to: number) => {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};
const range = (x: Float32Array, from: number, to: number) => {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = from; i < to; i++) {
    lo = Math.min(lo, x[i]);
    hi = Math.max(hi, x[i]);
  }
  return { lo, hi };
};
/** f16 rounding moves a value by at most 2^-11 of it (normal range). */
const F16 = 2 ** -11;

/**
 * The largest error each format allows for the values x[from, to) of one block, derived from the
 * format and the reference quantizer (the f16 scale's rounding included).
 */
const bounds: Record<QuantFormat, (x: Float32Array, from: number) => number> = {
  // q = round(x / d), d = amax / 127: half a step, plus |q| <= 127 times the f16 error of d.
  q8_0: (x, s) => (maxAbs(x, s, s + 32) / 127) * (0.5 + 127 * F16),
  // d = max / -8: x / d spans [-8, 8] but q - 8 stops at 7, so one whole step at the top.
  q4_0: (x, s) => (maxAbs(x, s, s + 32) / 8) * (1 + 8 * F16),
  q5_0: (x, s) => (maxAbs(x, s, s + 32) / 16) * (1 + 16 * F16),
  // d = (max - min) / nmax, m = min: half a step, plus the f16 errors of d (times q) and of m.
  q4_1: (x, s) => {
    const { lo, hi } = range(x, s, s + 32);
    return ((hi - lo) / 15) * (0.5 + 15 * F16) + Math.abs(lo) * F16;
  },
  q5_1: (x, s) => {
    const { lo, hi } = range(x, s, s + 32);
    return ((hi - lo) / 31) * (0.5 + 31 * F16) + Math.abs(lo) * F16;
  },
  q4_k: (x, s) => kBound(x, s, 15),
  q5_k: (x, s) => kBound(x, s, 31),
  q6_k: (x, s) => {
    // Sub-block scale |s_j| = amax_j / 32 stored as an i8 multiple of D = max_j |s_j| / 128 (f16):
    // off by at most D (half a step, or a whole one where 128 clamps to 127) plus 128 * D * 2^-11.
    const sub = Array.from({ length: 16 }, (_, j) => maxAbs(x, s + 16 * j, s + 16 * j + 16) / 32);
    const D = Math.max(...sub) / 128;
    // Inside the range: half the stored step; at the clamped end (q = 31 for x / s_j up to 32): one
    // step, plus 32 times the scale's error.
    return Math.max(...sub.map((sj) => sj + 32 * D * (1 + 128 * F16) + D));
  },
};

/**
 * q4_K / q5_K, per 32-value sub-block j: scale_j = (max_j - min_j) / nmax with min_j <= 0, stored as
 * a 6-bit multiple of D = max scale / 63 (off by D/2 + 63 * D * 2^-11 after f16), and m_j = -min_j
 * likewise against Dm. Inside the stored range the error is half a stored step; beyond its ends, at
 * most the ends' shift: nmax times the scale error plus the min error.
 */
function kBound(x: Float32Array, s: number, nmax: number): number {
  const subs = Array.from({ length: 8 }, (_, j) => {
    const { lo, hi } = range(x, s + 32 * j, s + 32 * j + 32);
    const min = Math.min(lo, 0);
    return { scale: (hi - min) / nmax, m: -min };
  });
  const D = Math.max(...subs.map((v) => v.scale)) / 63;
  const Dm = Math.max(...subs.map((v) => v.m)) / 63;
  const e = 0.5 + 63 * F16;
  return Math.max(...subs.map((v) => v.scale / 2 + (e / 2) * D + nmax * e * D + e * Dm));
}

const quantizers: Record<QuantFormat, (x: Float32Array, rows: number, cols: number) => Quantized> = {
  q8_0: (x, r, c) => ({ bytes: quantizeQ8_0(x, r, c), values: new Float32Array(0) }),
  q4_0: (x, r, c) => ({ bytes: quantizeQ4_0(x, r, c), values: new Float32Array(0) }),
  q4_1: quantizeQ4_1,
  q5_0: quantizeQ5_0,
  q5_1: quantizeQ5_1,
  q4_k: quantizeQ4K,
  q5_k: quantizeQ5K,
  q6_k: quantizeQ6K,
};

describe('quantize -> dequantize round trip (src/formats/quant.ts)', () => {
  const formats = Object.keys(quantizers) as QuantFormat[];
  it.each(formats)('%s: within the format bound, and equal to what the quantizer chose', (format) => {
    const per = BLOCK[format].elements;
    for (const [rows, blocksPerRow, seed] of [
      [1, 1, 1],
      [3, 5, 2],
      [7, 3, 3],
    ]) {
      const cols = per * blocksPerRow;
      const x = testMatrix(rows, cols, per, seed * 101 + per);
      const q = quantizers[format](x, rows, cols);
      expect(q.bytes.length).toBe((rows * cols * BLOCK[format].bytes) / per);
      const y = dequantize(format, q.bytes, rows * cols);
      expect(y.length).toBe(rows * cols);
      for (let b = 0; b < (rows * cols) / per; b++) {
        const s = b * per;
        const bound = bounds[format](x, s) * (1 + 1e-5) + 1e-30;
        const scale = maxAbs(x, s, s + per);
        for (let i = s; i < s + per; i++) {
          const err = Math.abs(x[i] - y[i]);
          if (!(err <= bound)) {
            expect.fail(
              `${format} ${rows}x${cols} block ${b} value ${i - s}: x ${x[i]}, got ${y[i]}, bound ${bound}`,
            );
          }
          if (q.values.length && !(Math.abs(y[i] - q.values[i]) <= 1e-6 * scale)) {
            expect.fail(
              `${format} block ${b} value ${i - s}: dequantized ${y[i]}, quantizer chose ${q.values[i]}`,
            );
          }
        }
      }
    }
  });

  it('q8_0 and q4_0 round trips reach the bound only by a margin on random data', () => {
    // Sanity of the bounds themselves: typical errors are well inside them.
    const x = testMatrix(5, 256, 32, 9);
    for (const format of ['q8_0', 'q4_0'] as const) {
      const y = dequantize(format, quantizers[format](x, 5, 256).bytes, x.length);
      let worst = 0;
      for (let b = 0; b < x.length / 32; b++) {
        const bound = bounds[format](x, b * 32);
        for (let i = b * 32; i < b * 32 + 32; i++)
          if (bound > 0) worst = Math.max(worst, Math.abs(x[i] - y[i]) / bound);
      }
      expect(worst).toBeGreaterThan(0.3);
      expect(worst).toBeLessThanOrEqual(1);
    }
  });

  it('f16 scale bits: q8_0 d is f16(amax / 127) for a block with an exact f16 scale', () => {
    const x = new Float32Array(32).fill(0.5);
    x[3] = -3;
    const q = quantizeQ8_0(x, 1, 32);
    expect(u16(q, 0)).toBe(f16Bits(Math.fround(3 / 127)));
    expect(q[2 + 3]).toBe(256 - 127);
  });
});

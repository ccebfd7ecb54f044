/**
 * Dequantization against hand-built blocks. Every expected value is written from ggml's definition
 * (ggml-quants.c dequantize_row_*), as a literal or a formula of the chosen fields, never by running
 * the code under test.
 */
import { describe, expect, it } from 'vitest';
import { f16Bits } from '../src/formats/f16';
import { BLOCK, QUANT_FORMATS } from '../src/formats/formats';
import { bytesView, dequantize, dequantizeRows, randomBlocks } from '../src/formats/quant';

/** A little-endian byte writer for one row of blocks. */
class Bytes {
  readonly b: Uint8Array;
  constructor(n: number) {
    this.b = new Uint8Array(n);
  }
  half(o: number, x: number) {
    const h = f16Bits(x);
    this.b[o] = h & 0xff;
    this.b[o + 1] = h >> 8;
  }
  u32(o: number, v: number) {
    for (let i = 0; i < 4; i++) this.b[o + i] = (v >>> (8 * i)) & 0xff;
  }
  bytes(o: number, v: number[]) {
    this.b.set(
      v.map((x) => x & 0xff),
      o,
    );
  }
}

const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

function expectValues(got: Float32Array, want: number[]) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) throw new Error(`value ${i}: got ${got[i]}, want ${want[i]}`);
  }
}

describe('dequantize: simple blocks of 32', () => {
  it('q8_0: x = d * q, q signed bytes', () => {
    const w = new Bytes(68);
    w.half(0, 0.5);
    w.bytes(
      2,
      range(32, (j) => j - 16),
    );
    w.half(34, -2);
    w.bytes(36, [127, -128, ...range(30, (j) => j - 5)]);
    const want = [...range(32, (j) => 0.5 * (j - 16)), -254, 256, ...range(30, (j) => -2 * (j - 5))];
    expectValues(dequantize('q8_0', w.b, 64), want);
  });

  it('q4_0: value j is the low nibble of qs[j], value j+16 the high one; x = d * (q - 8)', () => {
    const w = new Bytes(36);
    w.half(0, 0.25);
    w.bytes(
      2,
      range(16, (j) => j | ((15 - j) << 4)),
    );
    w.half(18, 1);
    w.bytes(
      20,
      range(16, () => 0x8f),
    );
    const want = [
      ...[-2, -1.75, -1.5, -1.25, -1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75],
      ...[1.75, 1.5, 1.25, 1, 0.75, 0.5, 0.25, 0, -0.25, -0.5, -0.75, -1, -1.25, -1.5, -1.75, -2],
      ...range(16, () => 7),
      ...range(16, () => 0),
    ];
    expectValues(dequantize('q4_0', w.b, 64), want);
  });

  it('q4_1: x = d * q + m', () => {
    const w = new Bytes(40);
    w.half(0, 0.5);
    w.half(2, -1);
    w.bytes(
      4,
      range(16, (j) => j | ((15 - j) << 4)),
    );
    w.half(20, 0.125);
    w.half(22, 3);
    w.bytes(
      24,
      range(16, () => 0xf0),
    );
    const want = [
      ...range(16, (j) => 0.5 * j - 1),
      ...range(16, (j) => 0.5 * (15 - j) - 1),
      ...range(16, () => 3),
      ...range(16, () => 0.125 * 15 + 3),
    ];
    expectValues(dequantize('q4_1', w.b, 64), want);
    expect(want[16]).toBe(6.5);
  });

  it('q5_0: bit j of qh is bit 4 of value j; x = d * (q - 16)', () => {
    const w = new Bytes(44);
    w.half(0, 1);
    w.u32(2, 0x0000ffff);
    w.bytes(
      6,
      range(16, (j) => j | (j << 4)),
    );
    w.half(22, 0.5);
    w.u32(24, 0xaaaaaaaa);
    w.bytes(
      28,
      range(16, () => 0xf0),
    );
    const want = [
      // Values 0..15 have their bit 4 set: (j + 16) - 16; values 16..31 do not: j - 16.
      ...range(16, (j) => j),
      ...range(16, (j) => j - 16),
      // Odd values have bit 4: low nibbles 0 -> 0.5 * (16 - 16) or 0.5 * (0 - 16).
      ...range(16, (j) => (j % 2 ? 0 : -8)),
      // High nibbles 15 -> 0.5 * (31 - 16) or 0.5 * (15 - 16).
      ...range(16, (j) => (j % 2 ? 7.5 : -0.5)),
    ];
    expectValues(dequantize('q5_0', w.b, 64), want);
  });

  it('q5_1: x = d * q + m with the fifth bit from qh', () => {
    const w = new Bytes(48);
    for (const [o, d, m] of [
      [0, 0.25, 0.5],
      [24, 2, -8],
    ]) {
      w.half(o, d);
      w.half(o + 2, m);
      w.u32(o + 4, 0x80000001);
      w.bytes(
        o + 8,
        range(16, (j) => j | (j << 4)),
      );
    }
    const block = (d: number, m: number) => [
      ...range(16, (j) => d * (j + (j === 0 ? 16 : 0)) + m),
      ...range(16, (j) => d * (j + (j === 15 ? 16 : 0)) + m),
    ];
    const want = [...block(0.25, 0.5), ...block(2, -8)];
    expect(want[0]).toBe(4.5);
    expect(want[63]).toBe(54);
    expectValues(dequantize('q5_1', w.b, 64), want);
  });
});

/**
 * Sub-block scales and mins of the q4_k/q5_k blocks below, and their 12 packed bytes written out
 * by hand from get_scale_min_k4: j < 4 in the low 6 bits of bytes j (scale) and j+4 (min); j >= 4
 * in the low (scale) and high (min) nibble of byte j+4, their top two bits in the top two bits of
 * bytes j-4 (scale) and j (min). E.g. byte 0 = 1 | (63 >> 4) << 6 = 193, byte 8 = 15 | 1 << 4 = 31.
 */
const SC = [1, 2, 3, 4, 63, 17, 33, 48];
const MN = [0, 5, 10, 63, 1, 20, 47, 32];
const SCALES = [193, 66, 131, 196, 0, 69, 138, 191, 31, 65, 241, 0];

describe('dequantize: k-quant super-blocks of 256', () => {
  // qs byte i (chunk c = i/32, l = i%32): low nibble l % 16, high nibble (l + c) % 16.
  const qs = range(128, (i) => ((i % 32) % 16) | ((((i % 32) + (i >> 5)) % 16) << 4));

  it('q4_k: sub-blocks 2c, 2c+1 are the low and high nibbles of qs[32c..]; x = d*sc*q - dmin*m', () => {
    const w = new Bytes(288);
    w.half(0, 0.5);
    w.half(2, 0.25);
    w.bytes(4, SCALES);
    w.bytes(16, qs);
    w.half(144, 2);
    w.half(146, 1);
    w.bytes(148, SCALES);
    w.bytes(
      160,
      range(128, () => 0xff),
    );
    const first = range(256, (v) => {
      const c = v >> 6;
      const l = v % 32;
      const s = 2 * c + (v % 64 >= 32 ? 1 : 0);
      const q = v % 64 < 32 ? l % 16 : (l + c) % 16;
      return 0.5 * SC[s] * q - 0.25 * MN[s];
    });
    // Literal checks of the formula: v=33 (sub 1, q 1), v=200 (sub 6, q 8), v=255 (sub 7, q 2).
    expect([first[0], first[33], first[200], first[255]]).toEqual([0, -0.25, 120.25, 40]);
    const second = range(256, (v) => 2 * SC[v >> 5] * 15 - MN[v >> 5]);
    expectValues(dequantize('q4_k', w.b, 512), [...first, ...second]);
  });

  it('q5_k: bit s of qh[l] is bit 4 of value l of sub-block s', () => {
    const w = new Bytes(352);
    for (const [o, d] of [
      [0, 0.5],
      [176, -1],
    ]) {
      w.half(o, d);
      w.half(o + 2, 0.25);
      w.bytes(o + 4, SCALES);
      w.bytes(
        o + 16,
        range(32, (l) => 1 << (l % 8)),
      );
      w.bytes(o + 48, qs);
    }
    const block = (d: number) =>
      range(256, (v) => {
        const c = v >> 6;
        const l = v % 32;
        const s = 2 * c + (v % 64 >= 32 ? 1 : 0);
        const q = (v % 64 < 32 ? l % 16 : (l + c) % 16) + (l % 8 === s ? 16 : 0);
        return d * SC[s] * q - 0.25 * MN[s];
      });
    const first = block(0.5);
    // v=231: sub 7, l 7 has the high bit, q = 10 + 16: 0.5*48*26 - 0.25*32.
    expect(first[231]).toBe(616);
    expectValues(dequantize('q5_k', w.b, 512), [...first, ...block(-1)]);
  });

  it('q6_k: halves of 128 from ql[64h..], qh[32h..], scales[8h..]; x = d * sc * (q - 32)', () => {
    const w = new Bytes(420);
    for (const [o, d] of [
      [0, 0.25],
      [210, -1],
    ]) {
      w.bytes(
        o,
        range(128, (i) => (i % 16) | (((i * 3) % 16) << 4)),
      );
      w.bytes(
        o + 128,
        range(64, (i) => (i * 37) % 256),
      );
      w.bytes(
        o + 192,
        range(16, (i) => i * 9 - 70),
      );
      w.half(o + 208, d);
    }
    const ql = (i: number) => (i % 16) | (((i * 3) % 16) << 4);
    const qh = (i: number) => (i * 37) % 256;
    const sc = (i: number) => i * 9 - 70;
    const block = (d: number) =>
      range(256, (v) => {
        // ggml's loop: value 128h + 32g + l, l < 32.
        const h = v >> 7;
        const g = (v % 128) >> 5;
        const l = v % 32;
        const lowBits = g & 1 ? ql(64 * h + l + 32) : ql(64 * h + l);
        const nibble = g >= 2 ? lowBits >> 4 : lowBits & 0xf;
        const q = (nibble | (((qh(32 * h + l) >> (2 * g)) & 3) << 4)) - 32;
        return d * sc(8 * h + (l >> 4) + 2 * g) * q;
      });
    const first = block(0.25);
    // v=0: q = -32, sc -70; v=100: q = 12 | 2<<4 = 44 - 32, sc[6] = -16; v=255: q = 13 - 32, sc[15] = 65.
    expect([first[0], first[100], first[255]]).toEqual([560, -48, -308.75]);
    expectValues(dequantize('q6_k', w.b, 512), [...first, ...block(-1)]);
  });
});

describe('dequantize: float formats', () => {
  it('f32 at any byte offset, f16 and bf16 exactly', () => {
    const f = new Float32Array([1.5, -2, 3.25e-8]);
    const shifted = new Uint8Array(13);
    shifted.set(bytesView(f), 1);
    expectValues(dequantize('f32', shifted.subarray(1), 3), [1.5, -2, Math.fround(3.25e-8)]);
    // f16: 1, -2, 65504 (max), 2^-24 (smallest subnormal); bf16: 1, -2, 2^-126 * 1.5.
    const h = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001]).buffer);
    expectValues(dequantize('f16', h, 4), [1, -2, 65504, 2 ** -24]);
    const bf = new Uint8Array(new Uint16Array([0x3f80, 0xc000, 0x00c0]).buffer);
    expectValues(dequantize('bf16', bf, 3), [1, -2, 1.5 * 2 ** -126]);
  });

  it('dequantizeRows reads rows at a stride (the GPU f16 layout pads rows to whole u32s)', () => {
    // Two rows of 3 halves, 8 bytes a row: [1, 2, 3, pad], [-1, -2, -3, pad].
    const h = new Uint8Array(new Uint16Array([0x3c00, 0x4000, 0x4200, 0, 0xbc00, 0xc000, 0xc200, 0]).buffer);
    expectValues(dequantizeRows('f16', h, 2, 3, 8), [1, 2, 3, -1, -2, -3]);
  });

  it('rejects a count that is not whole blocks, or too few bytes', () => {
    expect(() => dequantize('q4_k', new Uint8Array(144), 128)).toThrow(/whole number of q4_k blocks/);
    expect(() => dequantize('q8_0', new Uint8Array(33), 32)).toThrow(/need 34 bytes/);
  });
});

describe('randomBlocks', () => {
  it('gives finite values of magnitude about 1 or less, padded to whole words, deterministic', () => {
    for (const f of QUANT_FORMATS) {
      const cols = 2 * BLOCK[f].elements;
      const words = randomBlocks(f, 3, cols, 7);
      expect(words.byteLength).toBe(Math.ceil((3 * 2 * BLOCK[f].bytes) / 4) * 4);
      expect(randomBlocks(f, 3, cols, 7)).toEqual(words);
      const x = dequantize(f, bytesView(words), 3 * cols);
      let max = 0;
      for (const v of x) {
        expect(Number.isFinite(v)).toBe(true);
        max = Math.max(max, Math.abs(v));
      }
      expect(max).toBeLessThanOrEqual(1.5);
      expect(max).toBeGreaterThan(0.1);
    }
  });
});

/**
 * Test-side quantizers for the formats wgpt reads but does not produce: q4_1, q5_0, q5_1 exactly as
 * ggml's quantize_row_*_ref, and q4_K, q5_K, q6_K as ggml's quantize_row_*_ref with the scale
 * search turned off (make_qkx2_quants with nstep 0: scale (max - min) / nmax and min = min(x, 0)
 * per sub-block; make_qx_quants with rmse_type 0: scale max / -32 with max the x of largest |x|).
 * The super-block steps (6-bit or 8-bit sub-block scales, requantizing each value with the stored
 * scales) and the byte layouts are ggml's (ggml-quants.c, ggml-common.h). Arithmetic is f32, as in C.
 *
 * Each returns the bytes and the values a ggml dequantizer must produce from them, computed from
 * the integers chosen before any bit packing (in dequantize_row_*'s f32 order), so a test can
 * check a dequantizer's reading of the layout apart from the quantization error.
 */
import { f16Bits, f16Value } from '../src/formats/f16';

export interface Quantized {
  bytes: Uint8Array;
  /** What dequantizing `bytes` gives (f32). */
  values: Float32Array;
}

const fround = Math.fround;
const QK = 32;
const QK_K = 256;
const GROUP_MAX_EPS = fround(1e-15);

/** ggml's nearest_int: round half to even through the f32 addition of 1.5 * 2^23. */
function nearestInt(v: number): number {
  return fround(fround(v) + 12582912) - 12582912;
}

/** Writes f16 bits little-endian and returns the f16's value. */
function putF16(out: Uint8Array, at: number, v: number): number {
  const h = f16Bits(v);
  out[at] = h & 0xff;
  out[at + 1] = h >>> 8;
  return f16Value(h);
}

function blocks(name: string, x: Float32Array, rows: number, cols: number, per: number): number {
  if (cols % per !== 0) throw new RangeError(`${name}: ${cols} columns are not whole ${per}-value blocks`);
  if (x.length !== rows * cols) throw new RangeError(`${name}: ${x.length} values for ${rows} x ${cols}`);
  return x.length / per;
}

/** q4_1 / q5_1: d = (max - min) / nmax, m = min, q = trunc((x - min) / d + 0.5). */
function quantizeMin(x: Float32Array, rows: number, cols: number, bits: 4 | 5): Quantized {
  const nb = blocks(`q${bits}_1`, x, rows, cols, QK);
  const size = bits === 4 ? 20 : 24;
  const nmax = (1 << bits) - 1;
  const out = new Uint8Array(nb * size);
  const values = new Float32Array(nb * QK);
  for (let b = 0; b < nb; b++) {
    const s = b * QK;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < QK; j++) {
      min = Math.min(min, x[s + j]);
      max = Math.max(max, x[s + j]);
    }
    const d = fround(fround(max - min) / nmax);
    const id = d ? fround(1 / d) : 0;
    const o = b * size;
    const dv = putF16(out, o, d);
    const mv = putF16(out, o + 2, min);
    const qs = o + (bits === 4 ? 4 : 8);
    let qh = 0;
    for (let j = 0; j < QK / 2; j++) {
      const q0 = Math.min(nmax, Math.floor(fround(fround(fround(x[s + j] - min) * id) + 0.5)));
      const q1 = Math.min(nmax, Math.floor(fround(fround(fround(x[s + j + 16] - min) * id) + 0.5)));
      out[qs + j] = (q0 & 0xf) | ((q1 & 0xf) << 4);
      qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16));
      values[s + j] = fround(fround(q0 * dv) + mv);
      values[s + j + 16] = fround(fround(q1 * dv) + mv);
    }
    if (bits === 5) new DataView(out.buffer).setUint32(o + 4, qh >>> 0, true);
  }
  return { bytes: out, values };
}

export const quantizeQ4_1 = (x: Float32Array, rows: number, cols: number) => quantizeMin(x, rows, cols, 4);
export const quantizeQ5_1 = (x: Float32Array, rows: number, cols: number) => quantizeMin(x, rows, cols, 5);

/** q5_0: max = the x of largest |x|, d = max / -16, q = min(31, trunc(x / d + 16.5)). */
export function quantizeQ5_0(x: Float32Array, rows: number, cols: number): Quantized {
  const nb = blocks('q5_0', x, rows, cols, QK);
  const out = new Uint8Array(nb * 22);
  const values = new Float32Array(nb * QK);
  for (let b = 0; b < nb; b++) {
    const s = b * QK;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      if (amax < Math.abs(x[s + j])) {
        amax = Math.abs(x[s + j]);
        max = x[s + j];
      }
    }
    const d = fround(max / -16);
    const id = d ? fround(1 / d) : 0;
    const o = b * 22;
    const dv = putF16(out, o, d);
    let qh = 0;
    for (let j = 0; j < QK / 2; j++) {
      const q0 = Math.min(31, Math.floor(fround(fround(x[s + j] * id) + 16.5)));
      const q1 = Math.min(31, Math.floor(fround(fround(x[s + j + 16] * id) + 16.5)));
      out[o + 6 + j] = (q0 & 0xf) | ((q1 & 0xf) << 4);
      qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16));
      values[s + j] = fround((q0 - 16) * dv);
      values[s + j + 16] = fround((q1 - 16) * dv);
    }
    new DataView(out.buffer).setUint32(o + 2, qh >>> 0, true);
  }
  return { bytes: out, values };
}

/**
 * The 8 (scale, min) pairs of a q4_K / q5_K super-block of 256 values in 32-value sub-blocks,
 * quantized to 6 bits against d = max scale / 63 and dmin = max min / 63, and the values requantized
 * to 0..nmax with those stored scales. Writes d, dmin and scales[12] at `o`; returns L[256].
 */
function kQuantsWithMin(
  x: Float32Array,
  s: number,
  nmax: number,
  out: Uint8Array,
  o: number,
  values: Float32Array,
): Uint8Array {
  const L = new Uint8Array(QK_K);
  const scales = new Float32Array(8);
  const mins = new Float32Array(8);
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const b = s + 32 * j;
    let min = x[b];
    let max = x[b];
    for (let i = 1; i < 32; i++) {
      if (x[b + i] < min) min = x[b + i];
      if (x[b + i] > max) max = x[b + i];
    }
    if (min > 0) min = 0;
    if (max !== min) {
      const iscale = fround(nmax / fround(max - min));
      scales[j] = fround(1 / iscale);
      for (let i = 0; i < 32; i++) {
        L[32 * j + i] = Math.max(0, Math.min(nmax, nearestInt(fround(iscale * fround(x[b + i] - min)))));
      }
    }
    mins[j] = -min;
    if (scales[j] > maxScale) maxScale = scales[j];
    if (mins[j] > maxMin) maxMin = mins[j];
  }
  const invScale = maxScale > 0 ? fround(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fround(63 / maxMin) : 0;
  const sc = o + 4;
  const ls = new Uint8Array(8);
  const lm = new Uint8Array(8);
  for (let j = 0; j < 8; j++) {
    ls[j] = Math.min(63, nearestInt(fround(invScale * scales[j])));
    lm[j] = Math.min(63, nearestInt(fround(invMin * mins[j])));
    if (j < 4) {
      out[sc + j] = ls[j];
      out[sc + j + 4] = lm[j];
    } else {
      out[sc + j + 4] = (ls[j] & 0xf) | ((lm[j] & 0xf) << 4);
      out[sc + j - 4] |= (ls[j] >> 4) << 6;
      out[sc + j] |= (lm[j] >> 4) << 6;
    }
  }
  const d = putF16(out, o, fround(maxScale / 63));
  const dmin = putF16(out, o + 2, fround(maxMin / 63));
  for (let j = 0; j < 8; j++) {
    const dj = fround(d * ls[j]);
    const mj = fround(dmin * lm[j]);
    for (let i = 0; i < 32; i++) {
      const k = 32 * j + i;
      // A scale that rounded to 0 keeps the first pass's quants, as in ggml (they dequantize to -m).
      if (dj) L[k] = Math.max(0, Math.min(nmax, nearestInt(fround(fround(x[s + k] + mj) / dj))));
      values[s + k] = fround(fround(dj * L[k]) - mj);
    }
  }
  return L;
}

/** q4_K: 144 bytes per 256 values: d, dmin, scales[12], qs[128]. */
export function quantizeQ4K(x: Float32Array, rows: number, cols: number): Quantized {
  const nb = blocks('q4_K', x, rows, cols, QK_K);
  const out = new Uint8Array(nb * 144);
  const values = new Float32Array(nb * QK_K);
  for (let b = 0; b < nb; b++) {
    const o = b * 144;
    const L = kQuantsWithMin(x, b * QK_K, 15, out, o, values);
    // Sub-blocks 2k and 2k+1 share qs[32k .. 32k+31]: low nibbles, then high nibbles.
    for (let k = 0; k < 4; k++) {
      for (let l = 0; l < 32; l++) out[o + 16 + 32 * k + l] = L[64 * k + l] | (L[64 * k + l + 32] << 4);
    }
  }
  return { bytes: out, values };
}

/** q5_K: 176 bytes per 256 values: d, dmin, scales[12], qh[32], qs[128]. */
export function quantizeQ5K(x: Float32Array, rows: number, cols: number): Quantized {
  const nb = blocks('q5_K', x, rows, cols, QK_K);
  const out = new Uint8Array(nb * 176);
  const values = new Float32Array(nb * QK_K);
  for (let b = 0; b < nb; b++) {
    const o = b * 176;
    const L = kQuantsWithMin(x, b * QK_K, 31, out, o, values);
    const qh = o + 16;
    const ql = o + 48;
    // Bit 2k of qh[l] is the fifth bit of value 64k + l, bit 2k+1 that of value 64k + l + 32.
    for (let k = 0; k < 4; k++) {
      for (let l = 0; l < 32; l++) {
        const l1 = L[64 * k + l];
        const l2 = L[64 * k + l + 32];
        out[qh + l] |= ((l1 >> 4) << (2 * k)) | ((l2 >> 4) << (2 * k + 1));
        out[ql + 32 * k + l] = (l1 & 0xf) | ((l2 & 0xf) << 4);
      }
    }
  }
  return { bytes: out, values };
}

/** q6_K: 210 bytes per 256 values: ql[128], qh[64], scales[16] i8, d. */
export function quantizeQ6K(x: Float32Array, rows: number, cols: number): Quantized {
  const nb = blocks('q6_K', x, rows, cols, QK_K);
  const out = new Uint8Array(nb * 210);
  const values = new Float32Array(nb * QK_K);
  const L = new Uint8Array(QK_K);
  const scales = new Float32Array(16);
  for (let b = 0; b < nb; b++) {
    const s = b * QK_K;
    const o = b * 210;
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      let amax = 0;
      let max = 0;
      for (let i = 0; i < 16; i++) {
        const v = x[s + 16 * ib + i];
        if (Math.abs(v) > amax) {
          amax = Math.abs(v);
          max = v;
        }
      }
      scales[ib] = 0;
      L.fill(0, 16 * ib, 16 * ib + 16);
      if (amax < GROUP_MAX_EPS) continue;
      const iscale = fround(-32 / max);
      for (let i = 0; i < 16; i++) {
        const l = nearestInt(fround(iscale * x[s + 16 * ib + i]));
        L[16 * ib + i] = 32 + Math.max(-32, Math.min(31, l));
      }
      scales[ib] = fround(1 / iscale);
      if (Math.abs(scales[ib]) > maxAbsScale) {
        maxAbsScale = Math.abs(scales[ib]);
        maxScale = scales[ib];
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) continue; // an all-zero block: every byte 0, values 0
    const iscale = fround(-128 / maxScale);
    const d = putF16(out, o + 208, fround(1 / iscale));
    for (let ib = 0; ib < 16; ib++) {
      const sc = Math.min(127, nearestInt(fround(iscale * scales[ib])));
      out[o + 192 + ib] = sc & 0xff;
      const dj = fround(d * sc);
      for (let i = 0; i < 16; i++) {
        const k = 16 * ib + i;
        if (dj) L[k] = 32 + Math.max(-32, Math.min(31, nearestInt(fround(x[s + k] / dj))));
        values[s + k] = fround(dj * (L[k] - 32));
      }
    }
    // Per 128-value half h: ql[64h + l] holds values l (low nibble) and l + 64 (high), ql[64h + 32 + l]
    // values l + 32 and l + 96; qh[32h + l] their top two bits at bits 0, 2, 4, 6 for l, +32, +64, +96.
    for (let h = 0; h < 2; h++) {
      const v = 128 * h;
      for (let l = 0; l < 32; l++) {
        const q1 = L[v + l];
        const q2 = L[v + l + 32];
        const q3 = L[v + l + 64];
        const q4 = L[v + l + 96];
        out[o + 64 * h + l] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        out[o + 64 * h + l + 32] = (q2 & 0xf) | ((q4 & 0xf) << 4);
        out[o + 128 + 32 * h + l] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
      }
    }
  }
  return { bytes: out, values };
}

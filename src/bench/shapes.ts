/**
 * Shapes the benchmark sweeps, taken from real models, and cheap seeded inputs for them.
 *
 *   C channels, NH query heads, NKV key/value heads, HS head size, F MLP width, V vocab.
 */

export interface ModelShape {
  /** Short name used in row labels. */
  name: string;
  C: number;
  NH: number;
  NKV: number;
  HS: number;
  F: number;
  V: number;
}

/** The embedded default model (Llama architecture). */
export const TINYSTORIES: ModelShape = { name: 'ts-656k', C: 128, NH: 8, NKV: 4, HS: 16, F: 384, V: 2048 };
export const GPT2_SMALL: ModelShape = { name: 'gpt2-s', C: 768, NH: 12, NKV: 12, HS: 64, F: 3072, V: 50257 };
export const GPT2_MEDIUM: ModelShape = {
  name: 'gpt2-m',
  C: 1024,
  NH: 16,
  NKV: 16,
  HS: 64,
  F: 4096,
  V: 50257,
};
/** Llama 3.2 1B class. */
export const LLAMA_1B: ModelShape = { name: 'llama-1b', C: 2048, NH: 32, NKV: 8, HS: 64, F: 8192, V: 128256 };

export type Preset = 'quick' | 'full';

/** Rows in flight: decode is 1, prefill a prompt block. */
export const PREFILL_M = [128, 512];

/**
 * `n` floats uniform in [-scale, scale) from a seeded xorshift generator: far cheaper than normal
 * samples for the hundreds of millions of weights of the big shapes.
 */
export function uniform(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  const k = (2 * scale) / 4294967296;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) * k - scale;
  }
  return out;
}

/**
 * `words` u32s of packed f16 pairs, each half a random finite value of magnitude 2^-6..2 (exponent
 * 9..15, any mantissa, either sign): valid packWeightF16 data without converting floats.
 */
export function randomF16Words(words: number, seed: number): Uint32Array {
  const out = new Uint32Array(words);
  let s = (seed * 2654435761) >>> 0 || 1;
  const half = (r: number) => (r & 0x8000) | ((9 + ((r >>> 10) % 7)) << 10) | (r & 0x3ff);
  for (let i = 0; i < words; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const r = s >>> 0;
    out[i] = (half(r & 0xffff) | (half(r >>> 16) << 16)) >>> 0;
  }
  return out;
}

/** Rows of a row-wise output to compare with the CPU twin: all, or as many as `budget` operations allow. */
export function rowsToCheck(R: number, opsPerRow: number, budget = 4e7): number {
  return Math.max(1, Math.min(R, Math.floor(budget / Math.max(1, opsPerRow))));
}

export function checkedLabel(rows: number, R: number, what = 'rows'): string {
  return rows >= R ? 'all' : `first ${rows}/${R} ${what}`;
}

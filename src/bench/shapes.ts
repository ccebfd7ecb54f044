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

export { randomF16Words, uniform } from '../gpu/check';

/** Rows in flight: decode is 1, prefill a prompt block. */
export const PREFILL_M = [128, 512];

/** Rows of a row-wise output to compare with the CPU twin: all, or as many as `budget` operations allow. */
export function rowsToCheck(R: number, opsPerRow: number, budget = 4e7): number {
  return Math.max(1, Math.min(R, Math.floor(budget / Math.max(1, opsPerRow))));
}

export function checkedLabel(rows: number, R: number, what = 'rows'): string {
  return rows >= R ? 'all' : `first ${rows}/${R} ${what}`;
}

/**
 * Shapes the benchmark sweeps, taken from real models, and cheap seeded inputs for them.
 *
 *   C channels, NH query heads, NKV key/value heads, HS head size, F MLP width, V vocab.
 */

export interface ModelShape {
  /** Short name used in row labels. */
  name: string;
  /** GPT-2 (Conv1D weights, [K, N]) or Llama (nn.Linear weights, [N, K]; fused gate|up). */
  arch: 'gpt2' | 'llama';
  C: number;
  NH: number;
  NKV: number;
  HS: number;
  F: number;
  V: number;
}

/** The embedded default model (Llama architecture). */
export const TINYSTORIES: ModelShape = {
  name: 'ts-656k',
  arch: 'llama',
  C: 128,
  NH: 8,
  NKV: 4,
  HS: 16,
  F: 384,
  V: 2048,
};
/** GPT-2 4 layers x 64 wide, padded vocab: a small model whose unembedding is nearly all of it. */
export const GPT2_4X64: ModelShape = {
  name: 'gpt2-4x64',
  arch: 'gpt2',
  C: 64,
  NH: 4,
  NKV: 4,
  HS: 16,
  F: 256,
  V: 50304,
};
export const GPT2_SMALL: ModelShape = {
  name: 'gpt2-s',
  arch: 'gpt2',
  C: 768,
  NH: 12,
  NKV: 12,
  HS: 64,
  F: 3072,
  V: 50257,
};
export const GPT2_MEDIUM: ModelShape = {
  name: 'gpt2-m',
  arch: 'gpt2',
  C: 1024,
  NH: 16,
  NKV: 16,
  HS: 64,
  F: 4096,
  V: 50257,
};
/** Llama 3.2 1B class. */
export const LLAMA_1B: ModelShape = {
  name: 'llama-1b',
  arch: 'llama',
  C: 2048,
  NH: 32,
  NKV: 8,
  HS: 64,
  F: 8192,
  V: 128256,
};

/**
 * The matmuls a model runs, as the engine runs them: fused qkv (and gate|up for Llama), each in
 * its checkpoint's layout ('KN' for GPT-2's Conv1D, 'NK' for nn.Linear and the unembedding).
 */
export function projections(m: ModelShape): { what: string; K: number; N: number; wLayout: 'NK' | 'KN' }[] {
  const { C, NH, NKV, HS, F, V } = m;
  if (m.arch === 'gpt2') {
    return [
      { what: `qkv ${C}x${3 * C}`, K: C, N: 3 * C, wLayout: 'KN' },
      { what: `attn-out ${C}x${C}`, K: C, N: C, wLayout: 'KN' },
      { what: `mlp-up ${C}x${F}`, K: C, N: F, wLayout: 'KN' },
      { what: `mlp-down ${F}x${C}`, K: F, N: C, wLayout: 'KN' },
      { what: `lm-head ${C}x${V}`, K: C, N: V, wLayout: 'NK' },
    ];
  }
  const Q = (NH + 2 * NKV) * HS;
  return [
    { what: `qkv ${C}x${Q}`, K: C, N: Q, wLayout: 'NK' },
    { what: `attn-out ${NH * HS}x${C}`, K: NH * HS, N: C, wLayout: 'NK' },
    { what: `gate|up ${C}x${2 * F}`, K: C, N: 2 * F, wLayout: 'NK' },
    { what: `mlp-down ${F}x${C}`, K: F, N: C, wLayout: 'NK' },
    { what: `lm-head ${C}x${V}`, K: C, N: V, wLayout: 'NK' },
  ];
}

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

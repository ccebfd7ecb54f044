import { attention as attentionCpu } from '../../src/cpu/attention';
import { packWeightF16 } from '../../src/formats/f16';
import { type AttentionKernel, attention, attentionKernelName } from '../../src/kernels/attention';
import { type KernelCase, randn } from './harness';

// f32 dot products over HS <= 256, exp, and f32 running sums over up to 1000 keys. The f16 caches
// hold the same halves on both sides (the twin unpacks what the GPU unpacks), so f16 cases keep the
// f32 tolerance; a split run merges rescaled partials, a few more roundings of the same size.
const tol = { atol: 2e-5, rtol: 1e-4 };

interface Extra {
  scale?: number;
  kernel?: AttentionKernel;
  /** q is the front of fused qkv rows [q | k | v]: qStride = (NH + 2 NKV) * HS. */
  fused?: boolean;
  f16Cache?: boolean;
  softcap?: number;
  /** Sliding window of keys; cache rows before the first row's window hold NaN, so reading one shows. */
  window?: number;
  /** Also write the probabilities [NH, T, T] (pos 0). */
  probs?: boolean;
}

/**
 * Caches of pos + T + 3 rows: rows 0 .. pos + T - 1 hold keys and values, the rows after them NaN,
 * so reading past a row's causal limit (beyond the block) turns the output into NaN. A fused q's
 * k and v parts are NaN too, so a wrong stride shows.
 */
function attnCase(
  T: number,
  NH: number,
  NKV: number,
  HS: number,
  pos: number,
  seed: number,
  extra: Extra = {},
): KernelCase {
  const D = NKV * HS;
  const filled = pos + T;
  const maxCtx = filled + 3;
  const cache = (s: number) => {
    const c = new Float32Array(maxCtx * D).fill(Number.NaN);
    c.set(randn(filled * D, s));
    const W = extra.window ?? 0;
    if (W > 0 && pos + 1 > W) c.fill(Number.NaN, 0, (pos + 1 - W) * D);
    return extra.f16Cache ? packWeightF16(c, maxCtx, D) : c;
  };
  const qStride = extra.fused ? (NH + 2 * NKV) * HS : NH * HS;
  const q = new Float32Array(T * qStride).fill(Number.NaN);
  const qs = randn(T * NH * HS, seed);
  for (let t = 0; t < T; t++) q.set(qs.subarray(t * NH * HS, (t + 1) * NH * HS), t * qStride);
  const opts = {
    pos,
    scale: extra.scale,
    qStride,
    f16Cache: extra.f16Cache,
    kernel: extra.kernel,
    softcap: extra.softcap,
    window: extra.window,
  };
  const tags = [
    extra.kernel ? attentionKernelName(extra.kernel) : '',
    extra.f16Cache ? 'f16' : '',
    extra.fused ? `qStride=${qStride}` : '',
    extra.scale === undefined ? '' : `scale=${extra.scale}`,
    extra.softcap === undefined ? '' : `softcap=${extra.softcap}`,
    extra.window === undefined ? '' : `window=${extra.window}`,
    extra.probs ? 'probs' : '',
  ].filter(Boolean);
  const outputs: Record<string, Float32Array> = { out: new Float32Array(T * NH * HS) };
  if (extra.probs) outputs.probs = new Float32Array(NH * T * T).fill(7);
  return {
    name: `T=${T} NH=${NH} NKV=${NKV} HS=${HS} pos=${pos}${tags.map((t) => ` ${t}`).join('')}`,
    tol,
    inputs: { q, kCache: cache(seed + 1), vCache: cache(seed + 2) },
    outputs,
    cpu: (o, i) =>
      attentionCpu(
        o.out as Float32Array,
        i.q as Float32Array,
        i.kCache as Float32Array | Uint32Array,
        i.vCache as Float32Array | Uint32Array,
        T,
        NH,
        NKV,
        HS,
        { ...opts, probs: o.probs as Float32Array | undefined },
      ),
    gpu: (gpu, o, i) =>
      attention(gpu, o.out, i.q, i.kCache, i.vCache, T, NH, NKV, HS, { ...opts, probs: o.probs }),
  };
}

const split = (chunk: number, wg = 64): AttentionKernel => ({ method: 'online', wg, chunk });
const subgroup = (chunk?: number, wg = 4): AttentionKernel => ({ method: 'subgroup', wg, chunk });

export const variants = [
  ...[false, true].flatMap((F16) =>
    [false, true].flatMap((SPLIT) =>
      [false, true].map((SUBGROUP) => ({ F16, SPLIT, SUBGROUP, PROBS: false })),
    ),
  ),
  ...[false, true].flatMap((F16) =>
    [false, true].map((SUBGROUP) => ({ F16, SPLIT: false, SUBGROUP, PROBS: true })),
  ),
];

export const cases: KernelCase[] = [
  // Decode (T = 1).
  attnCase(1, 3, 3, 16, 0, 1),
  attnCase(1, 4, 2, 64, 200, 2),
  attnCase(1, 8, 1, 100, 200, 3),
  attnCase(1, 3, 3, 256, 200, 4),
  attnCase(1, 1, 1, 1, 17, 5),
  // A long context: 16 chunks of keys.
  attnCase(1, 4, 1, 64, 999, 6),
  // Prefill (blocks of T rows, causal within the block).
  attnCase(17, 3, 3, 16, 0, 7),
  attnCase(17, 4, 2, 64, 5, 8),
  attnCase(17, 8, 1, 100, 0, 9),
  attnCase(3, 4, 2, 3, 5, 10),
  attnCase(17, 4, 2, 128, 5, 11),
  attnCase(3, 2, 1, 256, 65, 12),
  attnCase(3, 3, 3, 172, 60, 13),
  // Peaked softmax: a large scale makes one key dominate (exercises the running-max rescaling).
  attnCase(17, 4, 2, 65, 50, 14, { scale: 2 }),
  // q read out of fused qkv rows.
  attnCase(1, 4, 2, 64, 200, 15, { fused: true }),
  attnCase(17, 3, 1, 17, 5, 16, { fused: true }),
  // Packed f16 caches (odd NKV * HS pads the last word of each row).
  attnCase(1, 4, 2, 64, 200, 17, { f16Cache: true }),
  attnCase(3, 3, 3, 17, 60, 18, { f16Cache: true, fused: true }),
  attnCase(17, 4, 2, 65, 50, 19, { f16Cache: true, scale: 2 }),
  // Flash-decoding: chunks of keys, then the merge; the last chunk is partial, and in a block of
  // rows the early rows have fewer chunks than the grid.
  attnCase(1, 4, 2, 64, 200, 20, { kernel: split(64) }),
  attnCase(1, 4, 1, 64, 999, 21, { kernel: split(256) }),
  attnCase(1, 3, 3, 256, 200, 22, { kernel: split(7, 32) }),
  attnCase(1, 1, 1, 1, 17, 23, { kernel: split(1) }),
  attnCase(17, 4, 2, 65, 50, 24, { kernel: split(16), scale: 2 }),
  attnCase(3, 3, 3, 17, 60, 25, { kernel: split(32), f16Cache: true, fused: true }),
  // The barrier-free subgroup kernel (subgroupAdd; WG 4 fits every subgroup size), plain and split.
  attnCase(1, 4, 2, 64, 200, 26, { kernel: subgroup() }),
  attnCase(1, 3, 3, 256, 200, 27, { kernel: subgroup() }),
  attnCase(1, 1, 1, 1, 17, 28, { kernel: subgroup(undefined, 1) }),
  attnCase(17, 4, 2, 65, 50, 29, { kernel: subgroup(), scale: 2 }),
  attnCase(3, 3, 1, 17, 60, 30, { kernel: subgroup(), f16Cache: true, fused: true }),
  attnCase(1, 4, 1, 64, 999, 31, { kernel: subgroup(256) }),
  attnCase(17, 4, 2, 100, 5, 32, { kernel: subgroup(7), f16Cache: true }),
  // Gemma 2: soft-capped scores (a large scale makes the cap bite), every kernel kind.
  attnCase(17, 4, 2, 16, 5, 32, { scale: 3, softcap: 2 }),
  attnCase(1, 4, 2, 64, 200, 33, { softcap: 1.5, scale: 1, kernel: split(64) }),
  attnCase(3, 3, 1, 17, 60, 34, { softcap: 3, scale: 2, kernel: subgroup() }),
  // Sliding windows: keys before the window are NaN and must not be read; in a block, each row's
  // window starts elsewhere; split chunks wholly before the window are skipped by the merge.
  attnCase(17, 4, 2, 16, 0, 35, { window: 5 }),
  attnCase(17, 3, 1, 24, 40, 36, { window: 7 }),
  attnCase(1, 4, 2, 64, 200, 37, { window: 50, kernel: split(16) }),
  attnCase(5, 4, 2, 20, 100, 38, { window: 33, kernel: split(8), f16Cache: true }),
  attnCase(3, 3, 1, 17, 60, 39, { window: 9, kernel: subgroup(), softcap: 2 }),
  attnCase(1, 2, 2, 16, 200, 40, { window: 1 }),
  // Probabilities for inspect (pos 0): the whole [NH, T, T] is written, zeros above the diagonal.
  attnCase(17, 4, 2, 16, 0, 41, { probs: true }),
  attnCase(9, 3, 1, 24, 0, 42, { probs: true, window: 4, softcap: 2, scale: 2 }),
  attnCase(5, 2, 2, 17, 0, 43, { probs: true, f16Cache: true, fused: true }),
  attnCase(1, 2, 1, 8, 0, 44, { probs: true }),
  attnCase(17, 4, 2, 16, 0, 45, { probs: true, kernel: subgroup() }),
  attnCase(9, 3, 1, 24, 0, 46, { probs: true, window: 4, softcap: 2, kernel: subgroup() }),
];

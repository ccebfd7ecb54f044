import { attention as attentionCpu } from '../../src/cpu/attention';
import { attention } from '../../src/kernels/attention';
import { type KernelCase, randn } from './harness';

// f32 dot products over HS <= 256, exp, and f32 running sums over up to 1000 keys.
const tol = { atol: 2e-5, rtol: 1e-4 };

/**
 * Caches of pos + T + 3 rows: rows 0 .. pos + T - 1 hold keys and values, the rows after them NaN,
 * so reading past a row's causal limit (beyond the block) turns the output into NaN.
 */
function attnCase(
  T: number,
  NH: number,
  NKV: number,
  HS: number,
  pos: number,
  seed: number,
  scale?: number,
): KernelCase {
  const D = NKV * HS;
  const filled = pos + T;
  const maxCtx = filled + 3;
  const kCache = new Float32Array(maxCtx * D).fill(Number.NaN);
  const vCache = new Float32Array(maxCtx * D).fill(Number.NaN);
  kCache.set(randn(filled * D, seed + 1));
  vCache.set(randn(filled * D, seed + 2));
  const opts = { pos, scale };
  return {
    name: `T=${T} NH=${NH} NKV=${NKV} HS=${HS} pos=${pos}${scale === undefined ? '' : ` scale=${scale}`}`,
    tol,
    inputs: { q: randn(T * NH * HS, seed), kCache, vCache },
    outputs: { out: new Float32Array(T * NH * HS) },
    cpu: (o, i) =>
      attentionCpu(
        o.out as Float32Array,
        i.q as Float32Array,
        i.kCache as Float32Array,
        i.vCache as Float32Array,
        T,
        NH,
        NKV,
        HS,
        opts,
      ),
    gpu: (gpu, o, i) => attention(gpu, o.out, i.q, i.kCache, i.vCache, T, NH, NKV, HS, opts),
  };
}

export const variants = [{}];

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
  attnCase(17, 4, 2, 65, 50, 14, 2),
];

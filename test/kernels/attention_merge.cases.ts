import { attention_merge as mergeCpu } from '../../src/cpu/attention_merge';
import { attention_merge } from '../../src/kernels/attention_merge';
import { type KernelCase, randn, rng } from './harness';

// exp of max-shifted partial maxima and a sum over a few chunks, in f32.
const tol = { atol: 1e-5, rtol: 1e-5 };

/**
 * Partials [T * NH, chunks, HS + 2] for chunks = ceil((pos + T) / chunk): maxima spread over +-20
 * (so the rescaling matters), sums in [1, chunk] (the max key alone gives 1), acc of the size of
 * l times a value. Slots past a row's causal end, or before its sliding window, are NaN: reading
 * them fails the case.
 */
function mergeCase(
  T: number,
  NH: number,
  HS: number,
  pos: number,
  chunk: number,
  seed: number,
  window = 0,
): KernelCase {
  const chunks = Math.ceil((pos + T) / chunk);
  const slot = HS + 2;
  const partials = new Float32Array(T * NH * chunks * slot).fill(Number.NaN);
  const r = rng(seed);
  const values = randn(T * NH * chunks * HS, seed + 1);
  for (let row = 0; row < T * NH; row++) {
    const L = pos + Math.floor(row / NH) + 1;
    const n = Math.ceil(L / chunk);
    const c0 = Math.floor((window > 0 && L > window ? L - window : 0) / chunk);
    for (let c = c0; c < n; c++) {
      const s = (row * chunks + c) * slot;
      const l = 1 + r() * (chunk - 1);
      partials[s] = (r() - 0.5) * 40;
      partials[s + 1] = l;
      for (let d = 0; d < HS; d++) partials[s + 2 + d] = l * values[(row * chunks + c) * HS + d];
    }
  }
  const opts = { pos, chunk, window };
  return {
    name: `T=${T} NH=${NH} HS=${HS} pos=${pos} chunk=${chunk} (${chunks} chunks)${window ? ` window=${window}` : ''}`,
    tol,
    inputs: { partials },
    outputs: { out: new Float32Array(T * NH * HS) },
    cpu: (o, i) => mergeCpu(o.out as Float32Array, i.partials as Float32Array, T, NH, HS, opts),
    gpu: (gpu, o, i) => attention_merge(gpu, o.out, i.partials, T, NH, HS, opts),
  };
}

export const variants = [{}];

export const cases: KernelCase[] = [
  mergeCase(1, 1, 1, 0, 1, 1),
  mergeCase(1, 4, 64, 200, 64, 2),
  mergeCase(1, 3, 256, 999, 64, 3),
  mergeCase(1, 12, 17, 1000, 1000, 4),
  mergeCase(17, 4, 65, 50, 16, 5),
  mergeCase(3, 3, 172, 60, 7, 6),
  mergeCase(1, 4, 64, 200, 16, 7, 50),
  mergeCase(17, 4, 65, 50, 8, 8, 20),
];

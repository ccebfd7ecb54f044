import { qk_norm as qkNormCpu } from '../../src/cpu/qk_norm';
import { qk_norm } from '../../src/kernels/qk_norm';
import { type KernelCase, randn } from './harness';

// A sum of HS squares in f32 and inverseSqrt: a few ulp.
const tol = { atol: 2e-6, rtol: 2e-5 };

/**
 * Fused rows [q (NQ heads) | k (NK) | v (NK)] when `fused`: v is compared too, so a norm that strays
 * into it fails. The two weights differ, so mixing them up fails.
 */
function qkCase(
  T: number,
  NQ: number,
  NK: number,
  HS: number,
  seed: number,
  fused = false,
  eps = 1e-6,
): KernelCase {
  const rowStride = fused ? (NQ + 2 * NK) * HS : (NQ + NK) * HS;
  const opts = { eps, rowStride };
  return {
    name: `T=${T} NQ=${NQ} NK=${NK} HS=${HS}${fused ? ' fused' : ''} eps=${eps}`,
    tol,
    inputs: { w: randn(2 * HS, seed + 1, 0.5).map((v) => 1 + v) },
    outputs: { x: randn(T * rowStride, seed, 3) },
    cpu: (o, i) => qkNormCpu(o.x as Float32Array, i.w as Float32Array, T, NQ, NK, HS, opts),
    gpu: (gpu, o, i) => qk_norm(gpu, o.x, i.w, T, NQ, NK, HS, opts),
  };
}

/** Created for T rows, then update({ T: T2 }): rows T2.. are left as they were. */
function shrink(T: number, T2: number, seed: number): KernelCase {
  const opts = { eps: 1e-6, rowStride: 4 * 16 };
  return {
    name: `update({ T: ${T2} }) after creation with T=${T}`,
    tol,
    inputs: { w: randn(32, seed + 1) },
    outputs: { x: randn(T * 64, seed) },
    cpu: (o, i) => qkNormCpu(o.x as Float32Array, i.w as Float32Array, T2, 2, 1, 16, opts),
    gpu: async (gpu, o, i) => (await qk_norm(gpu, o.x, i.w, T, 2, 1, 16, opts)).update({ T: T2 }),
  };
}

export const variants = [{}];

export const cases: KernelCase[] = [
  qkCase(1, 1, 1, 1, 1),
  qkCase(3, 4, 2, 16, 2),
  qkCase(17, 3, 1, 24, 3, true),
  qkCase(1, 8, 2, 128, 4, true),
  qkCase(5, 2, 2, 256, 5, true, 1e-5),
  // A tiny head: eps dominates.
  qkCase(2, 2, 1, 8, 6, false, 1),
  shrink(5, 2, 7),
];

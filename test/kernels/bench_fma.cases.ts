import { bench_fma as benchFmaCpu } from '../../src/cpu/bench_fma';
import { bench_fma } from '../../src/kernels/bench_fma';
import type { KernelCase } from './harness';

/** Chains converge to b / (1 - a); an ulp per step (unfused fma) stays an ulp or two at the end. */
const tol = { atol: 1e-5, rtol: 2e-6 };

function fma(N: number, iters: number, a: number, b: number): KernelCase {
  const opts = { iters, a, b };
  return {
    name: `N=${N} iters=${iters} a=${a} b=${b}`,
    tol,
    inputs: {},
    outputs: { out: new Float32Array(N) },
    cpu: (o) => benchFmaCpu(o.out as Float32Array, N, opts),
    gpu: (gpu, o) => bench_fma(gpu, o.out, N, opts),
  };
}

export const variants = [{}];

export const cases: KernelCase[] = [
  fma(1, 0, 0.5, 0.25),
  fma(3, 1, 0.9, 0.1),
  fma(17, 7, -0.75, 1),
  fma(65, 64, 0.999, 0.001),
  fma(1000, 100, 0.9, 0.1),
  fma(2049, 3, 0.5, -2),
];

import { bench_copy as benchCopyCpu } from '../../src/cpu/bench_copy';
import { bench_copy } from '../../src/kernels/bench_copy';
import { type KernelCase, randn } from './harness';

/** A copy is exact. N floats = 4 * (odd vec4 counts). */
function copy(N4: number, seed: number): KernelCase {
  const N = 4 * N4;
  return {
    name: `N=${N} (${N4} vec4)`,
    tol: { atol: 0, rtol: 0 },
    inputs: { x: randn(N, seed) },
    outputs: { out: new Float32Array(N) },
    cpu: (o, i) => benchCopyCpu(o.out as Float32Array, i.x as Float32Array, N),
    gpu: (gpu, o, i) => bench_copy(gpu, o.out, i.x, N),
  };
}

export const variants = [{}];

export const cases: KernelCase[] = [1, 3, 17, 65, 172, 1000, 70001].map((n, k) => copy(n, 10 * k));

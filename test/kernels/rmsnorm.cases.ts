import { rmsnorm as rmsnormCpu } from '../../src/cpu/rmsnorm';
import { rmsnorm } from '../../src/kernels/rmsnorm';
import { type KernelCase, randn } from './harness';

// f32 sum of squares over C <= 1000 and inverseSqrt: a few ulp relative.
const tol = { atol: 1e-6, rtol: 1e-5 };

function rmsCase(R: number, C: number, seed: number, eps = 1e-5, scale = 1): KernelCase {
  return {
    name: `R=${R} C=${C} eps=${eps} scale=${scale}`,
    tol,
    inputs: { x: randn(R * C, seed, scale), weight: randn(C, seed + 1) },
    outputs: { out: new Float32Array(R * C) },
    cpu: (o, i) =>
      rmsnormCpu(o.out as Float32Array, i.x as Float32Array, i.weight as Float32Array, R, C, { eps }),
    gpu: (gpu, o, i) => rmsnorm(gpu, o.out, i.x, i.weight, R, C, { eps }),
  };
}

export const variants = [{}];

export const cases: KernelCase[] = [
  rmsCase(1, 1, 1),
  rmsCase(3, 3, 2),
  rmsCase(17, 17, 3),
  rmsCase(3, 65, 4, 1e-6),
  rmsCase(17, 172, 5),
  rmsCase(3, 1000, 6, 1e-6, 100),
  rmsCase(1, 4099, 7),
  // eps dominates a tiny row.
  rmsCase(3, 172, 8, 1e-2, 1e-3),
];

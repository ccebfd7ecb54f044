import { layernorm as layernormCpu } from '../../src/cpu/layernorm';
import { layernorm } from '../../src/kernels/layernorm';
import { type KernelCase, randn } from './harness';

// f32 sums over C <= 4099 and inverseSqrt: a few ulp relative to the normalised values.
const tol = { atol: 1e-5, rtol: 1e-5 };

function lnCase(R: number, C: number, seed: number, eps = 1e-5, scale = 1, offset = 0): KernelCase {
  const x = randn(R * C, seed, scale).map((v) => v + offset);
  return {
    name: `R=${R} C=${C} eps=${eps} scale=${scale} offset=${offset}`,
    tol,
    inputs: { x, weight: randn(C, seed + 1), bias: randn(C, seed + 2) },
    outputs: { out: new Float32Array(R * C) },
    cpu: (o, i) =>
      layernormCpu(
        o.out as Float32Array,
        i.x as Float32Array,
        i.weight as Float32Array,
        i.bias as Float32Array,
        R,
        C,
        { eps },
      ),
    gpu: (gpu, o, i) => layernorm(gpu, o.out, i.x, i.weight, i.bias, R, C, { eps }),
  };
}

export const variants = [{}];

export const cases: KernelCase[] = [
  // C = 1: the row is its mean, out = bias.
  lnCase(1, 1, 1),
  lnCase(3, 3, 2),
  lnCase(17, 17, 3),
  lnCase(3, 65, 4, 1e-6),
  lnCase(17, 172, 5),
  lnCase(3, 1000, 6, 1e-5, 50),
  lnCase(1, 4099, 7),
  // A large common offset: the centred second pass avoids E[x^2] - mean^2 cancellation.
  lnCase(3, 172, 8, 1e-5, 1, 1000),
];

import { type GeluOptions, gelu as geluCpu } from '../../src/cpu/gelu';
import { gelu } from '../../src/kernels/gelu';
import { type KernelCase, randn } from './harness';

// tanh/exp in f32 on the GPU and erfc's 1.2e-7 fractional error: a few ulp of the result.
const tol = { atol: 2e-7, rtol: 4e-6 };

function geluCase(N: number, seed: number, approximate: GeluOptions['approximate'], scale = 1): KernelCase {
  return {
    name: `${approximate} N=${N} scale=${scale}`,
    tol,
    inputs: { x: randn(N, seed, scale) },
    outputs: { out: new Float32Array(N) },
    cpu: (o, i) => geluCpu(o.out as Float32Array, i.x as Float32Array, N, { approximate }),
    gpu: (gpu, o, i) => gelu(gpu, o.out, i.x, N, { approximate }),
  };
}

/** Every region of erf: zero, tiny, the crossover points of the fit, both tails, huge values. */
function geluGrid(approximate: GeluOptions['approximate']): KernelCase {
  const xs: number[] = [0, 1e-30, -1e-30, 1e-6, -1e-6, 1e30, -1e30, 3e38, -3e38];
  for (let v = -12; v <= 12; v += 0.0625) xs.push(v);
  const x = new Float32Array(xs);
  const N = x.length;
  return {
    name: `${approximate} grid -12..12 and extremes`,
    tol,
    inputs: { x },
    outputs: { out: new Float32Array(N) },
    cpu: (o, i) => geluCpu(o.out as Float32Array, i.x as Float32Array, N, { approximate }),
    gpu: (gpu, o, i) => gelu(gpu, o.out, i.x, N, { approximate }),
  };
}

export const variants = [{ TANH: true }, { TANH: false }];

export const cases: KernelCase[] = (['tanh', 'none'] as const).flatMap((a, v) => [
  ...[1, 3, 17, 65, 172, 1000, 4099].map((N, k) => geluCase(N, 10 * k + v, a)),
  geluCase(1000, 77 + v, a, 4),
  geluGrid(a),
]);

import { softmax as softmaxCpu } from '../../src/cpu/softmax';
import { softmax } from '../../src/kernels/softmax';
import { type KernelCase, randn } from './harness';

// exp in f32 and an f32 sum over up to 50257 terms: relative error of a few 1e-6.
const tol = { atol: 1e-9, rtol: 1e-5 };

function softmaxCase(R: number, N: number, seed: number, temperature = 1, scale = 3): KernelCase {
  return {
    name: `R=${R} N=${N} T=${temperature} scale=${scale}`,
    tol,
    inputs: { x: randn(R * N, seed, scale) },
    outputs: { out: new Float32Array(R * N) },
    cpu: (o, i) => softmaxCpu(o.out as Float32Array, i.x as Float32Array, R, N, { temperature }),
    gpu: (gpu, o, i) => softmax(gpu, o.out, i.x, R, N, { temperature }),
  };
}

export const variants = [{}];

export const cases: KernelCase[] = [
  softmaxCase(1, 1, 1),
  softmaxCase(3, 3, 2),
  softmaxCase(17, 17, 3, 0.5),
  softmaxCase(3, 65, 4),
  softmaxCase(17, 172, 5, 2),
  softmaxCase(3, 1000, 6, 0.7),
  // Large logits: only the max subtraction keeps exp finite.
  softmaxCase(3, 1000, 7, 1, 100),
  // A small temperature sharpens to nearly one-hot.
  softmaxCase(1, 172, 8, 0.05),
  // A GPT-2 vocabulary row.
  softmaxCase(1, 50257, 9, 0.8),
];

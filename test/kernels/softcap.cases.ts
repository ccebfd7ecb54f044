import { softcap as softcapCpu } from '../../src/cpu/softcap';
import { softcap } from '../../src/kernels/softcap';
import { type KernelCase, randn } from './harness';

function capCase(N: number, cap: number, seed: number, scale: number): KernelCase {
  return {
    name: `N=${N} cap=${cap} scale=${scale}`,
    // tanh through exp in f32: a few 1e-8 absolute, times the cap.
    tol: { atol: 2e-7 * cap, rtol: 2e-6 },
    inputs: {},
    outputs: { x: randn(N, seed, scale) },
    cpu: (o) => softcapCpu(o.x as Float32Array, N, cap),
    gpu: (gpu, o) => softcap(gpu, o.x, N, cap),
  };
}

/** Zero, tiny, saturated and huge values of both signs. */
function extremes(cap: number): KernelCase {
  const x = new Float32Array([0, 1e-30, -1e-30, 1e-4, -1e-4, 0.5, -0.5, 30, -30, 1e6, -1e6, 3e38, -3e38]);
  return {
    name: `extremes cap=${cap}`,
    tol: { atol: 2e-7 * cap, rtol: 2e-6 },
    inputs: {},
    outputs: { x },
    cpu: (o) => softcapCpu(o.x as Float32Array, x.length, cap),
    gpu: (gpu, o) => softcap(gpu, o.x, x.length, cap),
  };
}

export const variants = [{}];

export const cases: KernelCase[] = [
  capCase(1, 30, 1, 10),
  capCase(67, 5, 2, 8),
  capCase(1000, 30, 3, 40),
  capCase(4099, 50, 4, 100),
  extremes(30),
  extremes(0.5),
];

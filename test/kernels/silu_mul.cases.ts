import { silu_mul as siluMulCpu } from '../../src/cpu/silu_mul';
import { silu_mul } from '../../src/kernels/silu_mul';
import { type KernelCase, randn } from './harness';

// exp in f32 on the GPU: a few ulp.
const tol = { atol: 1e-6, rtol: 2e-6 };

function siluMul(N: number, seed: number, scale = 1): KernelCase {
  return {
    name: `N=${N} scale=${scale}`,
    tol,
    inputs: { gate: randn(N, seed, scale), up: randn(N, seed + 1) },
    outputs: { out: new Float32Array(N) },
    cpu: (o, i) => siluMulCpu(o.out as Float32Array, i.gate as Float32Array, i.up as Float32Array, N),
    gpu: (gpu, o, i) => silu_mul(gpu, o.out, i.gate, i.up, N),
  };
}

/** Extreme gates: exp(-g) overflows f32 below g = -88. */
function siluExtremes(): KernelCase {
  const gate = new Float32Array([
    0, -1e-30, 1e-30, -80, -81, -88, -89, -100, -1e30, -3e38, 80, 100, 1e30, 3e38,
  ]);
  const N = gate.length;
  const up = new Float32Array(N).fill(0.5);
  return {
    name: 'extreme gates',
    tol,
    inputs: { gate, up },
    outputs: { out: new Float32Array(N) },
    cpu: (o, i) => siluMulCpu(o.out as Float32Array, i.gate as Float32Array, i.up as Float32Array, N),
    gpu: (gpu, o, i) => silu_mul(gpu, o.out, i.gate, i.up, N),
  };
}

export const variants = [{}];

export const cases: KernelCase[] = [
  ...[1, 3, 17, 65, 172, 1000, 4099].map((N, k) => siluMul(N, 10 * k)),
  // Gates far into both tails: sigmoid saturates to 0 and 1.
  siluMul(1000, 99, 30),
  siluExtremes(),
];

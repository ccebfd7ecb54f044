import { residual as residualCpu } from '../../src/cpu/residual';
import { residual } from '../../src/kernels/residual';
import { type KernelCase, randn } from './harness';

const tol = { atol: 1e-6, rtol: 1e-6 };

function outOfPlace(N: number, seed: number): KernelCase {
  return {
    name: `out-of-place N=${N}`,
    tol,
    inputs: { a: randn(N, seed), b: randn(N, seed + 1) },
    outputs: { out: new Float32Array(N) },
    cpu: (o, i) => residualCpu(o.out as Float32Array, i.a as Float32Array, i.b as Float32Array, N),
    gpu: (gpu, o, i) => residual(gpu, o.out, i.a, i.b, N),
  };
}

function inPlace(N: number, seed: number): KernelCase {
  return {
    name: `in-place N=${N}`,
    tol,
    inputs: { b: randn(N, seed + 1) },
    outputs: { a: randn(N, seed) },
    cpu: (o, i) => residualCpu(o.a as Float32Array, o.a as Float32Array, i.b as Float32Array, N),
    gpu: (gpu, o, i) => residual(gpu, o.a, o.a, i.b, N),
  };
}

export const variants = [{ IN_PLACE: false }, { IN_PLACE: true }];

export const cases: KernelCase[] = [1, 3, 17, 65, 172, 1000, 4099].flatMap((N, k) => [
  outOfPlace(N, 10 * k),
  inPlace(N, 10 * k + 5),
]);

import { argmax as argmaxCpu } from '../../src/cpu/argmax';
import { argmax } from '../../src/kernels/argmax';
import { type KernelCase, randn, rng } from './harness';

const tol = { atol: 0, rtol: 0 };

/** R rows of N seeded logits, with `edit` applied (ties, NaN, negative rows...). */
function rows(
  name: string,
  R: number,
  N: number,
  seed: number,
  edit?: (x: Float32Array) => void,
): KernelCase {
  const x = randn(R * N, seed, 3);
  edit?.(x);
  return {
    name: `${name} R=${R} N=${N}`,
    tol,
    exact: true,
    inputs: { x },
    outputs: { out: new Uint32Array(R) },
    cpu: (o, i) => argmaxCpu(o.out as Uint32Array, i.x as Float32Array, R, N),
    gpu: (gpu, o, i) => argmax(gpu, o.out, i.x, R, N),
  };
}

/** Each row's maximum copied to a few later and earlier positions: the first must win. */
function ties(R: number, N: number) {
  return (x: Float32Array) => {
    const r = rng(R * N);
    for (let row = 0; row < R; row++) {
      const v = 50 + (row % 2);
      for (let k = 0; k < 4; k++) x[row * N + Math.floor(r() * N)] = v;
    }
  };
}

export const variants = [{}];

export const cases: KernelCase[] = [
  rows('random', 1, 1, 1),
  rows('random', 5, 3, 2),
  rows('random', 17, 1000, 3),
  rows('random', 3, 50257, 4),
  rows('ties', 7, 1000, 5, ties(7, 1000)),
  rows('ties', 2, 50257, 6, ties(2, 50257)),
  rows('all equal', 3, 65, 7, (x) => x.fill(-1.5)),
  rows('negative', 4, 1000, 8, (x) => {
    for (let i = 0; i < x.length; i++) x[i] = -Math.abs(x[i]) - 100;
  }),
  rows('with NaN and -inf', 4, 172, 9, (x) => {
    x[0] = Number.NaN;
    x[5] = Number.NaN;
    x[172] = Number.NEGATIVE_INFINITY;
    x[172 * 2 + 100] = Number.POSITIVE_INFINITY;
    x.fill(Number.NaN, 172 * 3, 172 * 4 - 1);
  }),
  rows('all NaN', 2, 17, 10, (x) => x.fill(Number.NaN)),
  {
    ...rows('update shrinks R', 9, 300, 11),
    name: 'update shrinks R from 9 to 4',
    outputs: { out: new Uint32Array(9) },
    cpu: (o, i) => argmaxCpu(o.out as Uint32Array, i.x as Float32Array, 4, 300),
    gpu: async (gpu, o, i) => (await argmax(gpu, o.out, i.x, 9, 300)).update({ R: 4 }),
  },
];

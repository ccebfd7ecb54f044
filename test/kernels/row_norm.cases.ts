import { row_norm as rowNormCpu } from '../../src/cpu/row_norm';
import { row_norm } from '../../src/kernels/row_norm';
import { type KernelCase, randn } from './harness';

// f32 sum of squares over C <= 4099 and sqrt: a few ulp relative.
const tol = { atol: 1e-6, rtol: 1e-5 };

function normCase(R: number, C: number, seed: number, scale = 1, WG?: number): KernelCase {
  return {
    name: `R=${R} C=${C} scale=${scale}${WG ? ` WG=${WG}` : ''}`,
    tol,
    inputs: { x: randn(R * C, seed, scale) },
    outputs: { out: new Float32Array(R) },
    cpu: (o, i) => rowNormCpu(o.out as Float32Array, i.x as Float32Array, R, C),
    gpu: (gpu, o, i) => row_norm(gpu, o.out, i.x, R, C, { WG }),
  };
}

export const variants = [{}];

export const cases: KernelCase[] = [
  normCase(1, 1, 1),
  normCase(3, 3, 2),
  normCase(17, 17, 3),
  normCase(65, 65, 4, 1e-3),
  normCase(172, 48, 5),
  normCase(1000, 172, 6, 100),
  normCase(3, 4099, 7, 1, 256),
  normCase(17, 1000, 8, 1, 1),
  {
    ...normCase(9, 64, 9),
    name: 'zero rows have norm 0',
    inputs: { x: new Float32Array(9 * 64) },
  },
  {
    ...normCase(9, 100, 10),
    name: 'update shrinks R from 9 to 4: rows past R untouched',
    cpu: (o, i) => rowNormCpu(o.out as Float32Array, i.x as Float32Array, 4, 100),
    gpu: async (gpu, o, i) => (await row_norm(gpu, o.out, i.x, 9, 100)).update({ R: 4 }),
  },
];

import { type GluOptions, glu as gluCpu } from '../../src/cpu/glu';
import { glu } from '../../src/kernels/glu';
import { type KernelCase, randn } from './harness';

// exp in f32 on the GPU: a few ulp.
const tol = { atol: 1e-6, rtol: 2e-6 };

function gluCase(R: number, F: number, seed: number, activation: Act, scale = 1): KernelCase {
  const gateUp = randn(R * 2 * F, seed, scale);
  // The up halves at unit scale, whatever the gate scale.
  for (let r = 0; r < R; r++) gateUp.set(randn(F, seed + 1 + r), r * 2 * F + F);
  return {
    name: `${activation} R=${R} F=${F} scale=${scale}`,
    tol,
    inputs: { gateUp },
    outputs: { out: new Float32Array(R * F) },
    cpu: (o, i) => gluCpu(o.out as Float32Array, i.gateUp as Float32Array, R, F, { activation }),
    gpu: (gpu, o, i) => glu(gpu, o.out, i.gateUp, R, F, { activation }),
  };
}

type Act = NonNullable<GluOptions['activation']>;

/** Extreme gates: exp(-g) overflows f32 below g = -88. */
function extremes(activation: Act): KernelCase {
  const gate = [0, -1e-30, 1e-30, -80, -81, -88, -89, -100, -1e30, -3e38, 80, 100, 1e30, 3e38];
  const F = gate.length;
  const gateUp = new Float32Array([...gate, ...new Array(F).fill(0.5)]);
  return {
    name: `${activation} extreme gates`,
    tol,
    inputs: { gateUp },
    outputs: { out: new Float32Array(F) },
    cpu: (o, i) => gluCpu(o.out as Float32Array, i.gateUp as Float32Array, 1, F, { activation }),
    gpu: (gpu, o, i) => glu(gpu, o.out, i.gateUp, 1, F, { activation }),
  };
}

/** Created for R rows, then update({ R: R2 }): rows R2.. keep their initial contents. */
function shrink(R: number, R2: number, F: number, seed: number): KernelCase {
  return {
    name: `update({ R: ${R2} }) after creation with R=${R} F=${F}`,
    tol,
    inputs: { gateUp: randn(R * 2 * F, seed) },
    outputs: { out: randn(R * F, seed + 1) },
    cpu: (o, i) => gluCpu(o.out as Float32Array, i.gateUp as Float32Array, R2, F),
    gpu: async (gpu, o, i) => (await glu(gpu, o.out, i.gateUp, R, F)).update({ R: R2 }),
  };
}

export const variants = [{ GELU_TANH: false }, { GELU_TANH: true }];

export const cases: KernelCase[] = [
  ...(['silu', 'gelu_tanh'] as const).flatMap((a, v) => [
    ...[
      [1, 1],
      [1, 3],
      [3, 17],
      [17, 65],
      [2, 172],
      [1, 1000],
      [3, 4099],
    ].map(([R, F], k) => gluCase(R, F, 10 * k + v, a)),
    // Gates far into both tails: the activation saturates to 0 and to g.
    gluCase(2, 1000, 99 + v, a, 30),
    extremes(a),
  ]),
  shrink(5, 2, 17, 7000),
];

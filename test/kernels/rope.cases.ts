import { type RopeScaling, ropeFrequencies } from '../../src/checkpoint/rope';
import { type RopeOptions, rope as ropeCpu } from '../../src/cpu/rope';
import { rope } from '../../src/kernels/rope';
import { type KernelCase, randn, type Tolerance } from './harness';

/**
 * The f32 angle p * inv_freq is off by a few 1e-7 * p radians (f32 rounding of inv_freq and of the
 * product; the twin is f64), which moves an output by up to |pair| times that: the tolerance grows
 * with the position and the largest input.
 */
function tolAt(maxPos: number, x: Float32Array): Tolerance {
  const maxAbs = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return { atol: 2e-6 + maxPos * 3e-7 * maxAbs, rtol: 2e-6 };
}

/**
 * x is [T, rowStride] (default NH * HS); with a larger stride the floats after the NH heads of each
 * row (v of a fused qkv row) are compared too, so a rotation that strays into them fails.
 */
function ropeCase(
  T: number,
  NH: number,
  HS: number,
  opts: RopeOptions & { theta: number; scaling?: RopeScaling },
  seed: number,
): KernelCase {
  const stride = opts.rowStride ?? NH * HS;
  const x = randn(T * stride, seed);
  const rotaryDim = opts.rotaryDim ?? HS;
  const invFreq = ropeFrequencies({
    theta: opts.theta,
    layout: opts.layout,
    rotaryDim,
    scaling: opts.scaling,
  });
  return {
    name: `${opts.layout} T=${T} NH=${NH} HS=${HS} rd=${rotaryDim} pos=${opts.pos} theta=${opts.theta}${opts.rowStride === undefined ? '' : ` rowStride=${stride}`}${opts.scaling ? ` ${opts.scaling.type}` : ''}`,
    tol: tolAt(opts.pos + T, x),
    inputs: { invFreq },
    outputs: { x },
    cpu: (o, i) => ropeCpu(o.x as Float32Array, i.invFreq as Float32Array, T, NH, HS, opts),
    gpu: (gpu, o, i) => rope(gpu, o.x, i.invFreq, T, NH, HS, opts),
  };
}

const LLAMA3: RopeScaling = {
  type: 'llama3',
  factor: 8,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalContext: 64,
};

export const variants = [{ PAIRS: false }, { PAIRS: true }];

export const cases: KernelCase[] = (['half', 'pairs'] as const).flatMap((layout, v) => [
  ropeCase(1, 1, 2, { pos: 0, theta: 10000, layout }, 1 + v),
  ropeCase(3, 3, 16, { pos: 0, theta: 10000, layout }, 2 + v),
  ropeCase(17, 4, 64, { pos: 5, theta: 10000, layout }, 3 + v),
  ropeCase(1, 3, 100, { pos: 200, theta: 10000, layout }, 4 + v),
  ropeCase(3, 2, 128, { pos: 1000, theta: 500000, layout }, 5 + v),
  ropeCase(17, 2, 256, { pos: 3, theta: 10000, layout }, 6 + v),
  // Partial rotary: only the first rotaryDim dimensions of each head turn.
  ropeCase(3, 3, 64, { pos: 17, theta: 10000, layout, rotaryDim: 32 }, 7 + v),
  ropeCase(3, 2, 80, { pos: 9, theta: 10000, layout, rotaryDim: 20 }, 8 + v),
  // Long contexts: the f32 angle is the limit.
  ropeCase(1, 4, 64, { pos: 4000, theta: 10000, layout }, 9 + v),
  ropeCase(2, 2, 128, { pos: 16000, theta: 1000000, layout }, 10 + v),
  // Fused qkv rows [q (NHQ heads) | k (NKV) | v (NKV)]: q and k turn in one dispatch, v stays.
  ropeCase(3, 4 + 2, 64, { pos: 7, theta: 10000, layout, rowStride: (4 + 2 * 2) * 64 }, 11 + v),
  ropeCase(
    17,
    3 + 1,
    16,
    { pos: 0, theta: 10000, layout, rowStride: (3 + 2 * 1) * 16, rotaryDim: 8 },
    12 + v,
  ),
  ropeCase(1, 1 + 1, 100, { pos: 65, theta: 10000, layout, rowStride: (1 + 2 * 1) * 100 }, 13 + v),
  // Scaled frequencies (the kernel only reads the table; these check the table reaches it).
  ropeCase(5, 2, 32, { pos: 300, theta: 500000, layout, scaling: LLAMA3 }, 14 + v),
  ropeCase(3, 2, 16, { pos: 40, theta: 10000, layout, scaling: { type: 'linear', factor: 4 } }, 15 + v),
]);

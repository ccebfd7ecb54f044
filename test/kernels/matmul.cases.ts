import { packWeightF16 } from '../../src/cpu/f16';
import { matmul as matmulCpu } from '../../src/cpu/matmul';
import { matmul } from '../../src/kernels/matmul';
import { type KernelCase, randn } from './harness';

type Layout = 'NK' | 'KN';

/**
 * |gpu - ref| <= atol + rtol*|ref| with f32 accumulation over K terms of size ~1: the error grows
 * like sqrt(K). F16 weights do not loosen it: the CPU twin decodes the same packed halves.
 */
const tolFor = (K: number) => ({ atol: 2e-5 * Math.sqrt(K), rtol: 1e-5 });

/** A weight W(n, k) stored as `layout`, f32 or packed f16 (rows padded to whole u32s). */
function weight(
  K: number,
  N: number,
  layout: Layout,
  f16: boolean,
  seed: number,
): Float32Array | Uint32Array {
  const [rows, cols] = layout === 'NK' ? [N, K] : [K, N];
  const w = randn(rows * cols, seed, 0.5);
  return f16 ? packWeightF16(w, rows, cols) : w;
}

interface Shape {
  M: number;
  K: number;
  N: number;
}

function linear(
  { M, K, N }: Shape,
  wLayout: Layout,
  f16: boolean,
  hasBias: boolean,
  decode: boolean,
  seed: number,
): KernelCase {
  const inputs: KernelCase['inputs'] = { x: randn(M * K, seed), w: weight(K, N, wLayout, f16, seed + 1) };
  if (hasBias) inputs.bias = randn(N, seed + 2);
  const opts = { wLayout, f16 };
  return {
    name: `${decode ? 'decode' : 'prefill'} ${wLayout}${f16 ? ' f16' : ''}${hasBias ? ' bias' : ''} M=${M} K=${K} N=${N}`,
    tol: tolFor(K),
    inputs,
    outputs: { out: new Float32Array(M * N) },
    cpu: (o, i) =>
      matmulCpu(
        o.out as Float32Array,
        i.x as Float32Array,
        i.w as Float32Array | Uint32Array,
        (i.bias as Float32Array) ?? null,
        M,
        K,
        N,
        opts,
      ),
    gpu: (gpu, o, i) => matmul(gpu, o.out, i.x, i.w, i.bias ?? null, M, K, N, { ...opts, decode }),
  };
}

/**
 * A weight split into two column blocks (N1 and N2 outputs) written into one output of row stride
 * N1 + N2 + 3; the 3 spare columns keep their initial contents.
 */
function columnBlocks(
  M: number,
  K: number,
  N1: number,
  N2: number,
  decode: boolean,
  seed: number,
): KernelCase {
  const outStride = N1 + N2 + 3;
  const wLayout: Layout = 'NK';
  const blocks = [
    { N: N1, opts: { wLayout, f16: true, outStride, outOffset: 0 } },
    { N: N2, opts: { wLayout, f16: true, outStride, outOffset: N1 } },
  ];
  return {
    name: `${decode ? 'decode' : 'prefill'} two column blocks M=${M} K=${K} N=${N1}+${N2} outStride=${outStride}`,
    tol: tolFor(K),
    inputs: {
      x: randn(M * K, seed),
      w1: weight(K, N1, wLayout, true, seed + 1),
      w2: weight(K, N2, wLayout, true, seed + 2),
      b1: randn(N1, seed + 3),
      b2: randn(N2, seed + 4),
    },
    outputs: { out: randn(M * outStride, seed + 5) },
    cpu: (o, i) => {
      const [a, b] = blocks;
      const x = i.x as Float32Array;
      const out = o.out as Float32Array;
      matmulCpu(out, x, i.w1 as Uint32Array, i.b1 as Float32Array, M, K, a.N, a.opts);
      matmulCpu(out, x, i.w2 as Uint32Array, i.b2 as Float32Array, M, K, b.N, b.opts);
    },
    gpu: async (gpu, o, i) => [
      await matmul(gpu, o.out, i.x, i.w1, i.b1, M, K, N1, { ...blocks[0].opts, decode }),
      await matmul(gpu, o.out, i.x, i.w2, i.b2, M, K, N2, { ...blocks[1].opts, decode }),
    ],
  };
}

/** Created for M rows, then update({ M: M2 }): rows M2.. keep their initial contents. */
function shrink(M: number, M2: number, K: number, N: number, wLayout: Layout, decode: boolean, seed: number) {
  const opts = { wLayout, f16: false };
  return {
    name: `${decode ? 'decode' : 'prefill'} ${wLayout} update({ M: ${M2} }) after creation with M=${M} K=${K} N=${N}`,
    tol: tolFor(K),
    inputs: { x: randn(M * K, seed), w: weight(K, N, wLayout, false, seed + 1), bias: randn(N, seed + 2) },
    outputs: { out: randn(M * N, seed + 3) },
    cpu: (o, i) =>
      matmulCpu(
        o.out as Float32Array,
        i.x as Float32Array,
        i.w as Float32Array,
        i.bias as Float32Array,
        M2,
        K,
        N,
        opts,
      ),
    gpu: async (gpu, o, i) =>
      (await matmul(gpu, o.out, i.x, i.w, i.bias, M, K, N, { ...opts, decode })).update({ M: M2 }),
  } satisfies KernelCase;
}

const layouts: Layout[] = ['NK', 'KN'];
const bools = [false, true];

export const variants = layouts.flatMap((layout) =>
  bools.flatMap((F16) =>
    bools.flatMap((BIAS) => bools.map((DECODE) => ({ W_KN: layout === 'KN', F16, BIAS, DECODE }))),
  ),
);

/** Odd shapes; each variant runs three of them, rotating through the list. */
const prefillShapes: Shape[] = [
  { M: 1, K: 1, N: 1 },
  { M: 3, K: 3, N: 3 },
  { M: 17, K: 17, N: 65 },
  { M: 65, K: 172, N: 3 },
  { M: 17, K: 3, N: 172 },
  { M: 65, K: 17, N: 172 },
];
const decodeShapes: Shape[] = [
  { M: 1, K: 1, N: 1 },
  { M: 1, K: 3, N: 3 },
  { M: 1, K: 172, N: 65 },
  { M: 3, K: 17, N: 172 },
  { M: 1, K: 65, N: 17 },
  { M: 1, K: 172, N: 172 },
];

let v = 0;
export const cases: KernelCase[] = [
  ...layouts.flatMap((layout) =>
    bools.flatMap((f16) =>
      bools.flatMap((hasBias) =>
        bools.flatMap((decode) => {
          const shapes = decode ? decodeShapes : prefillShapes;
          const picked = [0, 1, 2].map((j) => shapes[(Math.floor(v / 2) + 2 * j) % shapes.length]);
          v++;
          return picked.map((s, j) => linear(s, layout, f16, hasBias, decode, 100 * v + 10 * j));
        }),
      ),
    ),
  ),
  linear({ M: 1, K: 172, N: 1000 }, 'NK', true, true, true, 5000),
  linear({ M: 1, K: 1000, N: 65 }, 'KN', true, false, true, 5100),
  linear({ M: 17, K: 1000, N: 17 }, 'KN', false, true, false, 5200),
  columnBlocks(17, 65, 17, 3, false, 6000),
  columnBlocks(1, 65, 65, 17, true, 6100),
  shrink(17, 5, 65, 17, 'KN', false, 7000),
  shrink(3, 1, 65, 17, 'NK', true, 7100),
];

import { packWeightF16 } from '../../src/formats/f16';
import { matmul as matmulCpu } from '../../src/cpu/matmul';
import {
  defaultMatmulKernel,
  type MatmulKernel,
  matmul,
  matmulCandidates,
  matmulKernelName,
  parseMatmulKernelName,
} from '../../src/kernels/matmul';
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

interface Config {
  wLayout: Layout;
  f16: boolean;
  bias: boolean;
  accumulate: boolean;
}

const label = (k: MatmulKernel, c: Config) =>
  `${matmulKernelName(k)} ${c.wLayout}${c.f16 ? ' f16' : ''}${c.bias ? ' bias' : ''}${c.accumulate ? ' accumulate' : ''}`;

/** One matmul; out starts random, so a kernel that does not overwrite (or accumulate) shows. */
function linear({ M, K, N }: Shape, kernel: MatmulKernel, c: Config, seed: number): KernelCase {
  const inputs: KernelCase['inputs'] = { x: randn(M * K, seed), w: weight(K, N, c.wLayout, c.f16, seed + 1) };
  if (c.bias) inputs.bias = randn(N, seed + 2);
  const opts = { wLayout: c.wLayout, f16: c.f16, accumulate: c.accumulate };
  return {
    name: `${label(kernel, c)} M=${M} K=${K} N=${N}`,
    tol: tolFor(K),
    inputs,
    outputs: { out: randn(M * N, seed + 3) },
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
    gpu: (gpu, o, i) => matmul(gpu, o.out, i.x, i.w, i.bias ?? null, M, K, N, { ...opts, kernel }),
  };
}

/**
 * A weight split into two column blocks (N1 and N2 outputs) written into one output of row stride
 * N1 + N2 + 3; the 3 spare columns keep their initial contents.
 */
function columnBlocks(M: number, K: number, N1: number, N2: number, kernel: MatmulKernel, seed: number) {
  const outStride = N1 + N2 + 3;
  const base = { wLayout: 'NK' as const, f16: true, outStride };
  const blocks = [
    { N: N1, opts: { ...base, outOffset: 0 } },
    { N: N2, opts: { ...base, outOffset: N1, accumulate: true } },
  ];
  return {
    name: `${matmulKernelName(kernel)} two column blocks (the second accumulating) M=${M} K=${K} N=${N1}+${N2} outStride=${outStride}`,
    tol: tolFor(K),
    inputs: {
      x: randn(M * K, seed),
      w1: weight(K, N1, 'NK', true, seed + 1),
      w2: weight(K, N2, 'NK', true, seed + 2),
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
      await matmul(gpu, o.out, i.x, i.w1, i.b1, M, K, N1, { ...blocks[0].opts, kernel }),
      await matmul(gpu, o.out, i.x, i.w2, i.b2, M, K, N2, { ...blocks[1].opts, kernel }),
    ],
  } satisfies KernelCase;
}

/** Created for M rows, then update({ M: M2 }): rows M2.. keep their initial contents. */
function shrink(
  M: number,
  M2: number,
  K: number,
  N: number,
  wLayout: Layout,
  kernel: MatmulKernel,
  seed: number,
) {
  const opts = { wLayout, f16: false };
  return {
    name: `${matmulKernelName(kernel)} ${wLayout} update({ M: ${M2} }) after creation with M=${M} K=${K} N=${N}`,
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
      (await matmul(gpu, o.out, i.x, i.w, i.bias, M, K, N, { ...opts, kernel })).update({ M: M2 }),
  } satisfies KernelCase;
}

/**
 * Kernel names round-trip, every candidate is valid for its shape, and kernels that cannot run
 * throw an Error naming them; then an ordinary product so the harness has something to compare.
 */
function namesAndValidation(seed: number): KernelCase {
  const plain = linear(
    { M: 1, K: 3, N: 3 },
    { kind: 'gemv' },
    { wLayout: 'NK', f16: false, bias: false, accumulate: false },
    seed,
  );
  return {
    ...plain,
    name: 'kernel names round-trip, candidates are valid, bad kernels throw naming themselves',
    gpu: async (gpu, o, i) => {
      const fail = (what: string) => {
        throw new Error(what);
      };
      for (const M of [1, 3, 64]) {
        for (const [K, N] of [
          [768, 50257],
          [3072, 768],
          [17, 3],
        ]) {
          for (const wLayout of ['NK', 'KN'] as const) {
            const shape = { M, K, N, wLayout, f16: false };
            const list = matmulCandidates(gpu.features, shape);
            if (matmulKernelName(list[0]) !== matmulKernelName(defaultMatmulKernel(M)))
              fail('default not first');
            for (const k of list) {
              const name = matmulKernelName(k);
              const back = parseMatmulKernelName(name);
              if (!back || matmulKernelName(back) !== name) fail(`'${name}' does not round-trip`);
              if (k.vec4 && K % 4) fail(`'${name}' offered for K=${K}`);
            }
          }
        }
      }
      if (matmulKernelName(parseMatmulKernelName('gemv.r4.v4')!) !== 'gemv.wg64.r4.v4') fail('gemv.r4.v4');
      for (const bad of [
        '',
        'gemv.r4.r4',
        'tile.r2',
        'coop.s2',
        'gemv.r0',
        'warp.wg64',
        'gemv.v4.v4',
        'gemv.x',
      ]) {
        if (parseMatmulKernelName(bad)) fail(`'${bad}' parsed`);
      }
      const x = i.x;
      const w = i.w;
      const opts = { wLayout: 'NK' as const, f16: false };
      const invalid: [MatmulKernel, RegExp][] = [
        [{ kind: 'gemv', vec4: true }, /gemv.*K % 4/],
        [{ kind: 'gemv', R: 5 }, /gemv\.wg64\.r5.*R in 1\.\.4/],
        [{ kind: 'coop', WG: 48, TPR: 12 }, /coop.*power of two/],
        [{ kind: 'tile', WG: 100000 }, /tile\.wg100000.*WG/],
        [{ kind: 'splitk', S: 1 }, /splitk.*S in/],
      ];
      if (!gpu.features.subgroups) invalid.push([{ kind: 'subgroup' }, /subgroup.*'subgroups' feature/]);
      for (const [k, message] of invalid) {
        const error = await matmul(gpu, o.out, x, w, null, 1, 3, 3, { ...opts, kernel: k }).then(
          () => null,
          (e: Error) => e,
        );
        if (!error || !message.test(error.message))
          fail(`${JSON.stringify(k)}: ${error?.message ?? 'no error'}`);
      }
      return plain.gpu(gpu, o, i);
    },
  };
}

const layouts: Layout[] = ['NK', 'KN'];
const bools = [false, true];

/** One line per epilogue, rotated through the layout/storage combinations of each kind. */
const epilogues = [
  { BIAS: false, ACCUMULATE: false },
  { BIAS: true, ACCUMULATE: false },
  { BIAS: false, ACCUMULATE: true },
  { BIAS: true, ACCUMULATE: true },
];
const kinds = { TILE: false, GEMV: false, COOP: false, SUBGROUP: false, REDUCE: false, SPLITK: false };

/**
 * Every kind (TILE, GEMV, COOP, SUBGROUP, GEMV+SPLITK) over every layout, storage and VEC4, the
 * epilogue rotating; the split-K partial pass has no epilogue; REDUCE has only the epilogue.
 */
export const variants = [
  ...(['TILE', 'GEMV', 'COOP', 'SUBGROUP', 'SPLITK'] as const).flatMap((kind) =>
    layouts.flatMap((layout) =>
      bools.flatMap((F16) =>
        bools.map((VEC4) => {
          const e = epilogues[(Number(layout === 'KN') * 2 + Number(F16) + Number(VEC4)) % 4];
          const on = kind === 'SPLITK' ? { GEMV: true, SPLITK: true } : { [kind]: true };
          return {
            ...kinds,
            ...on,
            W_KN: layout === 'KN',
            F16,
            VEC4,
            ...(kind === 'SPLITK' ? { BIAS: false, ACCUMULATE: false } : e),
          };
        }),
      ),
    ),
  ),
  ...epilogues.map((e) => ({ ...kinds, REDUCE: true, W_KN: false, F16: false, VEC4: false, ...e })),
];

/** Kernels under test, with constants chosen to hit edges (R = 3, TPR = WG, partial subgroups...). */
const kernels: MatmulKernel[] = [
  { kind: 'tile' },
  { kind: 'tile', WG: 16, vec4: true },
  { kind: 'gemv', R: 1 },
  { kind: 'gemv', WG: 32, R: 3 },
  { kind: 'gemv', R: 4, vec4: true },
  { kind: 'gemv', WG: 16, R: 4 },
  { kind: 'coop' },
  { kind: 'coop', WG: 16, TPR: 16, vec4: true },
  { kind: 'coop', WG: 32, TPR: 1 },
  { kind: 'subgroup' },
  // 6 invocations: with subgroups of 4, one full subgroup and one of 2.
  { kind: 'subgroup', WG: 6, TPR: 2 },
  { kind: 'subgroup', WG: 32, TPR: 4, vec4: true },
  { kind: 'splitk', S: 3, R: 2 },
  // Slices of ceil(K/8) rounded up to 4: for small K the last slices are empty.
  { kind: 'splitk', WG: 32, S: 8, vec4: true },
];

/**
 * Odd shapes. Any four in a row (cyclically) hold a long K (every lane of a cooperative
 * kernel busy) and K % 4 == 2 and odd (every path of the tail); M is 1, 3 or 17.
 */
const shapes: Shape[] = [
  { M: 1, K: 1, N: 1 },
  { M: 3, K: 172, N: 17 },
  { M: 1, K: 66, N: 65 },
  { M: 3, K: 1000, N: 3 },
  { M: 1, K: 17, N: 172 },
  { M: 17, K: 258, N: 17 },
  { M: 1, K: 3, N: 1000 },
  { M: 3, K: 18, N: 65 },
];
/** For vec4 kernels: K % 4 == 0. */
const vec4Shapes: Shape[] = [
  { M: 1, K: 172, N: 65 },
  { M: 3, K: 1000, N: 17 },
  { M: 17, K: 172, N: 3 },
  { M: 1, K: 1000, N: 172 },
  { M: 3, K: 4, N: 1 },
];

/** Each kernel in both layouts and storages; shapes and epilogues rotate. */
export const cases: KernelCase[] = [
  ...kernels.flatMap((kernel, i) =>
    layouts.flatMap((wLayout, l) =>
      bools.map((f16, f) => {
        const j = 2 * l + f;
        const list = kernel.vec4 ? vec4Shapes : shapes;
        const s = list[(3 * i + j) % list.length];
        const e = (i + j) % 4;
        const c = { wLayout, f16, bias: e % 2 === 1, accumulate: e >= 2 };
        return linear(s, kernel, c, 1000 + 10 * (4 * i + j));
      }),
    ),
  ),
  linear(
    { M: 65, K: 172, N: 65 },
    { kind: 'tile' },
    { wLayout: 'KN', f16: true, bias: true, accumulate: false },
    5000,
  ),
  linear(
    { M: 5, K: 17, N: 3 },
    { kind: 'tile', vec4: false },
    { wLayout: 'NK', f16: false, bias: true, accumulate: true },
    5100,
  ),
  linear(
    { M: 1, K: 1000, N: 65 },
    defaultMatmulKernel(1),
    { wLayout: 'KN', f16: true, bias: true, accumulate: true },
    5200,
  ),
  columnBlocks(17, 65, 17, 3, { kind: 'tile' }, 6000),
  columnBlocks(1, 65, 65, 17, { kind: 'gemv', R: 2 }, 6100),
  columnBlocks(3, 68, 17, 65, { kind: 'splitk', S: 4, vec4: true }, 6200),
  columnBlocks(1, 65, 3, 17, { kind: 'subgroup', WG: 8, TPR: 2 }, 6300),
  shrink(17, 5, 65, 17, 'KN', { kind: 'tile' }, 7000),
  shrink(3, 1, 65, 17, 'NK', { kind: 'gemv', R: 2 }, 7100),
  shrink(5, 2, 172, 17, 'KN', { kind: 'splitk', S: 4 }, 7200),
  shrink(3, 2, 17, 65, 'NK', { kind: 'coop', WG: 64, TPR: 8 }, 7300),
  namesAndValidation(8000),
];

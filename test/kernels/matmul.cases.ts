import { matmul as matmulCpu } from '../../src/cpu/matmul';
import { packWeightF16 } from '../../src/formats/f16';
import { BLOCK, type GpuWeightFormat, QUANT_FORMATS, type QuantFormat } from '../../src/formats/formats';
import { randomBlocks } from '../../src/formats/quant';
import {
  defaultMatmulKernel,
  formatDefines,
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
 * like sqrt(K). F16 and quantized weights do not loosen it: the CPU twin decodes the same values.
 */
const tolFor = (K: number) => ({ atol: 2e-5 * Math.sqrt(K), rtol: 1e-5 });

/**
 * A weight W(n, k) stored as `layout` in `format`: f32, packed f16 (rows padded to whole u32s), or
 * random valid ggml blocks (NK only).
 */
function weight(
  K: number,
  N: number,
  layout: Layout,
  format: GpuWeightFormat,
  seed: number,
): Float32Array | Uint32Array {
  const [rows, cols] = layout === 'NK' ? [N, K] : [K, N];
  if (format !== 'f32' && format !== 'f16') return randomBlocks(format, rows, cols, seed);
  const w = randn(rows * cols, seed, 0.5);
  return format === 'f16' ? packWeightF16(w, rows, cols) : w;
}

interface Shape {
  M: number;
  K: number;
  N: number;
}

interface Config {
  wLayout: Layout;
  format: GpuWeightFormat;
  bias: boolean;
  accumulate: boolean;
}

const label = (k: MatmulKernel, c: Config) =>
  `${matmulKernelName(k)} ${c.wLayout}${c.format === 'f32' ? '' : ` ${c.format}`}${c.bias ? ' bias' : ''}${c.accumulate ? ' accumulate' : ''}`;

/** One matmul; out starts random, so a kernel that does not overwrite (or accumulate) shows. */
function linear({ M, K, N }: Shape, kernel: MatmulKernel, c: Config, seed: number): KernelCase {
  const inputs: KernelCase['inputs'] = {
    x: randn(M * K, seed),
    w: weight(K, N, c.wLayout, c.format, seed + 1),
  };
  if (c.bias) inputs.bias = randn(N, seed + 2);
  const opts = { wLayout: c.wLayout, format: c.format, accumulate: c.accumulate };
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
function columnBlocks(
  M: number,
  K: number,
  N1: number,
  N2: number,
  kernel: MatmulKernel,
  seed: number,
  format: GpuWeightFormat = 'f16',
) {
  const outStride = N1 + N2 + 3;
  const base = { wLayout: 'NK' as const, format, outStride };
  const blocks = [
    { N: N1, opts: { ...base, outOffset: 0 } },
    { N: N2, opts: { ...base, outOffset: N1, accumulate: true } },
  ];
  return {
    name: `${matmulKernelName(kernel)} ${format} two column blocks (the second accumulating) M=${M} K=${K} N=${N1}+${N2} outStride=${outStride}`,
    tol: tolFor(K),
    inputs: {
      x: randn(M * K, seed),
      w1: weight(K, N1, 'NK', format, seed + 1),
      w2: weight(K, N2, 'NK', format, seed + 2),
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
  const opts = { wLayout, format: 'f32' as const };
  return {
    name: `${matmulKernelName(kernel)} ${wLayout} update({ M: ${M2} }) after creation with M=${M} K=${K} N=${N}`,
    tol: tolFor(K),
    inputs: { x: randn(M * K, seed), w: weight(K, N, wLayout, 'f32', seed + 1), bias: randn(N, seed + 2) },
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
    { wLayout: 'NK', format: 'f32', bias: false, accumulate: false },
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
          for (const [wLayout, format] of [
            ['NK', 'f32'],
            ['KN', 'f16'],
            ['NK', 'q4_k'],
          ] as const) {
            if (K % BLOCK[format].elements) continue;
            const shape = { M, K, N, wLayout, format };
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
      const opts = { wLayout: 'NK' as const, format: 'f32' as const };
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
      // Quantized weights: 'NK' only, K whole blocks.
      const badFormats: [Layout, GpuWeightFormat, number, RegExp][] = [
        ['KN', 'q4_0', 32, /q4_0 weights must have layout 'NK'/],
        ['NK', 'q8_0', 3, /q8_0 weights need K a multiple of its block of 32 values, got K = 3/],
        ['NK', 'q6_k', 128, /q6_k weights need K a multiple of its block of 256/],
        ['NK', 'bf16' as GpuWeightFormat, 4, /'bf16' is not a GPU weight format/],
      ];
      for (const [wLayout, format, K, message] of badFormats) {
        const error = await matmul(gpu, o.out, x, w, null, 1, K, 1, { wLayout, format }).then(
          () => null,
          (e: Error) => e,
        );
        if (!error || !message.test(error.message)) fail(`${format}: ${error?.message ?? 'no error'}`);
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

const KINDS = ['TILE', 'GEMV', 'COOP', 'SUBGROUP', 'SPLITK'] as const;

/** One variant of a kind; the split-K partial pass has no epilogue. */
function variant(
  kind: (typeof KINDS)[number],
  W_KN: boolean,
  format: GpuWeightFormat,
  VEC4: boolean,
  e: number,
) {
  const on = kind === 'SPLITK' ? { GEMV: true, SPLITK: true } : { [kind]: true };
  return {
    ...kinds,
    ...on,
    W_KN,
    VEC4,
    ...formatDefines(format),
    ...(kind === 'SPLITK' ? { BIAS: false, ACCUMULATE: false } : epilogues[e % 4]),
  };
}

/**
 * Every kind (TILE, GEMV, COOP, SUBGROUP, GEMV+SPLITK) over every layout, f32/f16 storage and
 * VEC4, and over every quantized format (NK only) and VEC4, the epilogue rotating; REDUCE has only
 * the epilogue.
 */
export const variants = [
  ...KINDS.flatMap((kind) =>
    layouts.flatMap((layout) =>
      bools.flatMap((F16) =>
        bools.map((VEC4) =>
          variant(
            kind,
            layout === 'KN',
            F16 ? 'f16' : 'f32',
            VEC4,
            Number(layout === 'KN') * 2 + Number(F16) + Number(VEC4),
          ),
        ),
      ),
    ),
  ),
  ...KINDS.flatMap((kind) =>
    QUANT_FORMATS.flatMap((format, q) =>
      bools.map((VEC4) => variant(kind, false, format, VEC4, q + Number(VEC4))),
    ),
  ),
  ...epilogues.map((e) => ({
    ...kinds,
    REDUCE: true,
    W_KN: false,
    VEC4: false,
    ...formatDefines('f32'),
    ...e,
  })),
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

/** Kernels for quantized weights: every kind, vec4 and not, R = 3, split-K slices inside blocks. */
const quantKernels: MatmulKernel[] = [
  { kind: 'tile' },
  { kind: 'tile', WG: 16, vec4: true },
  { kind: 'gemv', R: 1 },
  { kind: 'gemv', WG: 32, R: 3, vec4: true },
  { kind: 'gemv', WG: 16, R: 4 },
  { kind: 'coop', WG: 64, TPR: 16, vec4: true },
  { kind: 'subgroup', WG: 6, TPR: 2 },
  // Slices of ceil(K/3) rounded up to 4 start and end inside blocks.
  { kind: 'splitk', S: 3, R: 2 },
];

/**
 * Shapes for quantized weights, K in blocks (2-7 blocks of 32, 1-3 super-blocks of 256, so
 * block order matters): odd N, M 1 and 5.
 */
const quantShapes: { M: number; blocks: number; N: number }[] = [
  { M: 1, blocks: 3, N: 17 },
  { M: 5, blocks: 2, N: 3 },
  { M: 1, blocks: 3, N: 65 },
  { M: 5, blocks: 1, N: 1 },
  { M: 1, blocks: 2, N: 3 },
  { M: 5, blocks: 3, N: 17 },
];

/** Each quantized format with every kernel of quantKernels; shapes and epilogues rotate. */
function quantCases(format: QuantFormat, q: number): KernelCase[] {
  const QK = BLOCK[format].elements;
  return quantKernels.map((kernel, i) => {
    const s = quantShapes[(i + q) % quantShapes.length];
    // 32-value blocks: 2, 5 or 7 blocks a row (odd counts put blocks at both word parities).
    const blocks = QK === 256 ? s.blocks : [2, 5, 7][s.blocks - 1];
    const e = (i + q) % 4;
    const c = { wLayout: 'NK' as const, format, bias: e % 2 === 1, accumulate: e >= 2 };
    return linear({ M: s.M, K: blocks * QK, N: s.N }, kernel, c, 9000 + 100 * q + 10 * i);
  });
}

/** Each kernel in both layouts and storages; shapes and epilogues rotate. */
export const cases: KernelCase[] = [
  ...kernels.flatMap((kernel, i) =>
    layouts.flatMap((wLayout, l) =>
      bools.map((f16, f) => {
        const j = 2 * l + f;
        const list = kernel.vec4 ? vec4Shapes : shapes;
        const s = list[(3 * i + j) % list.length];
        const e = (i + j) % 4;
        const c = {
          wLayout,
          format: f16 ? ('f16' as const) : ('f32' as const),
          bias: e % 2 === 1,
          accumulate: e >= 2,
        };
        return linear(s, kernel, c, 1000 + 10 * (4 * i + j));
      }),
    ),
  ),
  linear(
    { M: 65, K: 172, N: 65 },
    { kind: 'tile' },
    { wLayout: 'KN', format: 'f16', bias: true, accumulate: false },
    5000,
  ),
  linear(
    { M: 5, K: 17, N: 3 },
    { kind: 'tile', vec4: false },
    { wLayout: 'NK', format: 'f32', bias: true, accumulate: true },
    5100,
  ),
  linear(
    { M: 1, K: 1000, N: 65 },
    defaultMatmulKernel(1),
    { wLayout: 'KN', format: 'f16', bias: true, accumulate: true },
    5200,
  ),
  ...QUANT_FORMATS.flatMap(quantCases),
  // The default decode and prefill kernels on a k-quant with several super-blocks, prefill M = 17.
  linear(
    { M: 1, K: 768, N: 65 },
    defaultMatmulKernel(1),
    { wLayout: 'NK', format: 'q4_k', bias: true, accumulate: false },
    5300,
  ),
  linear(
    { M: 17, K: 512, N: 17 },
    defaultMatmulKernel(17),
    { wLayout: 'NK', format: 'q6_k', bias: false, accumulate: true },
    5400,
  ),
  columnBlocks(17, 65, 17, 3, { kind: 'tile' }, 6000),
  columnBlocks(1, 65, 65, 17, { kind: 'gemv', R: 2 }, 6100),
  columnBlocks(3, 68, 17, 65, { kind: 'splitk', S: 4, vec4: true }, 6200),
  columnBlocks(1, 65, 3, 17, { kind: 'subgroup', WG: 8, TPR: 2 }, 6300),
  columnBlocks(3, 96, 17, 3, { kind: 'gemv', R: 4, vec4: true }, 6400, 'q5_1'),
  shrink(17, 5, 65, 17, 'KN', { kind: 'tile' }, 7000),
  shrink(3, 1, 65, 17, 'NK', { kind: 'gemv', R: 2 }, 7100),
  shrink(5, 2, 172, 17, 'KN', { kind: 'splitk', S: 4 }, 7200),
  shrink(3, 2, 17, 65, 'NK', { kind: 'coop', WG: 64, TPR: 8 }, 7300),
  namesAndValidation(8000),
];

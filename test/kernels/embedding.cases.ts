import { embedding as embeddingCpu } from '../../src/cpu/embedding';
import { packWeightF16 } from '../../src/formats/f16';
import { BLOCK, type GpuWeightFormat, QUANT_FORMATS } from '../../src/formats/formats';
import { randomBlocks } from '../../src/formats/quant';
import { embedding } from '../../src/kernels/embedding';
import { formatDefines } from '../../src/kernels/matmul';
import { type KernelCase, randn, rng } from './harness';

const tol = { atol: 1e-6, rtol: 1e-6 };

function tokenIds(T: number, V: number, seed: number): Uint32Array {
  const r = rng(seed);
  return Uint32Array.from({ length: T }, () => Math.floor(r() * V));
}

/** Rows [0, rows) of a table of C columns in a format: f32, packed f16, or random ggml blocks. */
function table(rows: number, C: number, format: GpuWeightFormat, seed: number): Float32Array | Uint32Array {
  if (format !== 'f32' && format !== 'f16') return randomBlocks(format, rows, C, seed);
  const t = randn(rows * C, seed);
  return format === 'f16' ? packWeightF16(t, rows, C) : t;
}

const suffix = (format: GpuWeightFormat) => (format === 'f32' ? '' : ` ${format}`);

/** One whole-table lookup of T tokens from a V x C table in `format`, with or without wpe. */
function lookup(
  T: number,
  C: number,
  V: number,
  pos: number,
  positions: boolean,
  format: GpuWeightFormat,
  seed: number,
  scale?: number,
) {
  const wte = table(V, C, format, seed);
  const inputs: KernelCase['inputs'] = { ids: tokenIds(T, V, seed + 1), wte };
  if (positions) inputs.wpe = randn((pos + T + 2) * C, seed + 2);
  const opts = { pos, format, scale };
  return {
    name: `T=${T} C=${C} V=${V} pos=${pos}${positions ? ' +wpe' : ''}${suffix(format)}${scale ? ` scale=${scale}` : ''}`,
    tol,
    inputs,
    outputs: { out: new Float32Array(T * C) },
    cpu: (o, i) =>
      embeddingCpu(
        o.out as Float32Array,
        i.ids as Uint32Array,
        i.wte as Float32Array | Uint32Array,
        (i.wpe as Float32Array) ?? null,
        T,
        C,
        opts,
      ),
    gpu: (gpu, o, i) => embedding(gpu, o.out, i.ids, i.wte, i.wpe ?? null, T, C, opts),
  } satisfies KernelCase;
}

/** The table split into two row chunks, one dispatch each, into one output (see the header). */
function chunked(
  T: number,
  C: number,
  V: number,
  split: number,
  format: GpuWeightFormat,
  seed: number,
): KernelCase {
  const opts = [
    { pos: 3, format, rowStart: 0, rows: split },
    { pos: 3, format, rowStart: split, rows: V - split },
  ];
  return {
    name: `two chunks T=${T} C=${C} V=${V} split=${split}${suffix(format)}`,
    tol,
    inputs: {
      ids: tokenIds(T, V, seed + 1),
      lo: table(split, C, format, seed),
      hi: table(V - split, C, format, seed + 3),
      wpe: randn((T + 3) * C, seed + 2),
    },
    outputs: { out: new Float32Array(T * C) },
    cpu: (o, i) => {
      const out = o.out as Float32Array;
      const ids = i.ids as Uint32Array;
      embeddingCpu(out, ids, i.lo as Float32Array, i.wpe as Float32Array, T, C, opts[0]);
      embeddingCpu(out, ids, i.hi as Float32Array, i.wpe as Float32Array, T, C, opts[1]);
    },
    // High chunk first, so a low chunk that overreaches its last row would overwrite its results.
    gpu: async (gpu, o, i) => [
      await embedding(gpu, o.out, i.ids, i.hi, i.wpe, T, C, opts[1]),
      await embedding(gpu, o.out, i.ids, i.lo, i.wpe, T, C, opts[0]),
    ],
  };
}

/** Only one chunk dispatched: the rows of tokens outside it must keep their initial contents. */
function untouched(format: GpuWeightFormat): KernelCase {
  const T = 17;
  const C = format === 'f32' || format === 'f16' ? 65 : BLOCK[format].elements;
  const V = 60; // ids 0..59: below, inside and above the chunk of rows 20..39
  const opts = { pos: 0, format, rowStart: 20, rows: 20 };
  return {
    name: `one chunk leaves other tokens untouched${suffix(format)}`,
    tol,
    inputs: { ids: tokenIds(T, V, 71), wte: table(20, C, format, 70) },
    outputs: { out: randn(T * C, 72) },
    cpu: (o, i) =>
      embeddingCpu(o.out as Float32Array, i.ids as Uint32Array, i.wte as Float32Array, null, T, C, opts),
    gpu: (gpu, o, i) => embedding(gpu, o.out, i.ids, i.wte, null, T, C, opts),
  };
}

/** Created for T=17 at pos 0, then moved to a decode step: T=1 at pos 9. */
function decodeStep(): KernelCase {
  const base = lookup(17, 172, 30, 0, true, 'f32', 80);
  return {
    ...base,
    name: 'update({ T: 1, pos: 9 }) after creation with T=17',
    cpu: (o, i) =>
      embeddingCpu(
        o.out as Float32Array,
        i.ids as Uint32Array,
        i.wte as Float32Array,
        i.wpe as Float32Array,
        1,
        172,
        { pos: 9, format: 'f32' },
      ),
    gpu: async (gpu, o, i) =>
      (await embedding(gpu, o.out, i.ids, i.wte, i.wpe, 17, 172, { pos: 0, format: 'f32' })).update({
        T: 1,
        pos: 9,
      }),
  };
}

const formats: GpuWeightFormat[] = ['f32', 'f16', ...QUANT_FORMATS];

export const variants = [false, true].flatMap((POSITIONS) =>
  formats.map((format) => ({ POSITIONS, ...formatDefines(format) })),
);

/** Quantized rows of two blocks (32 values) or super-blocks (256), odd V and T. */
const quantLookups = QUANT_FORMATS.map((format, q) =>
  lookup(5, 2 * BLOCK[format].elements, 17, 3, q % 2 === 0, format, 90 + 10 * q),
);

export const cases: KernelCase[] = [
  ...[false, true].flatMap((positions) =>
    (['f32', 'f16'] as const).flatMap((format) => [
      lookup(1, 1, 3, 0, positions, format, 1),
      lookup(3, 3, 17, 5, positions, format, 11),
      lookup(17, 17, 65, 2, positions, format, 21),
      lookup(65, 172, 50, 7, positions, format, 31),
    ]),
  ),
  lookup(5, 1000, 20, 1, true, 'f16', 41),
  // Gemma's scaled embedding: sqrt(hidden).
  lookup(17, 48, 65, 0, false, 'f32', 42, Math.sqrt(48)),
  lookup(3, 64, 30, 2, false, 'q8_0', 43, 8),
  ...quantLookups,
  chunked(65, 17, 30, 11, 'f32', 50),
  chunked(17, 65, 31, 16, 'f16', 60),
  chunked(17, 160, 31, 11, 'q8_0', 61),
  chunked(17, 256, 19, 7, 'q6_k', 62),
  untouched('f32'),
  untouched('f16'),
  untouched('q4_k'),
  decodeStep(),
];

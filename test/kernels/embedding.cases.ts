import { embedding as embeddingCpu } from '../../src/cpu/embedding';
import { packWeightF16 } from '../../src/formats/f16';
import { embedding } from '../../src/kernels/embedding';
import { type KernelCase, randn, rng } from './harness';

const tol = { atol: 1e-6, rtol: 1e-6 };

function tokenIds(T: number, V: number, seed: number): Uint32Array {
  const r = rng(seed);
  return Uint32Array.from({ length: T }, () => Math.floor(r() * V));
}

/** One whole-table lookup of T tokens from a V x C table (f32 or packed f16), with or without wpe. */
function lookup(
  T: number,
  C: number,
  V: number,
  pos: number,
  positions: boolean,
  f16: boolean,
  seed: number,
) {
  const table = randn(V * C, seed);
  const wte = f16 ? packWeightF16(table, V, C) : table;
  const inputs: KernelCase['inputs'] = { ids: tokenIds(T, V, seed + 1), wte };
  if (positions) inputs.wpe = randn((pos + T + 2) * C, seed + 2);
  const opts = { pos, f16 };
  return {
    name: `T=${T} C=${C} V=${V} pos=${pos}${positions ? ' +wpe' : ''}${f16 ? ' f16' : ''}`,
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
function chunked(T: number, C: number, V: number, split: number, f16: boolean, seed: number): KernelCase {
  const table = randn(V * C, seed);
  const pack = (from: number, to: number) => {
    const rows = table.subarray(from * C, to * C);
    return f16 ? packWeightF16(rows, to - from, C) : rows.slice();
  };
  const opts = [
    { pos: 3, f16, rowStart: 0, rows: split },
    { pos: 3, f16, rowStart: split, rows: V - split },
  ];
  return {
    name: `two chunks T=${T} C=${C} V=${V} split=${split}${f16 ? ' f16' : ''}`,
    tol,
    inputs: {
      ids: tokenIds(T, V, seed + 1),
      lo: pack(0, split),
      hi: pack(split, V),
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
function untouched(f16: boolean): KernelCase {
  const T = 17;
  const C = 65;
  const V = 60; // ids 0..59: below, inside and above the chunk of rows 20..39
  const table = randn(20 * C, 70);
  const opts = { pos: 0, f16, rowStart: 20, rows: 20 };
  return {
    name: `one chunk leaves other tokens untouched${f16 ? ' f16' : ''}`,
    tol,
    inputs: { ids: tokenIds(T, V, 71), wte: f16 ? packWeightF16(table, 20, C) : table },
    outputs: { out: randn(T * C, 72) },
    cpu: (o, i) =>
      embeddingCpu(o.out as Float32Array, i.ids as Uint32Array, i.wte as Float32Array, null, T, C, opts),
    gpu: (gpu, o, i) => embedding(gpu, o.out, i.ids, i.wte, null, T, C, opts),
  };
}

/** Created for T=17 at pos 0, then moved to a decode step: T=1 at pos 9. */
function decodeStep(): KernelCase {
  const base = lookup(17, 172, 30, 0, true, false, 80);
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
        {
          pos: 9,
          f16: false,
        },
      ),
    gpu: async (gpu, o, i) =>
      (await embedding(gpu, o.out, i.ids, i.wte, i.wpe, 17, 172, { pos: 0, f16: false })).update({
        T: 1,
        pos: 9,
      }),
  };
}

export const variants = [false, true].flatMap((POSITIONS) =>
  [false, true].map((F16) => ({ POSITIONS, F16 })),
);

export const cases: KernelCase[] = [
  ...[false, true].flatMap((positions) =>
    [false, true].flatMap((f16) => [
      lookup(1, 1, 3, 0, positions, f16, 1),
      lookup(3, 3, 17, 5, positions, f16, 11),
      lookup(17, 17, 65, 2, positions, f16, 21),
      lookup(65, 172, 50, 7, positions, f16, 31),
    ]),
  ),
  lookup(5, 1000, 20, 1, true, true, 41),
  chunked(65, 17, 30, 11, false, 50),
  chunked(17, 65, 31, 16, true, 60),
  untouched(false),
  untouched(true),
  decodeStep(),
];

import { type SampleStep, sample as sampleCpu, seenBits } from '../../src/cpu/sample';
import { sample } from '../../src/kernels/sample';
import { type KernelCase, randn, rng } from './harness';

interface Spec {
  V: number;
  validVocab?: number;
  /** The row (default: seeded normal logits, scale 3, with outliers). */
  logits?: Float32Array;
  seed?: number;
  step: SampleStep;
  /** Ids already in the history (the prompt). */
  seen?: number[];
  topN?: number;
  markSeen?: boolean;
  /** Floats before the row in its buffer: the row is bound at offset 4*pad bytes (a multiple of 256). */
  pad?: number;
  /** The dispatch is created with this step, then updated to `step`. */
  createdWith?: SampleStep;
  /** The wrapper's workgroupSize (default: its choice for the adapter). */
  wg?: number;
  /** Compare the top output exactly too (rows whose log-sum-exp is exact in f32: one finite logit). */
  exact?: boolean;
}

/**
 * One draw. Ids and the seen bits are compared exactly; with topN the top logits are copies (exact
 * too) and the log-sum-exp is within 1e-4 (f32 sums over up to 50257 terms), so the tolerance
 * (atol 1e-4, rtol 0) still demands equal integers. -inf entries need `exact` (inf - inf is NaN).
 */
function draw(name: string, s: Spec): KernelCase {
  const { V, validVocab = V, topN = 0, markSeen = true, pad = 0 } = s;
  const row = s.logits ?? randn(V, s.seed ?? V, 3);
  const logits = new Float32Array(pad + V);
  logits.set(row, pad);
  const outputs: Record<string, Float32Array | Uint32Array> = {
    out: new Uint32Array(1 + topN),
    seen: seenBits(s.seen ?? [], V),
  };
  if (topN) outputs.top = new Float32Array(1 + topN);
  return {
    name: `${name} V=${V}${s.wg ? ` WG=${s.wg}` : ''}`,
    tol: { atol: topN ? 1e-4 : 0, rtol: 0 },
    exact: !topN || s.exact,
    inputs: { logits },
    outputs,
    cpu: (o, i) =>
      sampleCpu(
        o.out as Uint32Array,
        (o.top as Float32Array) ?? null,
        o.seen as Uint32Array,
        (i.logits as Float32Array).subarray(pad),
        V,
        validVocab,
        s.step,
        { topN, markSeen },
      ),
    gpu: async (gpu, o, i) => {
      const x = i.logits as { buffer: GPUBuffer };
      const d = await sample(
        gpu,
        o.out,
        o.top ?? null,
        o.seen,
        { buffer: x.buffer, offset: pad * 4, size: V * 4 },
        V,
        validVocab,
        s.createdWith ?? s.step,
        { topN, markSeen, workgroupSize: s.wg },
      );
      return d.update(s.step);
    },
  };
}

/** Seeded normal logits with `edit` applied. */
function row(V: number, seed: number, edit: (x: Float32Array) => void): Float32Array {
  const x = randn(V, seed, 3);
  edit(x);
  return x;
}

const NAN = Number.NaN;
const NEG = Number.NEGATIVE_INFINITY;
const greedy: SampleStep = { temperature: 0, r: 0.5 };
const full = (r: number): SampleStep => ({
  temperature: 0.8,
  topK: 40,
  topP: 0.9,
  minP: 0.05,
  repetitionPenalty: 1.3,
  r,
});
const history = (V: number) => Array.from({ length: Math.min(V, 50) }, (_, k) => (k * 7919) % V);

/** Every logit at most `max` (the seeded rows have outliers). */
const clamp = (x: Float32Array, max: number) => {
  for (let i = 0; i < x.length; i++) x[i] = Math.min(x[i], max);
};

/**
 * Logits that fall with the id: x_i = 5 - 0.15 i for i < 60, -10 past. Every filter then keeps a
 * prefix [0, L) of the ids and r = 0.9999 draws L - 1: the id shows where the cut fell.
 */
const falling = (V: number) => {
  const x = new Float32Array(V).fill(-10);
  for (let i = 0; i < Math.min(V, 60); i++) x[i] = 5 - 0.15 * i;
  return x;
};
const cut = (step: Omit<SampleStep, 'r'>): SampleStep => ({ ...step, r: 0.9999 });

/** The maximum at `at`, copied to later ids: the first must win (greedy, topK 1, topP tiny). */
const tiedMax = (at: number[]) => (x: Float32Array) => {
  for (const i of at) x[i] = 40;
};

export const variants = [{ TOP_N: false }, { TOP_N: true }];

export const cases: KernelCase[] = [
  // Greedy: ties, NaN and -inf, all NaN, all -inf, +inf, the penalty.
  draw('greedy', { V: 1000, step: greedy }),
  draw('greedy ties', { V: 1000, logits: row(1000, 2, tiedMax([517, 33, 998])), step: greedy }),
  draw('greedy NaN and -inf', {
    V: 17,
    logits: new Float32Array([NAN, -3, NEG, 2, NAN, 2, NEG, -1, 0, NAN, 1, 1.5, -0, 2, NEG, NAN, 1.99]),
    step: greedy,
  }),
  draw('greedy all NaN', { V: 17, logits: new Float32Array(17).fill(NAN), step: greedy }),
  draw('all -inf falls back to id 0', {
    V: 3,
    logits: new Float32Array([NEG, NEG, NEG]),
    step: { ...full(0.7) },
  }),
  draw('+inf wins at any temperature', {
    V: 1000,
    logits: row(1000, 3, (x) => {
      x[700] = Number.POSITIVE_INFINITY;
      x[701] = Number.POSITIVE_INFINITY;
    }),
    step: full(0.3),
  }),
  draw('greedy penalty flips the argmax', {
    V: 1000,
    logits: row(1000, 4, (x) => {
      clamp(x, 5);
      x[10] = 12; // seen: 12 / 1.5 = 8
      x[20] = 10;
      x[30] = -0.5; // seen: -0.75
    }),
    seen: [10, 30],
    step: { temperature: 0, repetitionPenalty: 1.5, r: 0.5 },
  }),
  draw('greedy 50257', { V: 50257, step: greedy }),
  // Filters that leave one id.
  draw('topK 1', {
    V: 1000,
    logits: row(1000, 5, tiedMax([400, 12])),
    step: { temperature: 1, topK: 1, r: 0.9 },
  }),
  draw('topP tiny', {
    V: 1000,
    logits: row(1000, 6, tiedMax([401, 13])),
    step: { temperature: 1.2, topP: 1e-6, r: 0.99 },
  }),
  draw('minP 1', { V: 1000, seed: 7, step: { temperature: 2, minP: 1, r: 0.999 } }),
  draw('minP 1 keeps the tied maxima', {
    V: 1000,
    logits: row(1000, 8, tiedMax([100, 900, 500])),
    step: { temperature: 2, minP: 1, r: 0.7 },
  }),
  draw('penalty flips the sampled argmax', {
    V: 1000,
    logits: row(1000, 9, (x) => {
      clamp(x, 5);
      x[5] = 30; // seen: 30 / 2 = 15
      x[6] = 20;
    }),
    seen: [5],
    step: { temperature: 1, topK: 1, repetitionPenalty: 2, r: 0.3 },
  }),
  // Where each filter cuts (the id drawn at r = 0.9999 is the last kept).
  draw('cut by topK 17', { V: 1000, logits: falling(1000), step: cut({ temperature: 1, topK: 17 }) }),
  draw('cut by topP 0.6', { V: 1000, logits: falling(1000), step: cut({ temperature: 1, topP: 0.6 }) }),
  draw('cut by topP 0.6 of topK 9', {
    V: 1000,
    logits: falling(1000),
    step: cut({ temperature: 1, topK: 9, topP: 0.6 }),
  }),
  draw('cut by minP 0.2', { V: 1000, logits: falling(1000), step: cut({ temperature: 1, minP: 0.2 }) }),
  draw('cut by minP 0.2 at temperature 0.5', {
    V: 1000,
    logits: falling(1000),
    step: cut({ temperature: 0.5, minP: 0.2 }),
  }),
  draw('cut by topP after the penalty moved ids 0 and 1 down', {
    V: 1000,
    logits: falling(1000),
    seen: [0, 1],
    step: cut({ temperature: 1, topP: 0.5, repetitionPenalty: 1.4 }),
  }),
  draw('cut by topK 30, V=50257', {
    V: 50257,
    logits: falling(50257),
    step: cut({ temperature: 1, topK: 30 }),
  }),
  // Here the cut falls inside the 50197 tied ids of the tail (kept by id): r in the head, where
  // a cut one id off moves the draw by far less than an id's share.
  draw('cut by topP 0.9 in a tie, V=50257', {
    V: 50257,
    logits: falling(50257),
    step: { temperature: 1.5, topP: 0.9, r: 0.3 },
  }),
  // Top-k cut inside a run of equal logits: the lower ids are kept.
  draw('topK cut in ties', {
    V: 1000,
    logits: row(1000, 10, (x) => {
      for (let i = 0; i < 1000; i++) x[i] = Math.min(x[i], 5);
      for (let k = 0; k < 30; k++) x[(k * 37 + 11) % 1000] = 7;
    }),
    step: { temperature: 1, topK: 20, r: 0.999 },
  }),
  draw('all equal, topK 40', {
    V: 50257,
    logits: new Float32Array(50257).fill(-2.5),
    step: { temperature: 1, topK: 40, r: 0.51 },
  }),
  // r exactly on a boundary (sums of ones and halves are exact in f32 and f64): r < cum, not <=.
  draw('all equal, topK 32, r on a boundary', {
    V: 1000,
    logits: new Float32Array(1000).fill(0.5),
    step: { temperature: 1, topK: 32, r: 0.5 },
  }),
  draw('all equal, r on a boundary', {
    V: 64,
    logits: new Float32Array(64).fill(-1),
    step: { temperature: 2, r: 0.25 },
  }),
  draw('all equal, topP 0.5', {
    V: 1000,
    logits: new Float32Array(1000).fill(1),
    step: { temperature: 0.7, topP: 0.5, r: 0.999 },
  }),
  // validVocab < V: the large logits past it never win.
  draw('validVocab < V greedy', {
    V: 1000,
    validVocab: 900,
    logits: row(1000, 11, (x) => x.fill(50, 900)),
    step: greedy,
  }),
  ...[0.01, 0.6, 0.97].map((r) =>
    draw(`validVocab < V r=${r}`, {
      V: 1000,
      validVocab: 900,
      logits: row(1000, 12, (x) => x.fill(50, 900)),
      step: { temperature: 1.5, r },
    }),
  ),
  // Odd sizes with every filter on, a history, several r.
  ...[1, 3, 17, 1000, 50257].flatMap((V) =>
    [0, 0.37, 0.93].map((r) => draw(`all filters r=${r}`, { V, step: full(r), seen: history(V) })),
  ),
  ...[0.05, 0.5, 0.95].map((r) =>
    draw(`temperature only r=${r}`, { V: 50257, step: { temperature: 1.3, r }, seen: [1, 2, 3] }),
  ),
  ...[0.2, 0.8].map((r) =>
    draw(`topP 0.95 alone r=${r}`, { V: 50257, step: { temperature: 1.1, topP: 0.95, r } }),
  ),
  draw('topK 2000 then topP r=0.61', {
    V: 50257,
    step: { temperature: 0.9, topK: 2000, topP: 0.8, r: 0.61 },
  }),
  draw('minP alone r=0.42', { V: 50257, step: { temperature: 1, minP: 0.02, r: 0.42 } }),
  draw('with NaN and -inf, sampled', {
    V: 1000,
    logits: row(1000, 13, (x) => {
      const g = rng(13);
      for (let k = 0; k < 100; k++) x[Math.floor(g() * 1000)] = k % 2 ? NAN : NEG;
    }),
    step: { temperature: 1, topK: 50, r: 0.64 },
  }),
  draw('r = 0', { V: 1000, step: { ...full(0), topK: 0 } }),
  // The bits of the seen set: not marked when asked; updated after creation; at an offset.
  draw('markSeen false', { V: 1000, step: full(0.5), seen: [3, 999], markSeen: false }),
  draw('updated from greedy to sampling', { V: 1000, createdWith: greedy, step: full(0.8), seen: [7] }),
  draw('row at an offset', { V: 1000, pad: 64, step: full(0.25) }),
  // Top-N and the log-sum-exp.
  draw('top 10', { V: 1000, topN: 10, step: full(0.4), seen: [1, 2] }),
  draw('top 64 greedy', { V: 50257, topN: 64, step: greedy }),
  draw('top 5 ties and NaN', {
    V: 1000,
    topN: 5,
    logits: row(1000, 14, (x) => {
      x[0] = NAN;
      x[3] = 20;
      x[2] = 20;
      x[900] = 20;
      x[10] = 19;
    }),
    step: { temperature: 0.5, r: 0.1 },
  }),
  draw('top 20 past n, -inf and NaN', {
    V: 17,
    validVocab: 12,
    topN: 20,
    logits: new Float32Array([NEG, NAN, NEG, 2.5, NAN, NEG, NEG, NAN, NEG, NEG, NEG, NAN, 9, 9, 9, 9, 9]),
    step: { temperature: 0.5, topK: 3, r: 0.5 },
    exact: true,
  }),
  draw('top 64 all equal', { V: 1000, topN: 64, logits: new Float32Array(1000).fill(3), step: full(0.3) }),
  // Both workgroup sizes the wrapper picks (256, 64 on software adapters), whatever the adapter.
  ...[64, 256].flatMap((wg) => [
    draw('greedy ties', { V: 1000, logits: row(1000, 2, tiedMax([517, 33, 998])), step: greedy, wg }),
    draw('all filters r=0.37', { V: 50257, step: full(0.37), seen: history(50257), wg }),
    draw('temperature only r=0.5', { V: 50257, step: { temperature: 1.3, r: 0.5 }, wg }),
    draw('topP 0.95 alone r=0.8', { V: 50257, step: { temperature: 1.1, topP: 0.95, r: 0.8 }, wg }),
    draw('all equal, topK 40', {
      V: 50257,
      logits: new Float32Array(50257).fill(-2.5),
      step: { temperature: 1, topK: 40, r: 0.51 },
      wg,
    }),
    draw('cut by topP 0.6 of topK 9', {
      V: 1000,
      logits: falling(1000),
      step: cut({ temperature: 1, topK: 9, topP: 0.6 }),
      wg,
    }),
    draw('top 10', { V: 1000, topN: 10, step: full(0.4), seen: [1, 2], wg }),
  ]),
  draw('all filters r=0.93', { V: 128256, step: full(0.93), seen: history(128256) }),
  draw('top 64', { V: 128256, topN: 64, step: { temperature: 0.9, topP: 0.95, r: 0.3 } }),
];

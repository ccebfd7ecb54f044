/**
 * Checks of the explainer's engine API (issue 12), shared by the Node suite (test/embeddings.test.ts)
 * and, later, the Chromium page: `model.embeddings` on the GPU against its CPU twin
 * (`cpuEmbeddings` over the table `cpuWeights` decodes as the GPU stores it) on random tiny GPT-2,
 * Llama and Gemma models under f32, f16, q8 and q4; a token's nearest neighbour is itself; the
 * projection's properties; bad arguments.
 */

import { InvalidOptionError } from '../../src/errors';
import type { Dtype } from '../../src/formats/convert';
import type { Embeddings, Neighbour } from '../../src/inspect-types';
import { cpuEmbeddings, createEmbeddings } from '../../src/model/embeddings';
import type { Model } from '../../src/model/model';
import type { GpuRunner } from '../../src/model/runner';
import { NEWER_RANDOM_MODELS, randomModel } from '../../src/model/testing';
import type { ModelSource } from '../../src/types';
import {
  expectClose,
  expectError,
  fail,
  type ModelCheck,
  RANDOM_MODELS,
  reference,
  withModel,
} from './checks';

/** Similarities agree within this; ids agree unless the two similarities are this close (a tie). */
const SIM_TOL = 1e-5;

/** GPU neighbours against the CPU twin's: same ids in the same order (up to ties), similarities within SIM_TOL. */
function expectSameNeighbours(what: string, got: Neighbour[], want: Neighbour[]): void {
  if (got.length !== want.length) fail(`${what}: ${got.length} neighbours, the CPU twin ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (!(Math.abs(g.similarity - w.similarity) <= SIM_TOL))
      fail(`${what}: neighbour ${i} similarity ${g.similarity} vs CPU ${w.similarity}`);
    if (g.tokenId !== w.tokenId) {
      // A near tie may order two ids either way: the GPU's id must be as similar on the CPU.
      const same = want.find((x) => x.tokenId === g.tokenId);
      if (!same || Math.abs(same.similarity - w.similarity) > SIM_TOL)
        fail(`${what}: neighbour ${i} is ${g.tokenId}, the CPU twin's ${w.tokenId}`);
    }
    if (g.text !== w.text && g.tokenId === w.tokenId) fail(`${what}: text '${g.text}' vs '${w.text}'`);
    if (i > 0 && g.similarity > got[i - 1].similarity) fail(`${what}: neighbours not sorted at ${i}`);
  }
}

/** A gpt2 whose hidden size is whole q8_0 blocks (the shared gpt2 has C = 48, which q8 keeps f16). */
const gpt2Blocks = () => randomModel('gpt2', { C: 64, NH: 4, HS: 16, L: 1, V: 67, F: 128, ctx: 32 }, 31);

/** Models and the dtypes they load under: every GPU table format the embeddings read. */
const CASES: [string, () => ModelSource, Dtype | undefined][] = [
  ['gpt2', RANDOM_MODELS.gpt2, 'f32'],
  ['gpt2', RANDOM_MODELS.gpt2, 'f16'],
  ['gpt2 C=64', gpt2Blocks, 'q8'],
  ['llama GQA 4/2 untied', RANDOM_MODELS['llama GQA 4/2 untied'], 'f32'],
  ['llama GQA 4/2 untied', RANDOM_MODELS['llama GQA 4/2 untied'], 'q8'],
  ['llama GQA 4/2 untied', RANDOM_MODELS['llama GQA 4/2 untied'], 'q4'],
  ['llama tied, head size 24', RANDOM_MODELS['llama tied, head size 24'], 'f16'],
  // Gemma scales its embedding by sqrt(hidden): vector() must too, cosines must not care.
  ['gemma (embedding scale)', NEWER_RANDOM_MODELS.gemma, 'f32'],
];

/** The model's embeddings and the CPU twin over the same files and dtype. */
async function withTwin(
  make: () => ModelSource,
  dtype: Dtype | undefined,
  fn: (m: Model, gpu: Embeddings, cpu: Embeddings) => Promise<void>,
): Promise<void> {
  const files = make();
  const ref = await reference(files, dtype);
  await withModel(files, { dtype }, async (m) => {
    const cpu = cpuEmbeddings(ref.cfg, m.tokenizer, ref.w.wte);
    await fn(m, m.embeddings, cpu);
  });
}

const twinChecks: ModelCheck[] = CASES.map(([name, make, dtype]) => ({
  name: `random ${name} (${dtype}): nearest, arithmetic, vector and project equal the CPU twin`,
  async run() {
    await withTwin(make, dtype, async (m, gpu, cpu) => {
      const V = m.config.vocabSize;
      const C = m.config.hidden;
      for (const id of [0, 1, 5, 17, 40, V - 1]) {
        const row = await gpu.vector(id);
        expectClose(`vector(${id})`, row, await cpu.vector(id), 1e-6, 1e-6);
        const near = await gpu.nearest(id, 6);
        expectSameNeighbours(`nearest(${id})`, near, await cpu.nearest(id, 6));
        if (near[0].tokenId !== id)
          fail(`nearest(${id}): the first neighbour is ${near[0].tokenId}, not itself`);
        if (!(Math.abs(near[0].similarity - 1) <= SIM_TOL))
          fail(`nearest(${id}): its similarity to itself is ${near[0].similarity}`);
        // Its own row as a vector finds the same.
        expectSameNeighbours(`nearest(vector(${id}))`, await gpu.nearest(row, 6), near);
      }
      const query = Float32Array.from({ length: C }, (_, c) => Math.sin(c * 1.3) + 0.1);
      expectSameNeighbours('nearest(a vector)', await gpu.nearest(query, 9), await cpu.nearest(query, 9));
      // k beyond the vocabulary: every row, most similar first.
      const all = await gpu.nearest(3, V + 10);
      if (all.length !== V) fail(`nearest(3, V + 10) gave ${all.length} rows, not V = ${V}`);
      expectSameNeighbours('nearest(3, V + 10)', all, await cpu.nearest(3, V + 10));

      const terms = ['k', '-m', '+w', 'ab'];
      const got = await gpu.arithmetic(terms, 5);
      const want = await cpu.arithmetic(terms, 5);
      expectSameNeighbours('arithmetic', got.neighbours, want.neighbours);
      if (JSON.stringify(got.terms) !== JSON.stringify(want.terms))
        fail('arithmetic: terms differ from the CPU twin');
      const [k, minus, plus, ab] = got.terms;
      if (k.sign !== 1 || minus.sign !== -1 || plus.sign !== 1) fail('arithmetic: wrong signs');
      if (k.averaged || !ab.averaged || ab.tokenIds.length !== 2)
        fail(`arithmetic: 'ab' should average two tokens: ${JSON.stringify(ab)}`);
      if (ab.tokens.join('') !== 'ab') fail(`arithmetic: 'ab' reads as ${JSON.stringify(ab.tokens)}`);

      const items = [2, 9, 30, query, 41, 12];
      const p = await gpu.project(items);
      const q = await cpu.project(items);
      expectClose(
        'project points',
        Float32Array.from(p.points.flat()),
        Float32Array.from(q.points.flat()),
        1e-5,
        1e-4,
      );
      expectClose(
        'project explained',
        Float32Array.from(p.explained),
        Float32Array.from(q.explained),
        1e-6,
        1e-4,
      );
    });
  },
}));

export const embeddingChecks: ModelCheck[] = [
  ...twinChecks,
  {
    name: 'embeddings in small chunks (norms 10 rows at a time, rows 3 at a time) equal the defaults; dispose frees every buffer',
    async run() {
      await withModel(RANDOM_MODELS['llama GQA 4/2 untied'](), { dtype: 'q8' }, async (m) => {
        const runner = () => (m as unknown as { runner: GpuRunner }).runner;
        const ids = [0, 9, 10, 66];
        const items = [1, 2, 3, 4, 5, 6, 7];
        const want = await Promise.all(ids.map((id) => m.embeddings.nearest(id, 8)));
        const q = await m.embeddings.project(items);
        const before = m.gpu.liveBuffers().count;
        const small = createEmbeddings(
          {
            config: m.config,
            tokenizer: m.tokenizer,
            gpu: () => m.gpu,
            table: () => runner().weights.wte,
            run: (work) => work(m.gpu, runner().weights.wte),
          },
          { normChunkRows: 10, gatherRows: 3 },
        );
        for (const [i, id] of ids.entries()) {
          expectSameNeighbours(`nearest(${id})`, await small.nearest(id, 8), want[i]);
        }
        const p = await small.project(items);
        expectClose('project', Float32Array.from(p.points.flat()), Float32Array.from(q.points.flat()), 0, 0);
        if (!(m.gpu.liveBuffers().count > before)) fail('the embeddings hold no buffers?');
        small.dispose();
        const after = m.gpu.liveBuffers().count;
        if (after !== before) fail(`dispose left ${after - before} buffers alive`);
      });
    },
  },
  {
    name: 'project: vectors on a plane are placed at their distances, centred, with all the variance in two components',
    async run() {
      await withModel(RANDOM_MODELS.gpt2(), {}, async (m) => {
        const C = m.config.hidden;
        const e1 = Float32Array.from({ length: C }, (_, c) => (c % 3 === 0 ? 1 : 0));
        const e2 = Float32Array.from({ length: C }, (_, c) => (c % 3 === 1 ? 1 : 0));
        const xy = [
          [0, 0],
          [3, 1],
          [-2, 5],
          [4, -4],
          [1, 1.5],
        ];
        const vectors = xy.map(([x, y]) =>
          Float32Array.from({ length: C }, (_, c) => 7 + x * e1[c] + y * e2[c]),
        );
        const p = await m.embeddings.project(vectors);
        const total = p.explained[0] + p.explained[1];
        if (!(Math.abs(total - 1) < 1e-6 && p.explained[0] >= p.explained[1]))
          fail(`explained ${p.explained}`);
        for (let d = 0; d < 2; d++) {
          const mean = p.points.reduce((s, pt) => s + pt[d], 0) / p.points.length;
          if (!(Math.abs(mean) < 1e-6)) fail(`component ${d} not centred: mean ${mean}`);
        }
        const dist = (a: number[], b: number[], scale: number[]) =>
          Math.hypot((a[0] - b[0]) * scale[0], (a[1] - b[1]) * scale[1]);
        // e1 and e2 have C/3 ones each: distances on the plane are sqrt(C/3) times those of (x, y).
        const s = Math.sqrt(Math.ceil(C / 3));
        for (let i = 0; i < xy.length; i++) {
          for (let j = 0; j < i; j++) {
            const want = dist(xy[i], xy[j], [s, s]);
            const got = dist(p.points[i], p.points[j], [1, 1]);
            if (!(Math.abs(got - want) < 1e-3 * want)) fail(`distance ${i}-${j}: ${got}, want ${want}`);
          }
        }
        // One item, or equal items: no variance.
        const one = await m.embeddings.project([5]);
        if (JSON.stringify(one) !== JSON.stringify({ points: [[0, 0]], explained: [0, 0] }))
          fail(`one item: ${JSON.stringify(one)}`);
        // Results are plain data: they survive a structured clone unchanged.
        const near = await m.embeddings.nearest(2, 3);
        const arith = await m.embeddings.arithmetic(['a', '-b'], 2);
        const row = await m.embeddings.vector(2);
        for (const x of [p, near, arith, row]) {
          if (JSON.stringify(structuredClone(x)) !== JSON.stringify(x)) fail('a result changes when cloned');
        }
        if (!(structuredClone(row) instanceof Float32Array)) fail('vector() is not a Float32Array');
      });
    },
  },
  {
    name: 'embeddings refuse bad arguments with InvalidOptionError naming them; the model stays usable and in order',
    async run() {
      await withModel(RANDOM_MODELS['llama tied, head size 24'](), {}, async (m) => {
        const e = m.embeddings;
        const V = m.config.vocabSize;
        const C = m.config.hidden;
        const bad: [string, string, () => unknown][] = [
          ['nearest(-1)', 'query', () => e.nearest(-1, 3)],
          ['nearest(V)', 'query', () => e.nearest(V, 3)],
          ['nearest(1.5)', 'query', () => e.nearest(1.5, 3)],
          ['nearest(vector [C + 1])', 'query', () => e.nearest(new Float32Array(C + 1), 3)],
          ['nearest(vector [0])', 'query', () => e.nearest(new Float32Array(0), 3)],
          ['nearest(zero vector)', 'query', () => e.nearest(new Float32Array(C), 3)],
          ['nearest(NaN vector)', 'query', () => e.nearest(new Float32Array(C).fill(Number.NaN), 3)],
          ['nearest(k = 0)', 'k', () => e.nearest(1, 0)],
          ['nearest(k = 2.5)', 'k', () => e.nearest(1, 2.5)],
          ['nearest(k = NaN)', 'k', () => e.nearest(1, Number.NaN)],
          ['vector(V)', 'tokenId', () => e.vector(V)],
          ['vector(-3)', 'tokenId', () => e.vector(-3)],
          ['arithmetic([])', 'terms', () => e.arithmetic([], 3)],
          ["arithmetic(['-'])", 'terms', () => e.arithmetic(['a', '-'], 3)],
          ["arithmetic(['  '])", 'terms', () => e.arithmetic(['  '], 3)],
          ["arithmetic(['a', '-a'])", 'terms', () => e.arithmetic(['a', '-a'], 3)],
          ['arithmetic(k = -1)', 'k', () => e.arithmetic(['a'], -1)],
          ['project([])', 'items', () => e.project([])],
          ['project(V)', 'items', () => e.project([1, V])],
          ['project(vector [3])', 'items', () => e.project([1, new Float32Array(3)])],
        ];
        for (const [what, option, call] of bad) {
          await expectError(what, InvalidOptionError, [`'${option}'`], call);
        }
        // Embeddings queue with the model's other requests and change nothing they compute.
        const ids = [5, 17, 3, 20];
        const alone = await m.logits(ids);
        const [logits, near] = await Promise.all([m.logits(ids), e.nearest(7, 2), m.logits(ids)]);
        expectClose('logits beside embeddings', logits, alone, 0, 0);
        if (near[0].tokenId !== 7) fail('nearest(7) is not 7');
      });
    },
  },
];

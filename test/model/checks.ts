/**
 * Whole-model checks, shared by the Node suite (test/model.test.ts) and the Chromium page
 * (e2e/model.html): GPU logits against the CPU reference forward, KV-cache decoding against
 * recomputation, the real tinystories golden run, sampling, abort, and bad input.
 */

import { openCheckpoint } from '../../src/checkpoint/checkpoint';
import type { ModelConfig } from '../../src/checkpoint/config';
import type { ModelWeights } from '../../src/checkpoint/weights';
import {
  ContextLengthError,
  DeviceLostError,
  GpuOutOfMemoryError,
  InvalidOptionError,
  ModelFormatError,
  ModelLoadError,
  ModelStateError,
  NumericalError,
  UnsupportedModelError,
} from '../../src/errors';
import type { Dtype } from '../../src/formats/convert';
import { Gpu } from '../../src/gpu/gpu';
import { type CpuKinds, cpuLogits, cpuWeights } from '../../src/model/cpu-ops';
import type { Weights } from '../../src/model/forward';
import { loadModel, type Model } from '../../src/model/model';
import { GpuRunner } from '../../src/model/runner';
import { filterDistribution, Rng, sample } from '../../src/model/sampler';
import { NEWER_RANDOM_MODELS, randomModel } from '../../src/model/testing';
import type { GenerateOptions, GenerateSummary, LoadOptions, ModelSource, TopToken } from '../../src/types';
import { inspectChecks } from './inspect-checks';

/** Where the shipped real models are: folder paths in Node, URLs in the browser. */
export interface ModelPaths {
  tinystories: string;
  gpt2TinyRandom: string;
  /** The .gguf file itself. */
  stories260k: string;
}

export interface ModelCheck {
  name: string;
  run(paths: ModelPaths): Promise<void>;
}

/** The greedy continuation of "Once upon a time" given with the model (shared/models/README.md). */
export const TINYSTORIES_GOLDEN =
  ', a little girl named Lily lived in a small house with her mom, dad, and her dog, Spot,';

export function fail(message: string): never {
  throw new Error(message);
}

/** Throws naming the first element outside |a - b| <= atol + rtol*|b|. */
export function expectClose(
  what: string,
  got: Float32Array,
  want: Float32Array,
  atol: number,
  rtol: number,
): number {
  if (got.length !== want.length) fail(`${what}: length ${got.length} != ${want.length}`);
  let max = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= atol + rtol * Math.abs(want[i]))) fail(`${what}[${i}]: gpu ${got[i]} vs ref ${want[i]}`);
    max = Math.max(max, err);
  }
  return max;
}

export async function expectError(
  what: string,
  cls: abstract new (...a: never[]) => Error,
  mention: string[],
  fn: () => unknown,
) {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof cls))
      fail(`${what}: expected ${cls.name}, got ${(e as Error).name}: ${(e as Error).message}`);
    for (const m of mention) {
      if (!(e as Error).message.includes(m))
        fail(`${what}: message '${(e as Error).message}' does not name '${m}'`);
    }
    return;
  }
  fail(`${what}: expected ${cls.name}, nothing was thrown`);
}

export async function drain(it: AsyncIterable<unknown>): Promise<{ text: string; summary: GenerateSummary }> {
  let text = '';
  let summary: GenerateSummary | undefined;
  for await (const e of it as AsyncIterable<{ text: string } | GenerateSummary>) {
    if ('done' in e) summary = e;
    else text += e.text;
  }
  return { text, summary: summary ?? fail('no summary') };
}

/** The CPU reference: config and weights parsed from the same files the GPU model loaded. */
export async function reference(
  source: ModelSource,
  dtype?: Dtype,
): Promise<{ cfg: ModelConfig; w: CpuWeights; stored: ModelWeights }> {
  const ckpt = await openCheckpoint(source);
  return { cfg: ckpt.config, w: await cpuWeights(ckpt.weights, dtype), stored: ckpt.weights };
}

type CpuWeights = Weights<CpuKinds>;

export const RANDOM_MODELS = {
  gpt2: () => randomModel('gpt2', { C: 48, NH: 3, HS: 16, L: 2, V: 67, F: 172, ctx: 64 }, 1),
  'llama GQA 4/2 untied': () =>
    randomModel('llama', { C: 64, NH: 4, NKV: 2, HS: 16, L: 2, V: 67, F: 172, ctx: 64, tied: false }, 2),
  'llama tied, head size 24': () =>
    randomModel('llama', { C: 72, NH: 3, NKV: 1, HS: 24, L: 2, V: 67, F: 100, ctx: 64, tied: true }, 3),
  'qwen2 q/k/v biases, f16 file': () =>
    randomModel(
      'llama',
      { C: 64, NH: 4, NKV: 2, HS: 16, L: 1, V: 67, F: 172, ctx: 64, qkvBias: true, dtype: 'F16' },
      4,
    ),
};

export const PROMPT = [5, 17, 3, 66, 0, 12, 40, 41, 9, 1, 2, 30, 31, 7, 60, 22, 19];

export async function withModel<T>(
  source: ModelSource,
  options: LoadOptions,
  fn: (m: Model) => Promise<T>,
): Promise<T> {
  const m = await loadModel(source, options);
  try {
    return await fn(m);
  } finally {
    m.dispose();
  }
}

/** The newer families (issue 10): f32, and f16 for the first two (the same kernels run under f16). */
const NEWER_DTYPES = (name: string): Dtype[] => (['gemma2', 'phi'].includes(name) ? ['f32', 'f16'] : ['f32']);

const logitChecks: ModelCheck[] = [
  ...Object.entries(RANDOM_MODELS).map(([name, make]) => [name, make, ['f32', 'f16']] as const),
  ...Object.entries(NEWER_RANDOM_MODELS).map(([name, make]) => [name, make, NEWER_DTYPES(name)] as const),
].flatMap(([name, make, dtypes]) =>
  dtypes.map((dtype) => ({
    name: `random ${name} (${dtype}): logits of every position match the CPU reference`,
    async run() {
      const files = make();
      const ref = await reference(files, dtype);
      const want = await cpuLogits(ref.cfg, ref.w, PROMPT);
      const got = await withModel(files, { dtype }, (m) => m.logits(PROMPT));
      expectClose(name, got, want, 2e-4, 1e-3);
    },
  })),
);

/**
 * KV-cache decoding of the newer families: greedy tokens decoded step by step (each step attends
 * through the cache, with sliding windows shorter than the sequence, per-layer rotary and
 * soft-capping) equal the argmax of the rows recomputed from the whole sequence.
 */
const decodeChecks: ModelCheck[] = ['gemma2', 'gemma3', 'phi3', 'smollm3', 'llama3'].map((name) => ({
  name: `random ${name}: decoding with the KV cache gives the argmax of the recomputed rows`,
  async run() {
    await withModel(NEWER_RANDOM_MODELS[name](), {}, async (m) => {
      const { summary } = await drain(
        m.generate({ ids: PROMPT.slice(0, 9) }, { temperature: 0, maxNewTokens: 10, onTopTokens: () => {} }),
      );
      const all = [...summary.promptIds, ...summary.tokenIds];
      const full = await m.logits(all);
      const V = m.config.vocabSize;
      for (let i = 0; i < summary.tokenIds.length; i++) {
        const row = full.subarray((8 + i) * V, (9 + i) * V);
        let best = 0;
        for (let j = 1; j < V; j++) if (row[j] > row[best]) best = j;
        if (best !== summary.tokenIds[i])
          fail(`token ${i}: decoded ${summary.tokenIds[i]}, recomputed argmax ${best}`);
      }
    });
  },
}));

export const modelChecks: ModelCheck[] = [
  ...logitChecks,
  ...decodeChecks,
  {
    name: 'f16 KV cache: logits of every position match the CPU reference with the same f16 cache',
    async run() {
      const files = RANDOM_MODELS['llama GQA 4/2 untied']();
      const ref = await reference(files);
      const want = await cpuLogits(ref.cfg, ref.w, PROMPT, true);
      const got = await withModel(files, { kvDtype: 'f16' }, (m) => m.logits(PROMPT));
      expectClose('kvDtype f16', got, want, 2e-4, 1e-3);
      // The f16 cache does change the logits: the reference really models it.
      const f32 = await cpuLogits(ref.cfg, ref.w, PROMPT);
      let diff = 0;
      for (let i = 0; i < f32.length; i++) diff = Math.max(diff, Math.abs(f32[i] - want[i]));
      if (!(diff > 0)) fail('an f16 cache changed nothing: is it really f16?');
    },
  },
  {
    name: 'decoding with the KV cache gives the logits of recomputing the whole sequence',
    async run() {
      const files = RANDOM_MODELS['llama GQA 4/2 untied']();
      await withModel(files, {}, async (m) => {
        const rows: Float32Array[] = [];
        const run = m.generate(
          { ids: PROMPT.slice(0, 5) },
          { temperature: 0, maxNewTokens: 8, onTopTokens: () => {} },
        );
        // onTopTokens makes generate pick with the GPU sampler (greedy) rather than the argmax kernel.
        const { summary } = await drain(run);
        const all = [...summary.promptIds, ...summary.tokenIds];
        const full = await m.logits(all);
        const V = m.config.vocabSize;
        // Greedy tokens from step-by-step decoding must be the argmax of the recomputed rows.
        for (let i = 0; i < summary.tokenIds.length; i++) {
          const row = full.subarray((4 + i) * V, (5 + i) * V);
          let best = 0;
          for (let j = 1; j < V; j++) if (row[j] > row[best]) best = j;
          if (best !== summary.tokenIds[i])
            fail(`token ${i}: decoded ${summary.tokenIds[i]}, recomputed argmax ${best}`);
        }
        rows.push(full);
      });
      // Row by row: the runner's decode step against the prefill of the whole sequence, chunked
      // prefill (chunks of 5), weights split into blocks smaller than a table and uploaded in small
      // pieces.
      const ref = await reference(files);
      const gpu = await Gpu.create();
      const runner = await GpuRunner.create(gpu, ref.cfg, ref.stored, {
        dtype: 'f32',
        maxContext: 64,
        validVocab: ref.cfg.vocabSize,
        prefillChunk: 5,
        maxBlockBytes: 4096,
        // Blocks read and written in pieces that straddle rows and stacked parts.
        chunkBytes: 100,
      });
      try {
        const V = ref.cfg.vocabSize;
        const want = await cpuLogits(ref.cfg, ref.w, PROMPT);
        expectClose('chunked prefill, split weights', await runner.logitsAll(PROMPT), want, 2e-4, 1e-3);
        let row = (await runner.prefill(PROMPT.slice(0, 7), false)) as Float32Array;
        expectClose('prefill last row', row, want.subarray(6 * V, 7 * V), 2e-4, 1e-3);
        for (let t = 7; t < PROMPT.length; t++) {
          row = (await runner.step(PROMPT[t], t, false)) as Float32Array;
          expectClose(`decode step at position ${t}`, row, want.subarray(t * V, (t + 1) * V), 2e-4, 1e-3);
        }
        const greedy = (await runner.step(PROMPT[0], PROMPT.length, true)) as number;
        if (!Number.isInteger(greedy) || greedy < 0 || greedy >= V) fail(`greedy step gave ${greedy}`);
      } finally {
        runner.destroy();
        gpu.destroy();
      }
    },
  },
  {
    name: 'tinystories-656k: greedy continuation of "Once upon a time" matches the golden text and the CPU reference',
    async run(paths) {
      const ref = await reference(paths.tinystories);
      await withModel(paths.tinystories, {}, async (m) => {
        const { text, summary } = await drain(
          m.generate('Once upon a time', { temperature: 0, maxNewTokens: 30 }),
        );
        if (summary.promptIds.join() !== '1,80,147,201,282,57') fail(`prompt ids ${summary.promptIds}`);
        if (!text.startsWith(TINYSTORIES_GOLDEN)) fail(`greedy text ${JSON.stringify(text)}`);
        if (summary.finishReason !== 'length' || summary.generatedTokens !== 30)
          fail(`summary ${JSON.stringify(summary)}`);
        // The CPU reference picks the same tokens.
        const ids = [...summary.promptIds];
        for (let i = 0; i < 12; i++) {
          const logits = await cpuLogits(ref.cfg, ref.w, ids);
          const row = logits.subarray((ids.length - 1) * ref.cfg.vocabSize);
          let best = 0;
          for (let j = 1; j < ref.cfg.vocabSize; j++) if (row[j] > row[best]) best = j;
          if (best !== summary.tokenIds[i]) fail(`token ${i}: gpu ${summary.tokenIds[i]}, cpu ${best}`);
          ids.push(best);
        }
      });
    },
  },
  {
    name: 'tinystories-656k with f16 weights gives the same greedy story',
    async run(paths) {
      await withModel(paths.tinystories, { dtype: 'f16' }, async (m) => {
        const { text } = await drain(m.generate('Once upon a time', { temperature: 0, maxNewTokens: 24 }));
        if (!text.startsWith(TINYSTORIES_GOLDEN.slice(0, 40)))
          fail(`f16 greedy text ${JSON.stringify(text)}`);
      });
    },
  },
  {
    name: 'gpt2-tiny-random: loads, logits match the CPU reference, its GPT-2 tokenizer round-trips emoji and CJK',
    async run(paths) {
      const ref = await reference(paths.gpt2TinyRandom);
      await withModel(paths.gpt2TinyRandom, {}, async (m) => {
        const text = 'Hello 世界! 🤖🎉 naïve café — ok';
        const ids = m.tokenizer.encode(text);
        if (m.tokenizer.decode(ids) !== text) fail(`round trip: ${m.tokenizer.decode(ids)}`);
        let streamed = '';
        const stream = m.tokenizer.createStream();
        for (const id of ids) streamed += stream.push(id);
        streamed += stream.flush();
        if (streamed !== text) fail(`stream decode: ${streamed}`);
        const want = await cpuLogits(ref.cfg, ref.w, ids);
        expectClose('gpt2-tiny-random logits', await m.logits(ids), want, 2e-4, 1e-3);
        const { summary } = await drain(m.generate(text, { temperature: 0.8, seed: 3, maxNewTokens: 5 }));
        if (summary.generatedTokens < 1) fail('generated nothing');
      });
    },
  },
  {
    name: 'sampling: a seed reproduces tokens; temperature 0 equals argmax; stop strings end generation',
    async run(paths) {
      await withModel(paths.tinystories, {}, async (m) => {
        const opts = { temperature: 1, topK: 40, topP: 0.9, seed: 1234, maxNewTokens: 12 };
        const a = await drain(m.generate('Once upon a time', opts));
        const b = await drain(m.generate('Once upon a time', opts));
        if (a.summary.tokenIds.join() !== b.summary.tokenIds.join()) fail('same seed gave different tokens');
        const greedyGpu = await drain(m.generate('Once upon a time', { temperature: 0, maxNewTokens: 10 }));
        const greedyCpu = await drain(
          m.generate('Once upon a time', { temperature: 0, maxNewTokens: 10, onTopTokens: () => {} }),
        );
        if (greedyGpu.summary.tokenIds.join() !== greedyCpu.summary.tokenIds.join()) {
          fail('GPU argmax and sampler argmax disagree');
        }
        // The GPU sampler draws what the CPU sampler draws from the same logits and seed, step by
        // step (penalty included: its history is the prompt plus the tokens drawn so far).
        const seeded = { temperature: 0.8, topK: 20, topP: 0.9, minP: 0.02, repetitionPenalty: 1.3, seed: 7 };
        const gpuRun = await drain(m.generate('Once upon a time', { ...seeded, maxNewTokens: 10 }));
        const rng = new Rng(seeded.seed);
        const ids = [...gpuRun.summary.promptIds];
        const V = m.config.vocabSize;
        const validVocab = Math.min(V, m.tokenizer.vocabSize);
        for (const [i, got] of gpuRun.summary.tokenIds.entries()) {
          const row = (await m.logits(ids)).subarray((ids.length - 1) * V, ids.length * V);
          const want = sample(row, { ...seeded, validVocab }, rng, ids);
          if (got !== want) fail(`seeded step ${i}: GPU sampler drew ${got}, CPU sampler ${want}`);
          ids.push(got);
        }
        // onTopTokens: the top ten with probabilities that match softmax(row / T) of the same row.
        const tops: TopToken[][] = [];
        const withTop = await drain(
          m.generate('Once upon a time', { ...seeded, maxNewTokens: 1, onTopTokens: (t) => tops.push(t) }),
        );
        const row = await m.logits(withTop.summary.promptIds);
        const last = row.subarray((withTop.summary.promptIds.length - 1) * V);
        const expected = filterDistribution(last, { temperature: seeded.temperature, validVocab });
        if (tops.length !== 1 || tops[0].length !== 10)
          fail(`onTopTokens calls: ${tops.map((t) => t.length)}`);
        for (const t of tops[0]) {
          if (
            Math.abs(t.probability - expected[t.tokenId]) > 1e-4 ||
            Math.abs(t.logit - last[t.tokenId]) > 1e-4
          )
            fail(`top token ${t.tokenId}: p ${t.probability} vs ${expected[t.tokenId]}, logit ${t.logit}`);
        }
        const stopped = await drain(
          m.generate('Once upon a time', { temperature: 0, maxNewTokens: 40, stop: ['Lily'] }),
        );
        if (stopped.summary.finishReason !== 'stop' || stopped.text !== ', a little girl named ') {
          fail(`stop string: ${JSON.stringify(stopped.text)} ${stopped.summary.finishReason}`);
        }
      });
    },
  },
  {
    name: "abort ends the stream with 'abort', and the next generate matches a fresh run",
    async run(paths) {
      await withModel(paths.tinystories, {}, async (m) => {
        const controller = new AbortController();
        let chunks = 0;
        let summary: GenerateSummary | undefined;
        for await (const e of m.generate('Once upon a time', { temperature: 0, signal: controller.signal })) {
          if ('done' in e) summary = e;
          else if (++chunks === 3) controller.abort();
        }
        if (summary?.finishReason !== 'abort' || summary.generatedTokens !== 3)
          fail(`abort: ${JSON.stringify(summary)}`);
        const after = await drain(m.generate('Once upon a time', { temperature: 0, maxNewTokens: 15 }));
        const fresh = await withModel(paths.tinystories, {}, (f) =>
          drain(f.generate('Once upon a time', { temperature: 0, maxNewTokens: 15 })),
        );
        if (after.text !== fresh.text)
          fail(`after abort: ${JSON.stringify(after.text)} vs ${JSON.stringify(fresh.text)}`);
      });
    },
  },
  {
    name: 'bad options and over-long prompts get typed errors and the model stays usable',
    async run(paths) {
      await withModel(paths.tinystories, { maxContext: 32 }, async (m) => {
        const p = 'Once upon a time';
        await expectError('long prompt', ContextLengthError, ['32'], () => m.generate(p.repeat(20)));
        await expectError('temperature', InvalidOptionError, ['temperature'], () =>
          m.generate(p, { temperature: -1 }),
        );
        await expectError('NaN temperature', InvalidOptionError, ['temperature'], () =>
          m.generate(p, { temperature: Number.NaN }),
        );
        await expectError('topP', InvalidOptionError, ['topP'], () => m.generate(p, { topP: 1.5 }));
        await expectError('topP 0', InvalidOptionError, ['topP'], () => m.generate(p, { topP: 0 }));
        await expectError('topK', InvalidOptionError, ['topK'], () => m.generate(p, { topK: 2.5 }));
        await expectError('maxNewTokens', InvalidOptionError, ['maxNewTokens'], () =>
          m.generate(p, { maxNewTokens: 1.5 }),
        );
        await expectError('ids', InvalidOptionError, ['ids'], () => m.logits([1, 99999]));
        const { text, summary } = await drain(m.generate(p, { temperature: 0, maxNewTokens: 100 }));
        if (!text.startsWith(TINYSTORIES_GOLDEN.slice(0, 30))) fail(`after errors: ${text}`);
        // The cache holds 32 positions: 6 prompt tokens and 26 fed-back tokens; the 27th is never fed back.
        if (summary.finishReason !== 'length' || summary.generatedTokens !== 27)
          fail(JSON.stringify(summary));
      });
    },
  },
  {
    name: 'bad model files get typed errors naming file and tensor, before any GPU work',
    async run() {
      // A device that throws when used: the errors must come first.
      const device = untouchableDevice();
      const good = RANDOM_MODELS.gpt2();
      const st = good['model.safetensors'] as Uint8Array;
      await expectError('truncated', ModelFormatError, ['model.safetensors'], () =>
        loadModel({ ...good, 'model.safetensors': st.slice(0, st.length - 100) }, { device }),
      );
      const header = new Uint8Array(st.slice(0, 16));
      new DataView(header.buffer).setUint32(0, 1e9, true);
      await expectError('header beyond file', ModelFormatError, ['model.safetensors'], () =>
        loadModel({ ...good, 'model.safetensors': header }, { device }),
      );
      const cfg = JSON.parse(good['config.json'] as string);
      await expectError('model_type', UnsupportedModelError, ['bert', 'gpt2', 'llama'], () =>
        loadModel({ ...good, 'config.json': JSON.stringify({ ...cfg, model_type: 'bert' }) }, { device }),
      );
      await expectError('shape', ModelFormatError, ['model.safetensors', 'wte'], () =>
        loadModel({ ...good, 'config.json': JSON.stringify({ ...cfg, n_embd: 96 }) }, { device }),
      );
      const { 'model.safetensors': _, ...noWeights } = good;
      await expectError('missing file', ModelLoadError, ['model.safetensors'], () =>
        loadModel(noWeights, { device }),
      );
      await expectError('dtype option', InvalidOptionError, ['dtype'], () =>
        loadModel(good, { device, dtype: 'f8' as 'f16' }),
      );
    },
  },
  ...reliabilityChecks(),
  ...inspectChecks,
];

/** Looks like a GPUDevice (the option check passes) but throws when anything is done with it. */
export function untouchableDevice(): GPUDevice {
  const touched = () => {
    throw new Error('the GPU was touched');
  };
  return new Proxy({} as GPUDevice, {
    get: (_, key) => {
      if (key === 'queue') return {};
      if (key === 'lost') return new Promise(() => {});
      if (key === 'createBuffer' || key === 'createComputePipeline') return touched;
      return touched();
    },
  });
}

/** A model whose `tensor` holds NaN at one element (the load-time scan covers norms and embeddings, not this). */
function withNaN(
  files: Record<string, Uint8Array | string>,
  tensor: string,
): Record<string, Uint8Array | string> {
  const st = (files['model.safetensors'] as Uint8Array).slice();
  const n = Number(new DataView(st.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(st.subarray(8, 8 + n)));
  const [begin] = header[tensor].data_offsets as number[];
  if (header[tensor].dtype !== 'F32') fail(`${tensor} is not F32`);
  new DataView(st.buffer).setFloat32(8 + n + begin + 4 * 3, Number.NaN, true);
  return { ...files, 'model.safetensors': st };
}

/** Issue 11: NaN at run time, dispose during generation, device loss and recovery, options, memory. */
function reliabilityChecks(): ModelCheck[] {
  const llama = RANDOM_MODELS['llama GQA 4/2 untied'];
  const prompt = { ids: PROMPT.slice(0, 6) };
  return [
    {
      name: 'non-finite logits end a generation with a NumericalError naming the position and the first bad layer',
      async run() {
        const files = withNaN(llama(), 'model.layers.1.mlp.down_proj.weight');
        await withModel(files, {}, async (m) => {
          for (const temperature of [0, 1]) {
            const e = await drain(m.generate(prompt, { temperature, maxNewTokens: 4 })).catch((x) => x);
            if (!(e instanceof NumericalError))
              fail(`temperature ${temperature}: expected NumericalError, got ${e}`);
            if (e.position !== 5 || e.layer !== 1)
              fail(`position ${e.position}, layer ${e.layer}: ${e.message}`);
          }
          // The engine stays usable: a clean model's request still runs on it.
          const logits = await m.logits([1, 2]);
          if (logits.length !== 2 * m.config.vocabSize) fail('logits after a NumericalError');
        });
      },
    },
    {
      name: 'dispose() during a generation ends it cleanly (abort) on owned and shared devices; later calls get ModelStateError',
      async run() {
        const shared = await Gpu.create();
        try {
          for (const device of [undefined, shared.device]) {
            const m = await loadModel(llama(), { device });
            const run = m.generate(prompt, { temperature: 0, maxNewTokens: 20 });
            let queued: Promise<unknown> | undefined;
            let summary: GenerateSummary | undefined;
            let chunks = 0;
            let disposed: Promise<void> | undefined;
            for await (const e of run) {
              if ('done' in e) summary = e;
              else if (++chunks === 1) {
                // Waits behind the generation, which holds the model.
                queued = m.logits([1, 2, 3]).then(
                  () => fail('a queued request ran on a disposed model'),
                  (x) => x,
                );
              } else if (chunks === 2) disposed = m.dispose();
            }
            await disposed;
            if (summary?.finishReason !== 'abort') fail(`finish reason ${summary?.finishReason}`);
            if (!((await queued) instanceof ModelStateError)) fail(`queued request: ${await queued}`);
            await expectError('after dispose', ModelStateError, ['disposed'], () => m.logits([1]));
          }
          // The shared device is still the caller's, alive.
          if (shared.lostError) fail("dispose destroyed the caller's device");
        } finally {
          shared.destroy();
        }
      },
    },
    {
      name: 'after the device is lost mid-generation, recover() re-uploads and the next greedy run equals a fresh model',
      async run() {
        const files = llama();
        const want = await withModel(
          files,
          {},
          async (m) =>
            (await drain(m.generate(prompt, { temperature: 0, maxNewTokens: 8 }))).summary.tokenIds,
        );
        await withModel(files, {}, async (m) => {
          let lost: unknown;
          try {
            let n = 0;
            for await (const e of m.generate(prompt, { temperature: 0, maxNewTokens: 30 })) {
              if (!('done' in e) && ++n === 2) m.gpu.device.destroy();
            }
          } catch (e) {
            lost = e;
          }
          if (!(lost instanceof DeviceLostError)) fail(`expected DeviceLostError, got ${lost}`);
          await expectError('while lost', DeviceLostError, [], () => m.logits([1]));
          await m.recover();
          const got = (await drain(m.generate(prompt, { temperature: 0, maxNewTokens: 8 }))).summary.tokenIds;
          if (got.join() !== want.join()) fail(`after recover ${got} != fresh ${want}`);
        });
      },
    },
    {
      name: 'arguments are checked before any work: sources, devices, misspelled options with a suggestion',
      async run() {
        const device = untouchableDevice();
        for (const bad of [null, undefined, 42, '', {}]) {
          await expectError(`source ${String(bad)}`, InvalidOptionError, ['source'], () =>
            loadModel(bad as unknown as ModelSource, { device }),
          );
        }
        await expectError('device {}', InvalidOptionError, ['device', 'GPUDevice'], () =>
          loadModel(llama(), { device: {} as GPUDevice }),
        );
        await expectError('maxContxt', InvalidOptionError, ['maxContxt', "did you mean 'maxContext'"], () =>
          loadModel(llama(), { device, maxContxt: 8 } as LoadOptions),
        );
        await withModel(llama(), {}, async (m) => {
          await expectError(
            'temprature',
            InvalidOptionError,
            ['temprature', "did you mean 'temperature'"],
            () => m.generate(prompt, { temprature: 0 } as GenerateOptions),
          );
          await expectError(
            'max_tokens',
            InvalidOptionError,
            ['max_tokens', "did you mean 'maxNewTokens'"],
            () => m.generate(prompt, { max_tokens: 3 } as GenerateOptions),
          );
        });
      },
    },
    {
      name: 'a model that does not fit is refused before any upload, stating needed and available bytes; fitContext lowers the context',
      async run() {
        const files = llama();
        await expectError(
          'memoryLimit',
          GpuOutOfMemoryError,
          ['needs', 'memoryLimit allows 100000', 'fitContext'],
          () => loadModel(files, { memoryLimit: 100_000 }),
        );
        // Weights take about 330 KB: a limit a little above leaves room for a short context only.
        const m = await loadModel(files, { memoryLimit: 520_000, fitContext: true });
        try {
          if (!(m.maxContext >= 1 && m.maxContext < 64)) fail(`fitContext gave maxContext ${m.maxContext}`);
          await drain(m.generate({ ids: [1] }, { temperature: 0, maxNewTokens: 1 }));
        } finally {
          await m.dispose();
        }
      },
    },
  ];
}

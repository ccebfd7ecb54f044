/**
 * The engine worker: its CPU parts (next-token probabilities, errors crossing the boundary), then
 * the worker itself on the GPU in Node (Dawn), driven through `WorkerEngine` / `RemoteModel` as
 * the demo drives it. Node has no Web Worker here: the worker module runs in this thread against a
 * stand-in `self`, and every message is structured-cloned on the way, as postMessage does.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChatTemplateError,
  ContextLengthError,
  errorFromJSON,
  InvalidOptionError,
  ModelFormatError,
  ModelLoadError,
  ModelStateError,
  UnsupportedModelError,
  type WgptError,
} from '../src/errors';
import type { ChatCompletionChunk, ChatCompletionRequest } from '../src/model/chat';
import { loadModel, type Model } from '../src/model/model';
import { startServer } from '../src/server';
import type { GenerateEvent, GenerateOptions, GenerateSummary, LoadProgress } from '../src/types';
import { type RemoteModel, WorkerEngine } from '../src/worker/client';
import { entropyBits, probabilities, topIds } from '../src/worker/probabilities';
import { serializeError } from '../src/worker/protocol';
import { errorExamples, errorFields, exportedErrors } from './error-examples';

const tinystories = fileURLToPath(new URL('../models/tinystories-656k', import.meta.url));

describe('topIds', () => {
  it('returns the k largest, largest first, lower id first on ties', () => {
    expect(topIds([0.5, 3, -1, 3, 2, 7], 3)).toEqual([5, 1, 3]);
    expect(topIds([1, 2], 5)).toEqual([1, 0]);
    expect(topIds([4, 9, 1, 8], 2, 3)).toEqual([1, 0]);
  });
});

describe('probabilities', () => {
  const row = Float32Array.from([2, 1, 0, -1, 3]);
  it('is softmax(logits / T) over the whole row', () => {
    for (const T of [0.3, 1, 2, 10]) {
      const all = probabilities(row, [0, 1, 2, 3, 4], T);
      const z = [...row].map((l) => Math.exp(l / T)).reduce((a, b) => a + b, 0);
      for (const [i, p] of all.entries()) expect(p).toBeCloseTo(Math.exp(row[i] / T) / z, 12);
      expect(all.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
  });
  it('sharpens at low temperature and flattens at high', () => {
    const [cold] = probabilities(row, [4], 0.5);
    const [warm] = probabilities(row, [4], 2);
    expect(cold).toBeGreaterThan(warm);
  });
  it('puts everything on the top token at T = 0', () => {
    expect(probabilities(row, topIds(row, 3), 0)).toEqual([1, 0, 0]);
  });
  it('stays finite for large logits', () => {
    expect(probabilities([1000, 999], [0, 1], 1).every(Number.isFinite)).toBe(true);
  });
});

describe('entropyBits', () => {
  it('is -sum p log2 p of softmax(row / T), 0 at T = 0', () => {
    const row = [2, 1, 0, -1, 3];
    for (const T of [0.3, 1, 2]) {
      const p = probabilities(row, [0, 1, 2, 3, 4], T);
      expect(entropyBits(row, T)).toBeCloseTo(-p.reduce((h, q) => h + q * Math.log2(q), 0), 12);
    }
    expect(entropyBits(row, 0)).toBe(0);
    expect(entropyBits([5, 5, 5, 5], 1)).toBeCloseTo(2, 12);
    expect(entropyBits([5, 5, 5, 5, 9], 1, 4)).toBeCloseTo(2, 12);
  });
});

describe('errors across the worker boundary', () => {
  it('keep their class, message and fields', () => {
    const cases = [
      new ModelFormatError('model.safetensors', 'truncated', 'lm_head.weight'),
      new ContextLengthError(600, 512),
      new InvalidOptionError('topP', 'must be in (0, 1], got 1.5'),
    ];
    for (const original of cases) {
      const copy = errorFromJSON(structuredClone(serializeError(original)));
      expect(copy).toBeInstanceOf(original.constructor);
      expect(copy.message).toBe(original.message);
      expect(copy.name).toBe(original.name);
    }
    const format = errorFromJSON(serializeError(cases[0])) as ModelFormatError;
    expect(format.file).toBe('model.safetensors');
  });
  it('every error class keeps its class, code and every field through serializeError and structuredClone', () => {
    expect(Object.keys(errorExamples).sort()).toEqual(exportedErrors.map(([name]) => name).sort());
    for (const [name, cls] of exportedErrors) {
      const original = errorExamples[name]();
      const copy = errorFromJSON(structuredClone(serializeError(original))) as WgptError;
      expect(copy).toBeInstanceOf(cls);
      expect(copy.constructor, name).toBe(original.constructor);
      expect([copy.name, copy.code, copy.message]).toEqual([original.name, original.code, original.message]);
      expect(errorFields(copy), name).toStrictEqual(errorFields(original));
    }
  });
  it('carries plain errors and aborts by name', () => {
    const abort = errorFromJSON(serializeError(new DOMException('The operation was aborted.', 'AbortError')));
    expect(abort.name).toBe('AbortError');
    expect(errorFromJSON(serializeError('boom')).message).toBe('boom');
  });
});

type Handler = ((event: { data: unknown }) => void) | null;

/** The engine worker module, run in this thread, behind a `WorkerEngine`. */
async function startWorker(): Promise<WorkerEngine> {
  const page = { onmessage: null as Handler, onerror: null, postMessage: (_: unknown) => {}, terminate() {} };
  const scope = {
    onmessage: null as Handler,
    postMessage(message: unknown, transfer: Transferable[] = []) {
      const data = structuredClone(message, { transfer });
      setTimeout(() => page.onmessage?.({ data }));
    },
  };
  page.postMessage = (message: unknown) => {
    const data = structuredClone(message);
    setTimeout(() => scope.onmessage?.({ data }));
  };
  (globalThis as { self?: unknown }).self = scope;
  await import('../src/worker/engine-worker');
  return new WorkerEngine(page as unknown as Worker);
}

/** The text and summary of a generation. */
async function collect(stream: AsyncGenerator<GenerateEvent>): Promise<GenerateSummary & { text: string }> {
  let text = '';
  for await (const event of stream) {
    if ('done' in event) return { ...event, text };
    text += event.text;
  }
  throw new Error('the generation ended without a summary');
}

/** What two runs must share: everything but timings. */
const outcome = (s: GenerateSummary & { text: string }) => ({
  text: s.text,
  tokenIds: s.tokenIds,
  promptIds: s.promptIds,
  finishReason: s.finishReason,
  generatedTokens: s.generatedTokens,
});

/** A chunk without its id and time. */
const chunkBody = ({ id: _, created: __, ...rest }: ChatCompletionChunk) => rest;

async function chunksOf(stream: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const out: ChatCompletionChunk[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

/** A model folder: the embedded model's files, some replaced. */
function modelFolder(replace: Record<string, Uint8Array | string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wgpt-worker-'));
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) {
    writeFileSync(join(dir, name), replace[name] ?? readFileSync(join(tinystories, name)));
  }
  return dir;
}

/** A ChatML-like template in words the tiny model knows; it has no end-of-turn token of its own. */
const TEMPLATE =
  '{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}';
const MESSAGES: ChatCompletionRequest['messages'] = [
  { role: 'system', content: 'You tell stories.' },
  { role: 'user', content: 'Tell me about a cat.' },
];

const LOAD = { tuning: 'off', tuningCache: false, maxContext: 64 } as const;

describe('engine worker on the GPU', { timeout: 300_000 }, () => {
  let engine: WorkerEngine;
  /** The same model in this thread: every answer of the worker's must equal its. */
  let local: Model;
  let model: RemoteModel;
  const load = async (options: Parameters<WorkerEngine['loadModel']>[1], source = tinystories) => {
    model = await engine.loadModel(source, { cache: false, ...LOAD, ...options });
    return model;
  };
  beforeAll(async () => {
    engine = await startWorker();
    local = await loadModel(tinystories, LOAD);
  });
  afterAll(() => local?.dispose());

  for (const dtype of ['f16', 'q8'] as const) {
    it(`reports GPU upload progress up to exactly its total (dtype ${dtype})`, async () => {
      const events: LoadProgress[] = [];
      const m = await load({ dtype, onProgress: (p) => events.push(p) });
      const upload = events.filter((p) => p.phase === 'upload');
      expect(upload.length).toBeGreaterThan(1);
      for (const p of upload) {
        expect(p.total).toBeDefined();
        expect(p.loaded).toBeLessThanOrEqual(p.total!);
        expect(p.overallLoaded).toBeLessThanOrEqual(p.overallTotal!);
      }
      const last = upload[upload.length - 1];
      expect(last.loaded).toBe(last.total);
      expect(last.overallLoaded).toBe(last.overallTotal);
      expect(m.weightBytes).toBeGreaterThan(0);
    });
  }

  it('load options reach the engine: dtype, maxContext, kernels; tuner notes arrive as messages', async () => {
    const q8 = (await load({ dtype: 'q8' })).weightBytes;
    const f32 = await load({ dtype: 'f32', maxContext: 48 });
    expect(f32.weightBytes).toBe(local.weightBytes);
    expect(q8).toBeLessThan(f32.weightBytes / 3);
    expect(f32.maxContext).toBe(48);

    const forced = await load({ kernels: { matmul: 'gemv.wg64.r4' } });
    const choices = await forced.kernelChoices();
    const matmul = choices.filter((c) => c.op === 'matmul');
    expect(matmul.length).toBeGreaterThan(0);
    expect(matmul.map((c) => `${c.name} ${c.source}`)).toEqual(matmul.map(() => 'gemv.wg64.r4 forced'));
    expect(choices.filter((c) => c.op !== 'matmul').every((c) => c.source === 'default')).toBe(true);

    // A callback cannot be cloned into the worker: it is sent as messages.
    const notes: string[] = [];
    await load({ tuning: 'retune', onTuningNote: (n) => notes.push(n) });
    expect(notes.length).toBeGreaterThan(0);
    expect(notes.some((n) => /^tuning matmul /.test(n))).toBe(true);
    expect((await model.kernelChoices()).some((c) => c.source === 'tuned')).toBe(true);
  });

  it('has the load info, tokenizer calls, logits and chat info of the model in this thread', async () => {
    await load({});
    for (const key of ['config', 'maxContext', 'adapter', 'checkpoint', 'weightBytes', 'chatInfo'] as const) {
      expect(model[key], key).toStrictEqual(local[key]);
    }
    expect(model.chatInfo.templates).toEqual([]);
    expect(model.chatInfo.stopTokens).toEqual([{ tokenId: 2, text: '<|end_story|>' }]);
    const text = 'Once upon a time, Lily';
    const ids = await model.encode(text);
    expect(ids).toEqual(local.tokenizer.encode(text));
    expect(await model.encode(text, { addSpecialTokens: false })).toEqual(ids.slice(1));
    expect(await model.decode(ids)).toBe(local.tokenizer.decode(ids));
    expect(await model.tokenTexts(ids)).toEqual(await local.tokenTexts(ids));
    const options = { addGenerationPrompt: true, source: TEMPLATE };
    expect(await model.applyChatTemplate(MESSAGES, options)).toBe(
      local.tokenizer.applyChatTemplate(MESSAGES, options),
    );
    const remote = await model.logits(ids);
    expect(remote).toStrictEqual(await local.logits(ids));
    const V = local.config.vocabSize;
    expect(await model.lastLogits()).toStrictEqual(remote.slice((ids.length - 1) * V, ids.length * V));
  });

  it('inspect and embeddings through the worker equal the model in this thread; a following generate is unchanged', async () => {
    await load({});
    const ids = await model.encode('Once upon a time, Lily');
    const all = { attention: true, logitLens: true, residual: true, topK: 4 };
    const inspected = await model.inspect(ids, all);
    expect(inspected).toStrictEqual(await local.inspect(ids, all));
    expect(inspected.attention?.[0][0]).toBeInstanceOf(Float32Array);
    const some = { attention: true, layers: [1], heads: [0, 5] };
    expect(await model.inspect(ids, some)).toStrictEqual(await local.inspect(ids, some));
    const greedy = { temperature: 0, maxNewTokens: 8 };
    expect(outcome(await collect(model.generate({ ids }, greedy)))).toEqual(
      outcome(await collect(local.generate({ ids }, greedy))),
    );

    const [remote, here] = [model.embeddings, local.embeddings];
    const vector = await remote.vector(ids[2]);
    expect(vector).toStrictEqual(await here.vector(ids[2]));
    expect(await remote.nearest(ids[2], 6)).toStrictEqual(await here.nearest(ids[2], 6));
    expect(await remote.nearest(vector, 3)).toStrictEqual(await here.nearest(vector, 3));
    const terms = ['king', '-man', '+woman'];
    expect(await remote.arithmetic(terms, 5)).toStrictEqual(await here.arithmetic(terms, 5));
    const items = [ids[1], ids[2], vector, ids[4]];
    expect(await remote.project(items)).toStrictEqual(await here.project(items));
    await expect(model.inspect([], {})).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('every generate option reaches the sampler: each gives the tokens of the model in this thread, and changes them', async () => {
    const prompt = 'Once upon a time';
    const base: GenerateOptions = { temperature: 1, seed: 5, maxNewTokens: 16 };
    const run = async (options: GenerateOptions) => {
      const remote = outcome(await collect(model.generate(prompt, { ...base, ...options })));
      expect(remote, JSON.stringify(options)).toStrictEqual(
        outcome(await collect(local.generate(prompt, { ...base, ...options }))),
      );
      return remote;
    };
    const plain = await run({});
    expect(plain.generatedTokens).toBe(16);
    const variants: GenerateOptions[] = [
      { seed: 6 },
      { temperature: 0.3 },
      { temperature: 0 },
      { topK: 3 },
      { topP: 0.5 },
      { minP: 0.2 },
      { repetitionPenalty: 1.5 },
    ];
    for (const v of variants) {
      expect((await run(v)).tokenIds, JSON.stringify(v)).not.toEqual(plain.tokenIds);
    }
    const short = await run({ maxNewTokens: 5 });
    expect([short.generatedTokens, short.finishReason]).toEqual([5, 'length']);
    expect(short.tokenIds).toEqual(plain.tokenIds.slice(0, 5));
    // A stop string from the middle of the text: the text ends just before it.
    const stop = ' went to';
    expect(plain.text).toContain(stop);
    const stopped = await run({ stop: [stop] });
    expect(stopped.finishReason).toBe('stop');
    expect(stopped.text).toBe(plain.text.slice(0, plain.text.indexOf(stop)));
  });

  it('passes topK to the sampler: topK 1 at temperature 1 gives the greedy tokens', async () => {
    const prompt = 'Once upon a time';
    const greedy = await collect(model.generate(prompt, { temperature: 0, maxNewTokens: 12 }));
    for (const seed of [1, 2]) {
      const top1 = await collect(model.generate(prompt, { topK: 1, temperature: 1, seed, maxNewTokens: 12 }));
      expect(top1.tokenIds).toEqual(greedy.tokenIds);
    }
  });

  it('reports the requested number of top tokens, apart from the sampling topK, with the in-process top tokens', async () => {
    const tops: number[][] = [];
    const options = { topK: 1, temperature: 1, seed: 3, maxNewTokens: 3 };
    await collect(
      model.generate('Once upon a time', {
        ...options,
        topTokens: 5,
        onTopTokens: (top) => tops.push(top.map((t) => t.tokenId)),
      }),
    );
    const localTops: number[][] = [];
    await collect(
      local.generate('Once upon a time', {
        ...options,
        onTopTokens: (top) => localTops.push(top.map((t) => t.tokenId)),
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(tops).toEqual(localTops.map((ids) => ids.slice(0, 5)));
  });

  it('signal aborts a running generation, and one aborted before it starts never runs', async () => {
    const controller = new AbortController();
    let chunks = 0;
    let summary: GenerateSummary | undefined;
    for await (const event of model.generate('Once upon a time', {
      temperature: 1,
      seed: 1,
      maxNewTokens: 40,
      signal: controller.signal,
    })) {
      if ('done' in event) summary = event;
      else if (++chunks === 2) controller.abort();
    }
    expect(summary?.finishReason).toBe('abort');
    expect(summary!.generatedTokens).toBeLessThan(40);
    const early = await collect(model.generate('Once upon a time', { signal: AbortSignal.abort() }));
    expect([early.finishReason, early.generatedTokens]).toEqual(['abort', 0]);
  });

  it('streams the chat completion the model in this thread streams, and answers the same completion', async () => {
    const request = {
      messages: MESSAGES,
      chat_template: TEMPLATE,
      max_tokens: 12,
      seed: 4,
      temperature: 0.9,
    };
    // Each model's cache starts from another conversation, so that neither reuses anything.
    await model.logits([1, 5]);
    await local.logits([1, 5]);
    const remote = await chunksOf(await model.chat.completions.create({ ...request, stream: true }));
    const mine = await chunksOf(await local.chat.completions.create({ ...request, stream: true }));
    expect(remote.length).toBeGreaterThan(3);
    expect(remote.map(chunkBody)).toStrictEqual(mine.map(chunkBody));
    expect(remote.every((c) => c.id === remote[0].id)).toBe(true);
    const content = remote.map((c) => c.choices[0].delta.content ?? '').join('');
    expect(content.length).toBeGreaterThan(5);

    await model.logits([1, 5]);
    await local.logits([1, 5]);
    const whole = await model.chat.completions.create(request);
    const { id: _, created: __, ...body } = whole;
    const { id: ___, created: ____, ...localBody } = await local.chat.completions.create(request);
    expect(body).toStrictEqual(localBody);
    expect(whole.choices[0].message.content).toBe(content);
  });

  it('chat over the worker: bad requests reject as in-process, signal aborts a stream and a completion', async () => {
    const bad = await model.chat.completions
      .create({ messages: MESSAGES, chat_template: TEMPLATE, top_p: 2, stream: true })
      .catch((e) => e);
    expect(bad).toBeInstanceOf(InvalidOptionError);
    expect(bad.option).toBe('top_p');
    const none = await model.chat.completions.create({ messages: MESSAGES }).catch((e) => e);
    expect(none).toBeInstanceOf(ChatTemplateError);
    expect(none).toMatchObject({ code: 'CHAT_TEMPLATE', template: undefined });
    expect(none.reason).toMatch(/chat template/);

    const controller = new AbortController();
    const stream = await model.chat.completions.create({
      messages: MESSAGES,
      chat_template: TEMPLATE,
      max_tokens: 30,
      stream: true,
      signal: controller.signal,
    });
    const got: ChatCompletionChunk[] = [];
    const error = await (async () => {
      for await (const chunk of stream) {
        got.push(chunk);
        if (got.length === 2) controller.abort();
      }
    })().catch((e) => e);
    expect(error).toBe(controller.signal.reason);
    expect(got.length).toBeLessThan(30);
    const reason = new Error('changed my mind');
    const aborted = model.chat.completions.create({
      messages: MESSAGES,
      chat_template: TEMPLATE,
      max_tokens: 30,
      signal: AbortSignal.abort(reason),
    });
    await expect(aborted).rejects.toBe(reason);
    // The worker's model is free again.
    const after = await model.chat.completions.create({
      messages: MESSAGES,
      chat_template: TEMPLATE,
      max_tokens: 2,
    });
    expect(after.usage.completion_tokens).toBe(2);
  });

  it('the server serves a model behind the worker as it serves one in this thread', async () => {
    const request = { messages: MESSAGES, max_tokens: 8, seed: 2, temperature: 0.8 };
    const answers: unknown[] = [];
    for (const engine of [model, local]) {
      const server = await startServer(engine, { port: 0, chatTemplate: TEMPLATE, modelId: 'tiny' });
      try {
        await engine.logits([1, 5]);
        const r = await fetch(`${server.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(request),
        });
        expect(r.status).toBe(200);
        const { id: _, created: __, ...body } = await r.json();
        answers.push(body);
      } finally {
        await server.close();
      }
    }
    expect(answers[0]).toMatchObject({ model: 'tiny', usage: { completion_tokens: 8 } });
    expect(answers[0]).toStrictEqual(answers[1]);
  });

  it('errors from the worker keep their class and every field', async () => {
    for (const length of [64, 65]) {
      const ids = Array.from({ length }, () => 1);
      const error = await collect(model.generate({ ids })).catch((e) => e);
      expect(error).toBeInstanceOf(ContextLengthError);
      expect(error).toMatchObject({ code: 'CONTEXT_LENGTH', tokens: length, maxContext: 64 });
    }
    const badKernel = await load({ kernels: { matmul: 'no.such.kernel' } }).catch((e) => e);
    expect(badKernel).toBeInstanceOf(InvalidOptionError);
    expect(badKernel).toMatchObject({ code: 'INVALID_OPTION', option: 'kernels' });

    const missing = await load({}, join(tmpdir(), 'wgpt-no-such-model')).catch((e) => e);
    expect(missing).toBeInstanceOf(ModelLoadError);
    expect(missing.file).toMatch(/config\.json|wgpt-no-such-model/);

    const weights = readFileSync(join(tinystories, 'model.safetensors'));
    const truncated = modelFolder({ 'model.safetensors': weights.subarray(0, weights.length >> 1) });
    const format = await load({}, truncated).catch((e) => e);
    expect(format).toBeInstanceOf(ModelFormatError);
    expect(format).toMatchObject({ code: 'MODEL_FORMAT', file: 'model.safetensors' });

    const config = JSON.parse(readFileSync(join(tinystories, 'config.json'), 'utf8'));
    const mamba = modelFolder({ 'config.json': JSON.stringify({ ...config, model_type: 'mamba' }) });
    const unsupported = await load({}, mamba).catch((e) => e);
    expect(unsupported).toBeInstanceOf(UnsupportedModelError);
    expect(unsupported.message).toContain('mamba');

    const m = await load({});
    await m.dispose();
    const disposed = await m.logits([1, 2]).catch((e) => e);
    expect(disposed).toBeInstanceOf(ModelStateError);
    expect(disposed.code).toBe('MODEL_STATE');
  });
});

/**
 * The engine in a Web Worker: the page talks to it through `WorkerEngine` / `RemoteModel`
 * (./client.ts), which implement the same `Engine` interface as `Model`. One model at a time.
 *
 * Besides the Engine's calls, the page can redraw the top tokens at another temperature exactly,
 * from the same logits, without running the model again: the worker keeps the prompt's last row
 * after analyze, and reads the latest generation step's row back from the GPU on demand.
 */
/// <reference lib="webworker" />
import { ModelStateError } from '../errors';
import { loadModel, type Model } from '../index';
import type { InspectResult } from '../inspect-types';
import type { LoadOptions, TopToken } from '../types';
import { cachedFetch, clearCache } from './cache';
import { entropyBits, probabilities, topIds } from './probabilities';
import { type ModelInfo, type RankedToken, type Request, type Response, serializeError } from './protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;

let model: Model | undefined;
/** The last full logits row (valid vocabulary only) and the ids it follows. */
let lastRow: Float32Array | undefined;
/** Temperature for the top tokens sent during a generation; the page may change it mid-run. */
let liveTemperature = 1;
const controllers = new Map<number, AbortController>();

function post(message: Response, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function requireModel(): Model {
  if (!model) throw new ModelStateError('no model is loaded');
  return model;
}

function validVocab(m: Model): number {
  return Math.min(m.tokenizer.vocabSize, m.config.vocabSize);
}

function rank(m: Model, row: Float32Array, k: number, temperature: number): RankedToken[] {
  const ids = topIds(row, k);
  const p = probabilities(row, ids, temperature);
  return ids.map((tokenId, i) => ({
    tokenId,
    text: m.tokenizer.tokenText(tokenId),
    logit: row[tokenId],
    probability: p[i],
  }));
}

/**
 * An inspect result whose arrays own their buffers, and those buffers to transfer: each array is
 * copied first, since the model's may be views of a larger buffer or of one it keeps.
 */
function transferable(result: InspectResult): [InspectResult, Transferable[]] {
  const buffers: Transferable[] = [];
  const own = (a: Float32Array) => {
    const copy = a.slice();
    buffers.push(copy.buffer);
    return copy;
  };
  const out: InspectResult = { ...result };
  if (result.attention) out.attention = result.attention.map((layer) => layer.map(own));
  if (result.residual) {
    const { stream, attention, mlp } = result.residual;
    out.residual = { stream: own(stream), attention: own(attention), mlp: own(mlp) };
  }
  return [out, buffers];
}

/** A request's abort controller (aborted already when the page's was), registered for 'abort' messages while `run` runs. */
async function abortable(req: Request, run: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  if (req.aborted) controller.abort(new DOMException('The operation was aborted.', 'AbortError'));
  controllers.set(req.id, controller);
  try {
    await run(controller.signal);
  } finally {
    controllers.delete(req.id);
  }
}

/**
 * Download progress of files fetched whole through the cache: per file, and overall across every
 * file of this load (the total known once every file started so far reported its size).
 */
function downloadReporter(id: number) {
  const files = new Map<string, { loaded: number; total: number | undefined }>();
  return (url: string, loaded: number, total: number | undefined) => {
    files.set(url, { loaded, total });
    let overallLoaded = 0;
    let overallTotal: number | undefined = 0;
    for (const f of files.values()) {
      overallLoaded += f.loaded;
      overallTotal = f.total === undefined || overallTotal === undefined ? undefined : overallTotal + f.total;
    }
    const file = url.split('/').pop() ?? url;
    post({
      id,
      type: 'progress',
      progress: { file, loaded, total, overallLoaded, overallTotal, phase: 'download' },
    });
  };
}

/** Tells the page when the device of `m` is lost (its current one: recover() replaces it). */
function watchLoss(m: Model): void {
  const gpu = m.gpu;
  gpu.lost.then((error) => {
    // dispose() destroys the device on purpose; only an unexpected loss is news.
    if (model === m && m.gpu === gpu && error.reason !== 'destroyed') {
      post({ id: 0, type: 'deviceLost', error: error.toJSON() });
    }
  });
}

async function load(req: Extract<Request, { type: 'load' }>, signal: AbortSignal): Promise<void> {
  await model?.dispose();
  model = undefined;
  lastRow = undefined;
  const { cache = 'wgpt-models', ...rest } = req.options;
  const cached = cache ? cachedFetch(cache, undefined, downloadReporter(req.id)) : undefined;
  const options: LoadOptions = {
    ...rest,
    signal,
    fetch: cached?.fetch,
    onProgress: (progress) => post({ id: req.id, type: 'progress', progress }),
    onTuningNote: req.tuningNotes
      ? (message) => post({ id: req.id, type: 'tuningNote', message })
      : undefined,
  };
  const loaded = await loadModel(req.source, options);
  await cached?.flush();
  model = loaded;
  watchLoss(loaded);
  const info: ModelInfo = {
    config: loaded.config,
    maxContext: loaded.maxContext,
    adapter: loaded.adapter,
    checkpoint: loaded.checkpoint,
    weightBytes: loaded.weightBytes,
    inspectMaxTokens: loaded.inspectMaxTokens,
    chatInfo: loaded.chatInfo,
  };
  post({ id: req.id, type: 'result', value: info });
}

async function generate(req: Extract<Request, { type: 'generate' }>, signal: AbortSignal): Promise<void> {
  const m = requireModel();
  liveTemperature = req.topTemperature ?? req.options.temperature ?? 1;
  // From now on the latest row is the generation's, read back from the GPU when asked for.
  lastRow = undefined;
  // The temperature of the probabilities the model reports with its top tokens.
  const sampling = req.options.temperature === 0 ? 1 : (req.options.temperature ?? 1);
  const k = req.topTokens;
  // The GPU sampler reports the top tokens at the sampling temperature; at another (the
  // page's slider moved), or more of them than it finds, the row is read back and ranked here.
  const onTopTokens = (top: TopToken[]) => {
    if (liveTemperature === sampling && k <= top.length) {
      post({ id: req.id, type: 'top', top: top.slice(0, k), temperature: liveTemperature });
      return;
    }
    const T = liveTemperature;
    m.lastLogits().then(
      (row) => post({ id: req.id, type: 'top', top: rank(m, row, k, T), temperature: T }),
      () => {},
    );
  };
  // Without a listener on the page, none here either: greedy decoding keeps its fast path.
  const stream = m.generate(req.prompt, {
    ...req.options,
    signal,
    onTopTokens: k > 0 ? onTopTokens : undefined,
  });
  for await (const event of stream) {
    if ('done' in event) post({ id: req.id, type: 'done', summary: event });
    else post({ id: req.id, type: 'chunk', chunk: event });
  }
  post({ id: req.id, type: 'result', value: undefined });
}

/** Runs model.chat.completions.create; a stream's chunks go one message each. */
async function chat(req: Extract<Request, { type: 'chat' }>, signal: AbortSignal): Promise<void> {
  const m = requireModel();
  lastRow = undefined;
  const answer = await m.chat.completions.create({ ...req.request, signal });
  if (!(Symbol.asyncIterator in answer)) {
    post({ id: req.id, type: 'result', value: answer });
    return;
  }
  post({ id: req.id, type: 'chatStarted' });
  for await (const chunk of answer) post({ id: req.id, type: 'chatChunk', chunk });
  post({ id: req.id, type: 'result', value: undefined });
}

async function handle(req: Request): Promise<void> {
  const reply = (value: unknown, transfer: Transferable[] = []) =>
    post({ id: req.id, type: 'result', value }, transfer);
  switch (req.type) {
    case 'load':
      return abortable(req, (signal) => load(req, signal));
    case 'generate':
      return abortable(req, (signal) => generate(req, signal));
    case 'chat':
      return abortable(req, (signal) => chat(req, signal));
    case 'logits': {
      const logits = await requireModel().logits(req.ids);
      return reply(logits, [logits.buffer]);
    }
    case 'lastLogits': {
      // A copy: the model's row is a view of a buffer it may reuse.
      const row = (await requireModel().lastLogits()).slice();
      return reply(row, [row.buffer]);
    }
    case 'encode':
      return reply(await requireModel().encode(req.text, { addSpecialTokens: req.addSpecialTokens }));
    case 'decode':
      return reply(await requireModel().decode(req.ids));
    case 'tokenTexts':
      return reply(await requireModel().tokenTexts(req.ids));
    case 'applyChatTemplate':
      return reply(await requireModel().applyChatTemplate(req.messages, req.options));
    case 'kernelChoices':
      return reply(await requireModel().kernelChoices());
    case 'inspect': {
      const result = await requireModel().inspect(req.ids, req.options);
      return reply(...transferable(result));
    }
    case 'nearest':
      return reply(await requireModel().embeddings.nearest(req.query, req.k));
    case 'arithmetic':
      return reply(await requireModel().embeddings.arithmetic(req.terms, req.k));
    case 'project':
      return reply(await requireModel().embeddings.project(req.items));
    case 'vector': {
      const row = (await requireModel().embeddings.vector(req.tokenId)).slice();
      return reply(row, [row.buffer]);
    }
    case 'analyze': {
      // The prompt's tokens and the next-token distribution after its last position.
      const m = requireModel();
      const ids = typeof req.prompt === 'string' ? m.tokenizer.encode(req.prompt) : req.prompt.ids;
      const pieces = ids.map((id) => m.tokenizer.tokenText(id));
      const logits = await m.logits(ids);
      const V = m.config.vocabSize;
      lastRow = logits.slice((ids.length - 1) * V, (ids.length - 1) * V + validVocab(m));
      liveTemperature = req.temperature;
      return reply({ ids, pieces, top: rank(m, lastRow, req.k, req.temperature) });
    }
    case 'topTokens': {
      const m = requireModel();
      liveTemperature = req.temperature;
      // After analyze the worker holds the row; after a generation it is read back from the GPU.
      const row = lastRow ?? (await m.lastLogits());
      return reply(rank(m, row, req.k, req.temperature));
    }
    case 'entropy': {
      const m = requireModel();
      const row = lastRow ?? (await m.lastLogits());
      return reply(entropyBits(row, req.temperature, validVocab(m)));
    }
    case 'abort':
      controllers.get(req.target)?.abort(new DOMException('The operation was aborted.', 'AbortError'));
      return reply(undefined);
    case 'recover': {
      const m = requireModel();
      await m.recover();
      watchLoss(m);
      return reply(undefined);
    }
    case 'dispose':
      await model?.dispose();
      model = undefined;
      lastRow = undefined;
      return reply(undefined);
    case 'clearCache':
      return reply(await clearCache(req.cache));
  }
}

scope.onmessage = (event: MessageEvent<Request>) => {
  const req = event.data;
  handle(req).catch((e) => post({ id: req.id, type: 'error', error: serializeError(e) }));
};

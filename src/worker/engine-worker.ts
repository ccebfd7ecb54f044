/**
 * The engine in a Web Worker: the page talks to it through `WorkerEngine` (./client.ts), which
 * exposes the same API as the main-thread engine. One model at a time.
 *
 * Besides generate and logits, the page can redraw the top tokens at another temperature exactly,
 * from the same logits, without running the model again: the worker keeps the prompt's last row
 * after analyze, and reads the latest generation step's row back from the GPU on demand.
 */
/// <reference lib="webworker" />
import { ModelStateError } from '../errors';
import { loadModel, type Model } from '../index';
import type { LoadOptions, TopToken } from '../types';
import { cachedFetch, clearCache } from './cache';
import { probabilities, topIds } from './probabilities';
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

async function handle(req: Request): Promise<void> {
  switch (req.type) {
    case 'load': {
      const controller = new AbortController();
      controllers.set(req.id, controller);
      try {
        model?.dispose();
        model = undefined;
        lastRow = undefined;
        const { cache = 'wgpt-models', ...rest } = req.options;
        const report = (url: string, loaded: number, total: number | undefined) =>
          post({
            id: req.id,
            type: 'progress',
            progress: {
              file: url.split('/').pop() ?? url,
              loaded,
              total,
              overallLoaded: loaded,
              overallTotal: total,
              phase: 'download',
            },
          });
        const cached = cache ? cachedFetch(cache, undefined, report) : undefined;
        const options: LoadOptions = {
          ...rest,
          signal: controller.signal,
          fetch: cached?.fetch,
          onProgress: (progress) => post({ id: req.id, type: 'progress', progress }),
        };
        const loaded = await loadModel(req.source, options);
        await cached?.flush();
        model = loaded;
        loaded.gpu.lost.then((error) => {
          // dispose() destroys the device on purpose; only an unexpected loss is news.
          if (model === loaded && error.reason !== 'destroyed') {
            post({ id: 0, type: 'deviceLost', error: error.toJSON() });
          }
        });
        const info: ModelInfo = {
          config: loaded.config,
          maxContext: loaded.maxContext,
          adapter: loaded.adapter,
          checkpoint: loaded.checkpoint,
          weightBytes: loaded.weightBytes,
        };
        post({ id: req.id, type: 'result', value: info });
      } finally {
        controllers.delete(req.id);
      }
      return;
    }
    case 'generate': {
      const m = requireModel();
      const controller = new AbortController();
      controllers.set(req.id, controller);
      liveTemperature = req.topTemperature ?? req.options.temperature ?? 1;
      // From now on the latest row is the generation's, read back from the GPU when asked for.
      lastRow = undefined;
      // The temperature of the probabilities the model reports with its top tokens.
      const sampling = req.options.temperature === 0 ? 1 : (req.options.temperature ?? 1);
      try {
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
          signal: controller.signal,
          onTopTokens: k > 0 ? onTopTokens : undefined,
        });
        for await (const event of stream) {
          if ('done' in event) post({ id: req.id, type: 'done', summary: event });
          else post({ id: req.id, type: 'chunk', chunk: event });
        }
        post({ id: req.id, type: 'result', value: undefined });
      } finally {
        controllers.delete(req.id);
      }
      return;
    }
    case 'logits': {
      const logits = await requireModel().logits(req.ids);
      post({ id: req.id, type: 'result', value: logits }, [logits.buffer]);
      return;
    }
    case 'tokenize': {
      const m = requireModel();
      const ids = m.tokenizer.encode(req.text);
      post({
        id: req.id,
        type: 'result',
        value: { ids, pieces: ids.map((id) => m.tokenizer.tokenText(id)) },
      });
      return;
    }
    case 'analyze': {
      // The prompt's tokens and the next-token distribution after its last position.
      const m = requireModel();
      const ids = m.tokenizer.encode(req.prompt);
      const pieces = ids.map((id) => m.tokenizer.tokenText(id));
      const logits = await m.logits(ids);
      const V = m.config.vocabSize;
      lastRow = logits.slice((ids.length - 1) * V, (ids.length - 1) * V + validVocab(m));
      liveTemperature = req.temperature;
      post({
        id: req.id,
        type: 'result',
        value: { ids, pieces, top: rank(m, lastRow, req.k, req.temperature) },
      });
      return;
    }
    case 'topTokens': {
      const m = requireModel();
      liveTemperature = req.temperature;
      // After analyze the worker holds the row; after a generation it is read back from the GPU.
      const row = lastRow ?? (await m.lastLogits());
      post({ id: req.id, type: 'result', value: rank(m, row, req.k, req.temperature) });
      return;
    }
    case 'abort':
      controllers.get(req.target)?.abort(new DOMException('The operation was aborted.', 'AbortError'));
      post({ id: req.id, type: 'result', value: undefined });
      return;
    case 'dispose':
      model?.dispose();
      model = undefined;
      lastRow = undefined;
      post({ id: req.id, type: 'result', value: undefined });
      return;
    case 'clearCache':
      post({ id: req.id, type: 'result', value: await clearCache(req.cache) });
      return;
  }
}

scope.onmessage = (event: MessageEvent<Request>) => {
  const req = event.data;
  handle(req).catch((e) => post({ id: req.id, type: 'error', error: serializeError(e) }));
};

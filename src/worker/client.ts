/**
 * The page side of the engine worker: `WorkerEngine.loadModel` returns a `RemoteModel` with the
 * same calls as `Model` (generate streamed, logits, dispose), run in a Web Worker so the page
 * stays responsive. Errors arrive with their class and message (`errorFromJSON`).
 *
 *   const engine = new WorkerEngine();
 *   const model = await engine.loadModel(url, { onProgress });
 *   for await (const event of model.generate('Once upon a time', { temperature: 0 })) ...
 */
import { errorFromJSON } from '../errors';
import type { GenerateEvent, GenerateOptions, LoadProgress, ModelSource } from '../types';
import type {
  ModelInfo,
  PromptTokens,
  RankedToken,
  Request,
  Response,
  SerializedError,
  WorkerLoadOptions,
} from './protocol';

export type { ModelInfo, PromptTokens, RankedToken, WorkerLoadOptions } from './protocol';

type Listener = (message: Response) => void;

/** Request without its id (a distributive Omit, so each variant keeps its fields). */
type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

export interface RemoteLoadOptions extends WorkerLoadOptions {
  onProgress?: (event: LoadProgress) => void;
  signal?: AbortSignal;
}

/**
 * `GenerateOptions` (`topK` included: it filters the sampler as in `Model.generate`), with the top
 * tokens reported at a count and temperature of the caller's choosing.
 */
export interface RemoteGenerateOptions extends Omit<GenerateOptions, 'onTopTokens'> {
  /** The most likely next tokens after each step, with probabilities over the whole vocabulary. */
  onTopTokens?: (top: RankedToken[], temperature: number) => void;
  /** How many top tokens `onTopTokens` receives (default 10). */
  topTokens?: number;
  /** Temperature for the reported probabilities (default: the sampling temperature). */
  topTemperature?: number;
}

export class WorkerEngine {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly listeners = new Map<number, Listener>();
  /** Called when the device of the loaded model is lost, or the worker itself fails. */
  onFatal?: (error: Error) => void;

  constructor(worker?: Worker) {
    this.worker = worker ?? new Worker(new URL('./engine-worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (event: MessageEvent<Response>) => {
      const message = event.data;
      if (message.type === 'deviceLost') this.onFatal?.(errorFromJSON(message.error));
      else this.listeners.get(message.id)?.(message);
    };
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.onFatal?.(new Error(`the engine worker failed: ${event.message || 'unknown error'}`));
    };
  }

  /** Sends a request; `listener` sees every answer until the returned promise settles. */
  request<T>(body: RequestBody, listener?: Listener, signal?: AbortSignal): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => this.send({ type: 'abort', target: id });
      const settle = () => {
        this.listeners.delete(id);
        signal?.removeEventListener('abort', onAbort);
      };
      this.listeners.set(id, (message) => {
        if (message.type === 'result') {
          settle();
          resolve(message.value as T);
        } else if (message.type === 'error') {
          settle();
          reject(errorFromJSON(message.error as SerializedError));
        } else listener?.(message);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.worker.postMessage({ ...body, id });
      if (signal?.aborted) onAbort();
    });
  }

  private send(body: RequestBody): void {
    this.worker.postMessage({ ...body, id: this.nextId++ });
  }

  /** Loads a model in the worker (replacing the one loaded before). */
  async loadModel(source: ModelSource, options: RemoteLoadOptions = {}): Promise<RemoteModel> {
    const { onProgress, signal, ...rest } = options;
    const info = await this.request<ModelInfo>(
      { type: 'load', source, options: rest },
      (m) => m.type === 'progress' && onProgress?.(m.progress),
      signal,
    );
    return new RemoteModel(this, info);
  }

  /** Empties the Cache Storage that downloads are kept in. */
  clearCache(cache = 'wgpt-models'): Promise<boolean> {
    return this.request({ type: 'clearCache', cache });
  }

  terminate(): void {
    this.worker.terminate();
    for (const listener of this.listeners.values()) {
      listener({
        id: 0,
        type: 'error',
        error: { name: 'Error', message: 'the engine worker was terminated' },
      });
    }
  }
}

export class RemoteModel {
  readonly config: ModelInfo['config'];
  readonly maxContext: number;
  readonly adapter: ModelInfo['adapter'];
  readonly checkpoint: ModelInfo['checkpoint'];
  readonly weightBytes: number;
  constructor(
    private readonly engine: WorkerEngine,
    info: ModelInfo,
  ) {
    this.config = info.config;
    this.maxContext = info.maxContext;
    this.adapter = info.adapter;
    this.checkpoint = info.checkpoint;
    this.weightBytes = info.weightBytes;
  }

  /** Streams generated text, as `Model.generate`; `signal` stops it (finish reason 'abort'). */
  async *generate(
    prompt: string | { ids: number[] },
    options: RemoteGenerateOptions = {},
  ): AsyncGenerator<GenerateEvent> {
    const { signal, onTopTokens, topTokens = 10, topTemperature, ...rest } = options;
    // Aborted by the caller's signal, or when the caller stops iterating early.
    const controller = new AbortController();
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    if (signal?.aborted) forward();
    const queue: GenerateEvent[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: unknown;
    const done = this.engine
      .request<void>(
        { type: 'generate', prompt, options: rest, topTokens: onTopTokens ? topTokens : 0, topTemperature },
        (m) => {
          if (m.type === 'chunk') queue.push(m.chunk);
          else if (m.type === 'done') queue.push(m.summary);
          else if (m.type === 'top') onTopTokens?.(m.top, m.temperature);
          wake?.();
        },
        controller.signal,
      )
      .catch((e) => {
        failure = e;
      })
      .finally(() => {
        finished = true;
        wake?.();
      });
    try {
      while (true) {
        if (queue.length) {
          const event = queue.shift()!;
          yield event;
          if ('done' in event) break;
          continue;
        }
        if (finished) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      await done;
      if (failure) throw failure;
    } finally {
      signal?.removeEventListener('abort', forward);
      if (!finished) controller.abort();
    }
  }

  /** Scores of every position (ids.length x vocabSize), as `Model.logits`. */
  logits(ids: number[]): Promise<Float32Array> {
    return this.engine.request({ type: 'logits', ids });
  }

  tokenize(text: string): Promise<PromptTokens> {
    return this.engine.request({ type: 'tokenize', text });
  }

  /** The prompt's tokens and the k most likely next tokens after its last position. */
  analyze(prompt: string, k: number, temperature: number): Promise<PromptTokens & { top: RankedToken[] }> {
    return this.engine.request({ type: 'analyze', prompt, k, temperature });
  }

  /** Re-ranks the last logits row the worker saw (prompt or latest step) at another temperature. */
  topTokens(k: number, temperature: number): Promise<RankedToken[]> {
    return this.engine.request({ type: 'topTokens', k, temperature });
  }

  dispose(): Promise<void> {
    return this.engine.request({ type: 'dispose' });
  }
}

/**
 * The page side of the engine worker: `WorkerEngine.loadModel` returns a `RemoteModel`, which
 * implements `Engine` (src/engine.ts) like `Model` does, each call run by the `Model` in a Web
 * Worker so the page stays responsive. Errors arrive with their class and fields
 * (`errorFromJSON`); callbacks (`onProgress`, `onTuningNote`, `onTopTokens`) are called from the
 * worker's messages.
 *
 *   const engine = new WorkerEngine();
 *   const model = await engine.loadModel(url, { onProgress });
 *   for await (const event of model.generate('Once upon a time', { temperature: 0 })) ...
 *   const stream = await model.chat.completions.create({ messages, stream: true });
 */
import type { ChatMessage, ChatTemplateOptions } from '../checkpoint/chat-template';
import type { ChatInfo, Engine } from '../engine';
import { errorFromJSON } from '../errors';
import type { TuningChoice } from '../gpu/tuning';
import type { Embeddings, InspectOptions, InspectResult } from '../inspect-types';
import type {
  Chat,
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatCompletions,
} from '../model/chat';
import { validateGenerateOptions } from '../model/options';
import type { GenerateEvent, GenerateOptions, LoadOptions, ModelSource } from '../types';
import type { ModelInfo, Request, Response, Results, SerializedError, WorkerLoadOptions } from './protocol';

export type { ModelInfo, PromptTokens, RankedToken, WorkerLoadOptions } from './protocol';

type Listener = (message: Response) => void;

/** Request without its id (a distributive Omit, so each variant keeps its fields). */
type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;

export interface RemoteLoadOptions
  extends WorkerLoadOptions,
    Pick<LoadOptions, 'onProgress' | 'onTuningNote' | 'signal'> {}

/**
 * `GenerateOptions`, with the top tokens (`onTopTokens`) reported at a count and temperature of
 * the caller's choosing, apart from the sampler's own `topK`.
 */
export interface RemoteGenerateOptions extends GenerateOptions {
  /** How many top tokens `onTopTokens` receives (default 10). */
  topTokens?: number;
  /** Temperature of the reported probabilities (default: the sampling temperature). */
  topTemperature?: number;
}

/**
 * The answers of one request, kept until the caller takes them: `next` waits for one; the
 * iteration ends after the last, or throws the request's error.
 */
class Inbox<T> {
  private readonly items: T[] = [];
  private wake?: () => void;
  private ended = false;
  private failure: unknown;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  end(failure?: unknown): void {
    this.ended = true;
    this.failure = failure;
    this.wake?.();
  }

  get finished(): boolean {
    return this.ended;
  }

  async *drain(): AsyncGenerator<T> {
    while (true) {
      if (this.items.length) {
        yield this.items.shift()!;
        continue;
      }
      if (this.ended) break;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
    if (this.failure !== undefined) throw this.failure;
  }
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

  /**
   * Sends a request; `listener` sees every answer until the returned promise settles. Aborting
   * `signal` asks the worker to abort the request; the promise then rejects with the signal's reason.
   */
  request<B extends RequestBody>(
    body: B,
    listener?: Listener,
    signal?: AbortSignal,
  ): Promise<Results[B['type']]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => this.send({ type: 'abort', target: id });
      const settle = () => {
        this.listeners.delete(id);
        signal?.removeEventListener('abort', onAbort);
      };
      this.listeners.set(id, (message) => {
        if (message.type === 'result') {
          settle();
          resolve(message.value as Results[B['type']]);
        } else if (message.type === 'error') {
          settle();
          reject(signal?.aborted ? signal.reason : errorFromJSON(message.error as SerializedError));
        } else listener?.(message);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.worker.postMessage({ ...body, id, ...(signal?.aborted ? { aborted: true } : {}) });
    });
  }

  private send(body: RequestBody): void {
    this.worker.postMessage({ ...body, id: this.nextId++ });
  }

  /** Loads a model in the worker (replacing the one loaded before, which later calls no longer reach). */
  async loadModel(source: ModelSource, options: RemoteLoadOptions = {}): Promise<RemoteModel> {
    const { onProgress, onTuningNote, signal, ...rest } = options;
    const info = await this.request(
      { type: 'load', source, options: rest, tuningNotes: onTuningNote !== undefined },
      (m) => {
        if (m.type === 'progress') onProgress?.(m.progress);
        else if (m.type === 'tuningNote') onTuningNote?.(m.message);
      },
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

/** A model loaded in the engine worker, with the calls of `Model` (the `Engine` interface). */
export class RemoteModel implements Engine {
  readonly config: ModelInfo['config'];
  readonly maxContext: number;
  readonly adapter: ModelInfo['adapter'];
  readonly checkpoint: ModelInfo['checkpoint'];
  readonly weightBytes: number;
  readonly inspectMaxTokens: number;
  readonly chatInfo: ChatInfo;
  /** `chat.completions.create`, run by the worker's model; a stream's chunks arrive as it writes them. */
  readonly chat: Chat;
  /** The worker's `model.embeddings`: nearest neighbours, arithmetic, projections, rows. */
  readonly embeddings: Embeddings;

  constructor(
    private readonly engine: WorkerEngine,
    info: ModelInfo,
  ) {
    this.config = info.config;
    this.maxContext = info.maxContext;
    this.adapter = info.adapter;
    this.checkpoint = info.checkpoint;
    this.weightBytes = info.weightBytes;
    this.inspectMaxTokens = info.inspectMaxTokens;
    this.chatInfo = info.chatInfo;
    this.chat = { completions: { create: (request) => this.createChat(request) } as ChatCompletions };
    this.embeddings = {
      nearest: (query, k) => this.engine.request({ type: 'nearest', query, k }),
      arithmetic: (terms, k) => this.engine.request({ type: 'arithmetic', terms, k }),
      project: (items) => this.engine.request({ type: 'project', items }),
      vector: (tokenId) => this.engine.request({ type: 'vector', tokenId }),
    };
  }

  /**
   * Streams generated text, as `Model.generate` (options are validated now, as there);
   * `signal` stops it (finish reason 'abort'), and so does leaving the iteration early.
   */
  generate(
    prompt: string | { ids: number[] },
    options: RemoteGenerateOptions = {},
  ): AsyncGenerator<GenerateEvent> {
    // topTokens and topTemperature are this front's own: the engine's options are the rest.
    const { topTokens: _, topTemperature: __, ...generateOptions } = options;
    validateGenerateOptions(generateOptions);
    return this.stream(prompt, options);
  }

  private async *stream(
    prompt: string | { ids: number[] },
    options: RemoteGenerateOptions,
  ): AsyncGenerator<GenerateEvent> {
    const { signal, onTopTokens, topTokens = 10, topTemperature, ...rest } = options;
    const controller = new AbortController();
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    if (signal?.aborted) forward();
    const inbox = new Inbox<GenerateEvent>();
    this.engine
      .request(
        { type: 'generate', prompt, options: rest, topTokens: onTopTokens ? topTokens : 0, topTemperature },
        (m) => {
          if (m.type === 'chunk') inbox.push(m.chunk);
          else if (m.type === 'done') inbox.push(m.summary);
          else if (m.type === 'top') onTopTokens?.(m.top);
        },
        controller.signal,
      )
      .then(
        () => inbox.end(),
        (e) => inbox.end(e),
      );
    try {
      for await (const event of inbox.drain()) {
        yield event;
        if ('done' in event) break;
      }
    } finally {
      signal?.removeEventListener('abort', forward);
      if (!inbox.finished) controller.abort();
    }
  }

  /**
   * The worker runs the request (its `signal` stays here: aborting it aborts the worker's). A
   * stream resolves once the worker accepted the request, so a bad request rejects here as it
   * does in-process; its chunks then arrive one message each.
   */
  private createChat(
    request: ChatCompletionRequest,
  ): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const { signal, ...body } = request;
    if (!request.stream) {
      return this.engine.request(
        { type: 'chat', request: body },
        undefined,
        signal,
      ) as Promise<ChatCompletion>;
    }
    const controller = new AbortController();
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    if (signal?.aborted) forward();
    const inbox = new Inbox<ChatCompletionChunk>();
    return new Promise((resolve, reject) => {
      async function* chunks(): AsyncGenerator<ChatCompletionChunk> {
        try {
          yield* inbox.drain();
        } finally {
          signal?.removeEventListener('abort', forward);
          if (!inbox.finished) controller.abort();
        }
      }
      this.engine
        .request(
          { type: 'chat', request: body },
          (m) => {
            if (m.type === 'chatStarted') resolve(chunks());
            else if (m.type === 'chatChunk') inbox.push(m.chunk);
          },
          controller.signal,
        )
        .then(
          () => inbox.end(),
          (e) => {
            inbox.end(e);
            signal?.removeEventListener('abort', forward);
            reject(e);
          },
        );
    });
  }

  /** Scores of every position (ids.length x vocabSize), as `Model.logits`. */
  logits(ids: number[]): Promise<Float32Array> {
    return this.engine.request({ type: 'logits', ids });
  }

  lastLogits(): Promise<Float32Array> {
    return this.engine.request({ type: 'lastLogits' });
  }

  encode(text: string, options: { addSpecialTokens?: boolean } = {}): Promise<number[]> {
    return this.engine.request({ type: 'encode', text, addSpecialTokens: options.addSpecialTokens });
  }

  decode(ids: number[]): Promise<string> {
    return this.engine.request({ type: 'decode', ids });
  }

  tokenTexts(ids: number[]): Promise<string[]> {
    return this.engine.request({ type: 'tokenTexts', ids });
  }

  applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions): Promise<string> {
    return this.engine.request({ type: 'applyChatTemplate', messages, options });
  }

  kernelChoices(): Promise<TuningChoice[]> {
    return this.engine.request({ type: 'kernelChoices' });
  }

  /** What the prompt does inside the model (attention, logit lens, residual norms), as `Model.inspect`. */
  inspect(ids: number[], options: InspectOptions = {}): Promise<InspectResult> {
    return this.engine.request({ type: 'inspect', ids, options });
  }

  /** The prompt's tokens (text, or ids as given) and the k most likely next tokens after its last position (the demo's panel). */
  analyze(prompt: string | { ids: number[] }, k: number, temperature: number): Promise<Results['analyze']> {
    return this.engine.request({ type: 'analyze', prompt, k, temperature });
  }

  /** Re-ranks the last logits row the worker saw (prompt or latest step) at another temperature. */
  topTokens(k: number, temperature: number): Promise<Results['topTokens']> {
    return this.engine.request({ type: 'topTokens', k, temperature });
  }

  /** The entropy in bits of the next-token distribution of that row at a temperature. */
  entropy(temperature: number): Promise<number> {
    return this.engine.request({ type: 'entropy', temperature });
  }

  recover(): Promise<void> {
    return this.engine.request({ type: 'recover' });
  }

  dispose(): Promise<void> {
    return this.engine.request({ type: 'dispose' });
  }
}

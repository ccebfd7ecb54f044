/**
 * `loadModel` and `Model`: the public face of the engine. Everything that can be checked on the
 * CPU (files, headers, shapes, options, prompt length) is checked before any GPU work.
 */

import type { ChatMessage, ChatTemplateOptions } from '../checkpoint/chat-template';
import { openCheckpoint } from '../checkpoint/checkpoint';
import type { ModelConfig } from '../checkpoint/config';
import type { Tokenizer } from '../checkpoint/tokenizer';
import { NON_FINITE } from '../cpu/argmax';
import type { ChatInfo, CheckpointInfo, Engine } from '../engine';
import {
  ContextLengthError,
  GpuOperationError,
  InvalidOptionError,
  ModelStateError,
  NumericalError,
  WgptError,
} from '../errors';
import { Gpu } from '../gpu/gpu';
import { defaultTuningStore, type TuningChoice } from '../gpu/tuning';
import type { Embeddings, InspectOptions, InspectResult } from '../inspect-types';
import type {
  FinishReason,
  GenerateEvent,
  GenerateOptions,
  GenerateSummary,
  LoadOptions,
  ModelSource,
  TopToken,
} from '../types';
import { type Chat, chatStopTokens, createChat } from './chat';
import { firstNonFiniteLayer } from './cpu-ops';
import { createEmbeddings } from './embeddings';
import { uploadBytes } from './gpu-weights';
import { assembleInspection, validateInspectOptions } from './inspect';
import { fitMemory } from './memory';
import { validateGenerateOptions, validateLoadOptions } from './options';
import { GpuRunner, type Sampled, type SampleRequest } from './runner';
import { Rng } from './sampler';

/**
 * Loads a model (a Hugging Face folder, URL or repo id; a GGUF file; or picked files) and uploads
 * it to the GPU, tensor by tensor.
 */
export async function loadModel(source: ModelSource, options: LoadOptions = {}): Promise<Model> {
  checkSource(source);
  const valid = validateLoadOptions(options);
  const ckpt = await openCheckpoint(source, {
    fetch: options.fetch,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  const { config, tokenizer, weights } = ckpt;
  const wanted = options.maxContext ?? config.maxContext;
  if (wanted > config.maxContext) {
    throw new InvalidOptionError(
      'maxContext',
      `${wanted} exceeds the model's context length of ${config.maxContext}`,
    );
  }
  options.signal?.throwIfAborted();
  const tuning = {
    mode: valid.tuning,
    force: valid.kernels,
    store: options.tuningCache === false ? null : defaultTuningStore(options.tuningCache),
    log: options.onTuningNote,
  };
  const kvF16 = valid.kvDtype === 'f16';
  /** A device (the caller's, else a new one) with the model uploaded to it. */
  const build = async (device: GPUDevice | undefined, maxContext: number) => {
    const gpu = await Gpu.create({ device, tuning });
    try {
      // Everything the model will allocate, checked against the device before any upload.
      const ctx = fitMemory(
        config,
        weights,
        valid.dtype,
        kvF16,
        maxContext,
        gpu.limits,
        options.memoryLimit,
        options.fitContext ?? false,
      );
      let uploaded = 0;
      const total = uploadBytes(weights, valid.dtype);
      const runner = await GpuRunner.create(gpu, config, weights, {
        dtype: valid.dtype,
        kvDtype: valid.kvDtype,
        maxContext: ctx,
        validVocab: Math.min(tokenizer.vocabSize, config.vocabSize),
        onUpload: (bytes) => {
          uploaded += bytes;
          options.onProgress?.({
            file: 'GPU',
            loaded: uploaded,
            total,
            overallLoaded: uploaded,
            overallTotal: total,
            phase: 'upload',
          });
        },
      });
      return { gpu, runner, ownsDevice: !device };
    } catch (e) {
      if (!device) gpu.destroy();
      throw e;
    }
  };
  const built = await build(options.device, wanted);
  const info: CheckpointInfo = {
    format: ckpt.format,
    source: ckpt.describe,
    tensorFormats: ckpt.tensorFormats,
    tensorBytes: ckpt.tensorBytes,
  };
  // Bisecting a NumericalError on the CPU reads every weight: only for models it can afford.
  const diagnose =
    uploadBytes(weights, valid.dtype) <= DIAGNOSE_BYTES
      ? (ids: number[]) => firstNonFiniteLayer(config, weights, valid.dtype, ids)
      : undefined;
  return new Model(
    config,
    tokenizer,
    built,
    info,
    (device) => build(device, built.runner.opts.maxContext),
    diagnose,
  );
}

/** Models up to this many weight bytes get the CPU bisection of a NumericalError. */
const DIAGNOSE_BYTES = 256 * 2 ** 20;

/** A source loadModel can open; anything else is an InvalidOptionError before any work. */
function checkSource(source: unknown): void {
  const ok =
    (typeof source === 'string' && source.length > 0) ||
    (typeof source === 'object' &&
      source !== null &&
      (Array.isArray(source) ||
        (typeof FileList !== 'undefined' && source instanceof FileList) ||
        Object.keys(source).length > 0));
  if (!ok) {
    throw new InvalidOptionError(
      'source',
      `must be a folder path, URL, Hugging Face repo id, .gguf path, { repo, file }, a map of file names to contents, or picked files; got ${source === '' ? "''" : String(source)}`,
    );
  }
}

/** What loadModel builds on a device: the device, the uploaded model, and whether the device is ours. */
interface Built {
  gpu: Gpu;
  runner: GpuRunner;
  ownsDevice: boolean;
}

export type { CheckpointInfo } from '../engine';

/**
 * Requests (generate, logits, chat completions) run one at a time, first come first served: a
 * request that finds the model running waits in `queue` for its turn. The KV cache keeps what the
 * last request left in it; `cachedIds` are the ids whose K/V it holds at positions 0.., so that a
 * prompt starting with them (the next turn of a conversation) prefills only what is new.
 */
export class Model implements Engine {
  private disposed = false;
  private disposing?: Promise<void>;
  private running = false;
  /** Waiting requests, oldest first: each is called with true when its turn comes, false when the model is disposed. */
  private readonly queue: ((run: boolean) => void)[] = [];
  /** The GPU work a request awaits now (dispose waits for it before freeing anything). */
  private inFlight?: Promise<unknown>;
  private current: Built;
  /** Token ids whose K/V are in the cache at positions 0..cachedIds.length-1. */
  private cachedIds: number[] = [];
  private chatApi?: Chat;
  private embeddingsApi?: ReturnType<typeof createEmbeddings>;
  private chatInfoCache?: ChatInfo;

  /** @internal use loadModel */
  constructor(
    readonly config: ModelConfig,
    readonly tokenizer: Tokenizer,
    built: Built,
    /** What the model was loaded from: format, tensor formats and bytes. */
    readonly checkpoint: CheckpointInfo,
    /** Uploads the model again, to the given device or a new one (recover). */
    private readonly rebuild: (device?: GPUDevice) => Promise<Built>,
    /** The first layer whose output is non-finite for these ids, on the CPU reference. */
    private readonly diagnose?: (ids: number[]) => Promise<number | undefined>,
  ) {
    this.current = built;
  }

  /** The device the model runs on (a new one after `recover`). */
  get gpu(): Gpu {
    return this.current.gpu;
  }

  private get runner(): GpuRunner {
    return this.current.runner;
  }

  /** Positions the KV cache holds: prompt plus generated tokens. */
  get maxContext(): number {
    return this.current.runner.opts.maxContext;
  }

  /** Bytes of weights resident on the GPU (what one decode step reads at least once). */
  get weightBytes(): number {
    return this.runner.weightBytes;
  }

  /**
   * The kernel variant each tuned op runs at each shape on this adapter, and where the choice came
   * from ('tuned' now, read from the 'cache', 'forced' by the `kernels` option, or the 'default'),
   * with every candidate's timing when it was tuned now.
   */
  kernelChoices(): Promise<TuningChoice[]> {
    return this.gpu.tuning.choices();
  }

  /** Adapter description: vendor, architecture, and whether it is a software (CPU) implementation. */
  get adapter() {
    return this.gpu.adapter;
  }

  /** OpenAI-style chat completions: `model.chat.completions.create({ messages })` (see chat.ts). */
  get chat(): Chat {
    this.chatApi ??= createChat(this);
    return this.chatApi;
  }

  /** The model's chat template names and the tokens a chat answer ends at. */
  get chatInfo(): ChatInfo {
    this.chatInfoCache ??= {
      templates: [...this.tokenizer.chatTemplates.templates.keys()],
      stopTokens: chatStopTokens(this),
    };
    return this.chatInfoCache;
  }

  /** `tokenizer.encode`, as the Engine interface has it (async, like the worker's). */
  async encode(text: string, options?: { addSpecialTokens?: boolean }): Promise<number[]> {
    return this.tokenizer.encode(text, options);
  }

  /** `tokenizer.decode`, as the Engine interface has it. */
  async decode(ids: number[]): Promise<string> {
    return this.tokenizer.decode(ids);
  }

  /** `tokenizer.tokenText` of each id. */
  async tokenTexts(ids: number[]): Promise<string[]> {
    return ids.map((id) => this.tokenizer.tokenText(id));
  }

  /** `tokenizer.applyChatTemplate`, as the Engine interface has it. */
  async applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions): Promise<string> {
    return this.tokenizer.applyChatTemplate(messages, options);
  }

  private checkUsable(): void {
    if (this.disposed) throw new ModelStateError('the model has been disposed');
    if (this.gpu.lostError) throw this.gpu.lostError;
  }

  /**
   * Waits for this request's turn. Resolves true when the request holds the model (it must call
   * `release` when done), false when `signal` aborted first: the request then left the queue
   * without running.
   */
  private acquire(signal?: AbortSignal): Promise<'run' | 'aborted' | 'disposed'> {
    if (this.disposed) return Promise.resolve('disposed');
    if (signal?.aborted) return Promise.resolve('aborted');
    if (!this.running) {
      this.running = true;
      return Promise.resolve('run');
    }
    return new Promise((resolve) => {
      const turn = (run: boolean) => {
        signal?.removeEventListener('abort', drop);
        resolve(run ? 'run' : 'disposed');
      };
      const drop = () => {
        const i = this.queue.indexOf(turn);
        if (i >= 0) this.queue.splice(i, 1);
        resolve('aborted');
      };
      this.queue.push(turn);
      signal?.addEventListener('abort', drop, { once: true });
    });
  }

  /** Hands the model to the oldest waiting request. */
  private release(): void {
    const next = this.queue.shift();
    if (next) next(true);
    else this.running = false;
  }

  /**
   * Runs `work` as one request: in its turn in the queue, with GPU errors typed as gpuWork types
   * them (embeddings, inspect). The KV cache is left as `keepsCache` says.
   */
  private async exclusive<T>(work: (runner: GpuRunner) => Promise<T>, keepsCache = true): Promise<T> {
    this.checkUsable();
    if ((await this.acquire()) === 'disposed') throw new ModelStateError('the model has been disposed');
    try {
      this.checkUsable();
      if (!keepsCache) this.cachedIds = [];
      return await this.gpuWork(work(this.runner));
    } finally {
      this.release();
    }
  }

  /**
   * Runs ids through the model on the generation's own GPU path and returns what it did: the
   * attention probabilities of the chosen layers and heads, the logit lens of every layer, the
   * norms of the residual stream and of its updates (src/inspect-types.ts). At most
   * `inspectMaxTokens` ids. The KV cache it overwrites is not reused: a following generate()
   * returns what it would have without the inspect.
   */
  async inspect(ids: number[], options: InspectOptions = {}): Promise<InspectResult> {
    const o = validateInspectOptions(options, this.config);
    this.checkIds(ids, 'ids');
    const max = this.runner.inspectMax;
    if (ids.length > max) {
      throw new ContextLengthError(ids.length, max, `inspect takes at most ${max} tokens, got ${ids.length}`);
    }
    ids = ids.slice();
    const raw = await this.exclusive((runner) => runner.inspect(ids), false);
    const valid = Math.min(this.tokenizer.vocabSize, this.config.vocabSize);
    return assembleInspection(this.config, ids, raw, o, valid, (id) => this.tokenizer.tokenText(id));
  }

  /** The most tokens one inspect takes. */
  get inspectMaxTokens(): number {
    return this.runner.inspectMax;
  }

  /** The token embedding matrix on the GPU: nearest neighbours, arithmetic, projections (embeddings.ts). */
  get embeddings(): Embeddings {
    this.embeddingsApi ??= createEmbeddings({
      config: this.config,
      tokenizer: this.tokenizer,
      gpu: () => this.gpu,
      table: () => this.runner.weights.wte,
      run: (work) => this.exclusive((runner) => work(runner.gpu, runner.weights.wte)),
    });
    return this.embeddingsApi;
  }

  /**
   * Awaits GPU work of the request holding the model. dispose() waits for it; an error it ends
   * with is typed: the device's loss, the model's disposal, or a GpuOperationError.
   */
  private async gpuWork<T>(work: Promise<T>): Promise<T> {
    this.inFlight = work;
    try {
      return await work;
    } catch (e) {
      if (this.gpu.lostError) throw this.gpu.lostError;
      if (this.disposed) throw new ModelStateError('the model was disposed during the request', { cause: e });
      if (e instanceof WgptError) throw e;
      throw new GpuOperationError(`GPU work failed: ${(e as Error)?.message || String(e)}`, { cause: e });
    } finally {
      if (this.inFlight === work) this.inFlight = undefined;
    }
  }

  private checkIds(ids: number[], what: string): void {
    if (!Array.isArray(ids) || ids.length === 0)
      throw new InvalidOptionError(what, 'must be a non-empty array of token ids');
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) {
        throw new InvalidOptionError(what, `token id ${id} is outside [0, ${this.config.vocabSize})`);
      }
    }
    if (ids.length > this.maxContext) throw new ContextLengthError(ids.length, this.maxContext);
  }

  /**
   * Scores of every position: a Float32Array of ids.length x vocabSize, computed on the GPU (prefill
   * path). Waits its turn behind earlier requests.
   */
  async logits(ids: number[]): Promise<Float32Array> {
    this.checkIds(ids, 'ids');
    this.checkUsable();
    ids = ids.slice();
    if ((await this.acquire()) === 'disposed') throw new ModelStateError('the model has been disposed');
    try {
      this.checkUsable();
      // The pass rewrites the cache from position 0: until it is done, nothing in it is known.
      this.cachedIds = [];
      const out = await this.gpuWork(this.runner.logitsAll(ids));
      this.cachedIds = ids;
      return out;
    } finally {
      this.release();
    }
  }

  /**
   * Streams generated text: chunks `{ text, tokenId }`, then one summary (`done: true`).
   * A string prompt is tokenized as the tokenizer config says (BOS included where it asks);
   * `{ ids }` is used exactly as given. The request takes its place in the queue when iteration
   * starts; aborting `signal` while it waits drops it from the queue, and it ends with a summary
   * of finish reason 'abort' without running. The prompt's longest common prefix with the ids
   * whose K/V the cache holds (the previous request's prompt and generated tokens) is not
   * prefilled again (`reusedTokens` in the summary).
   */
  generate(prompt: string | { ids: number[] }, options: GenerateOptions = {}): AsyncGenerator<GenerateEvent> {
    const ids = typeof prompt === 'string' ? this.tokenizer.encode(prompt) : prompt?.ids;
    return this.generateIds(ids, options, [], typeof prompt === 'string' ? 'prompt' : 'ids');
  }

  /**
   * @internal generate from prompt ids (chat.ts), also ending with finish reason 'stop' at any of
   * `endIds` (end-of-turn tokens), which, like EOS, never reach the text.
   */
  generateIds(
    ids: number[],
    options: GenerateOptions,
    endIds: readonly number[],
    what = 'ids',
  ): AsyncGenerator<GenerateEvent> {
    // Validation runs now, so a bad call throws here rather than on the first iteration.
    const opts = validateGenerateOptions(options);
    this.checkIds(ids, what);
    if (ids.length >= this.maxContext) {
      throw new ContextLengthError(
        ids.length,
        this.maxContext,
        `prompt of ${ids.length} tokens leaves no room to generate in the context of ${this.maxContext}`,
      );
    }
    if (this.disposed) throw new ModelStateError('the model has been disposed');
    return this.run(ids.slice(), opts, options, endIds);
  }

  private async *run(
    promptIds: number[],
    opts: ReturnType<typeof validateGenerateOptions>,
    raw: GenerateOptions,
    endIds: readonly number[],
  ): AsyncGenerator<GenerateEvent> {
    const queuedAt = performance.now();
    const turn = await this.acquire(opts.signal);
    if (turn === 'disposed') throw new ModelStateError('the model was disposed before the request ran');
    if (turn === 'aborted') {
      yield {
        done: true,
        promptTokens: promptIds.length,
        generatedTokens: 0,
        reusedTokens: 0,
        prefillMs: 0,
        timeToFirstTokenMs: performance.now() - queuedAt,
        prefillTokensPerSecond: 0,
        decodeTokensPerSecond: 0,
        finishReason: 'abort',
        tokenIds: [],
        promptIds,
      };
      return;
    }
    try {
      this.checkUsable();
      const started = performance.now();
      const rng = new Rng(opts.seed);
      // Pure greedy reads back the argmax; everything else is drawn by the GPU sampler, which keeps
      // the repetition history (the prompt, then each id it picks) in its own bitset.
      const greedy = opts.temperature === 0 && opts.repetitionPenalty === 1 && !raw.onTopTokens;
      if (!greedy) this.runner.setSeen(promptIds);
      const { temperature, topK, topP, minP, repetitionPenalty } = opts;
      // One r per step from the seeded generator, none when greedy: the CPU sampler's rule.
      const request = (): SampleRequest | true =>
        greedy
          ? true
          : {
              step: { temperature, topK, topP, minP, repetitionPenalty, r: temperature > 0 ? rng.next() : 0 },
              topN: raw.onTopTokens !== undefined,
            };
      const stream = this.tokenizer.createStream();
      const stops = opts.stop;
      const holdBack = stops.length ? Math.max(...stops.map((s) => s.length)) - 1 : 0;
      const eos = new Set([...this.config.eosTokenIds, ...this.tokenizer.eosIds, ...endIds]);
      const generated: number[] = [];
      let pending = '';
      let stopped = false;
      let finishReason: FinishReason = 'length';
      let decodeStart = 0;
      let firstTokenAt = 0;
      let prefillMs = 0;

      // The logits at `position` had no finite maximum: end with a NumericalError naming it.
      const nonFinite = async (position: number, ids: number[]): Promise<never> => {
        this.cachedIds = [];
        const layer = await this.diagnose?.(ids).catch(() => undefined);
        const where =
          layer === undefined
            ? ''
            : layer < 0
              ? '; the CPU reference finds the embedding non-finite'
              : layer >= this.config.layers
                ? '; the CPU reference finds the final norm or unembedding non-finite'
                : `; the CPU reference finds layer ${layer}'s output non-finite first`;
        throw new NumericalError(
          `the logits at position ${position} are not finite (NaN or infinite)${where}`,
          {
            position,
            layer: layer !== undefined && layer >= 0 && layer < this.config.layers ? layer : undefined,
          },
        );
      };

      const pick = (out: Sampled | number): number => {
        if (typeof out === 'number') return out;
        if (raw.onTopTokens && out.top)
          raw.onTopTokens(this.topTokens(out.top, temperature > 0 ? temperature : 1));
        return out.id;
      };

      // The cache holds cachedIds: reuse their common prefix with the prompt, always prefilling
      // at least the last prompt token (its logits pick the first new token).
      const old = this.cachedIds;
      let reused = 0;
      const most = Math.min(old.length, promptIds.length - 1);
      while (reused < most && old[reused] === promptIds[reused]) reused++;
      // kv tracks what the cache holds as passes complete: positions past it may be half written.
      const kv = promptIds.slice(0, reused);
      this.cachedIds = kv;
      let next = pick(await this.gpuWork(this.runner.prefill(promptIds.slice(reused), request(), reused)));
      kv.push(...promptIds.slice(reused));
      if (next === NON_FINITE) await nonFinite(promptIds.length - 1, promptIds);
      prefillMs = performance.now() - started;
      decodeStart = performance.now();
      let pos = promptIds.length;
      while (true) {
        if (opts.signal?.aborted || this.disposed) {
          finishReason = 'abort';
          break;
        }
        if (generated.length === 0) firstTokenAt = performance.now() - started;
        generated.push(next);
        if (eos.has(next)) {
          finishReason = 'stop';
          break;
        }
        pending += stream.push(next);
        const hit = stops.map((s) => pending.indexOf(s)).filter((i) => i >= 0);
        if (hit.length) {
          const cut = Math.min(...hit);
          if (cut > 0) yield { text: pending.slice(0, cut), tokenId: next };
          pending = '';
          stopped = true;
          finishReason = 'stop';
          break;
        }
        const emit = pending.slice(0, Math.max(0, pending.length - holdBack));
        pending = pending.slice(emit.length);
        yield { text: emit, tokenId: next };
        if (generated.length >= opts.maxNewTokens || pos >= this.maxContext) {
          finishReason = 'length';
          break;
        }
        if (opts.signal?.aborted || this.disposed) {
          finishReason = 'abort';
          break;
        }
        const fed = next;
        next = pick(await this.gpuWork(this.runner.step(fed, pos, request())));
        kv.push(fed);
        if (next === NON_FINITE) await nonFinite(pos, kv.slice());
        pos++;
      }
      if (!stopped) {
        pending += stream.flush();
        if (pending) yield { text: pending, tokenId: generated[generated.length - 1] };
      }
      const decodeMs = performance.now() - decodeStart;
      const summary: GenerateSummary = {
        done: true,
        promptTokens: promptIds.length,
        generatedTokens: generated.length,
        reusedTokens: reused,
        prefillMs,
        timeToFirstTokenMs: firstTokenAt,
        prefillTokensPerSecond: (promptIds.length - reused) / (prefillMs / 1000),
        decodeTokensPerSecond: generated.length > 1 ? (generated.length - 1) / (decodeMs / 1000) : 0,
        finishReason,
        tokenIds: generated,
        promptIds,
      };
      yield summary;
    } finally {
      this.release();
    }
  }

  /** The sampler's top tokens with their probabilities: p = exp(logit / T - logSumExp(logits / T)). */
  private topTokens(top: NonNullable<Sampled['top']>, temperature: number): TopToken[] {
    return top.ids.map((tokenId, j) => ({
      tokenId,
      text: this.tokenizer.tokenText(tokenId),
      logit: top.logits[j],
      probability: Math.exp(top.logits[j] / temperature - top.logSumExp),
    }));
  }

  /**
   * The next-token logits row (valid vocabulary) of the latest step of `generate`, or of the last
   * position of the latest `logits` call, read back from the GPU: for showing the distribution at
   * another temperature. During a generation it may already be a later step's row.
   */
  async lastLogits(): Promise<Float32Array> {
    this.checkUsable();
    const row = await this.gpuWork(this.runner.lastLogits());
    return row.subarray(0, Math.min(this.tokenizer.vocabSize, this.config.vocabSize));
  }

  /**
   * Frees every GPU buffer, and the device when the model created it. A generation running now
   * ends with finish reason 'abort' after the GPU work it awaits; requests still queued are
   * refused with ModelStateError; later calls get ModelStateError. Resolves when all is freed.
   */
  dispose(): Promise<void> {
    if (!this.disposing) {
      this.disposed = true;
      for (const turn of this.queue.splice(0)) turn(false);
      this.disposing = (async () => {
        await this.inFlight?.catch(() => {});
        this.free(this.current);
      })();
    }
    return this.disposing;
  }

  private free(b: Built): void {
    // The embeddings' buffers live on the device being freed (made again on next use after recover).
    this.embeddingsApi?.dispose();
    b.runner.destroy();
    if (b.ownsDevice) b.gpu.destroy();
  }

  /**
   * After a DeviceLostError: uploads the model again to `device` or, by default, a new device
   * (weights are read again from the source, or the browser's cache), without reloading the page.
   * The KV cache starts empty. Requests queued meanwhile wait for it. Throws ModelStateError on
   * a disposed model; does nothing when the device is not lost and no device is given.
   */
  async recover(options: { device?: GPUDevice } = {}): Promise<void> {
    if (this.disposed) throw new ModelStateError('the model has been disposed');
    if (!this.gpu.lostError && !options.device) return;
    if ((await this.acquire()) === 'disposed') throw new ModelStateError('the model has been disposed');
    try {
      const next = await this.rebuild(options.device);
      const old = this.current;
      this.current = next;
      this.cachedIds = [];
      this.free(old);
    } finally {
      this.release();
    }
  }
}

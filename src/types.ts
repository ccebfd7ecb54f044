/** The public API's types. */

/** Where a model comes from: a folder path (Node), an http(s) folder URL, a Hugging Face repo id, or picked files (name to contents; strings are UTF-8 text). */
/**
 * A model: a folder path, URL or Hugging Face repo id ('owner/name'); a .gguf file's path or URL, or
 * 'owner/name/file.gguf' for one in a repo; `{ repo, file }` (and `revision`); or picked files by name.
 */
export type ModelSource =
  | string
  | { repo: string; file: string; revision?: string }
  | Record<string, Blob | ArrayBuffer | Uint8Array | string>;

export interface LoadProgress {
  /** The file being loaded. */
  file: string;
  /** Bytes of this file loaded so far, and its size when known. */
  loaded: number;
  total: number | undefined;
  /** Bytes of all files loaded so far, and their total size when known. */
  overallLoaded: number;
  overallTotal: number | undefined;
  /** What is happening: 'download' (reading files) or 'upload' (copying weights to the GPU). */
  phase: 'download' | 'upload';
}

export interface LoadOptions {
  /** A device to use instead of requesting one. */
  device?: GPUDevice;
  /**
   * How weights are stored on the GPU. Unset (default): as the checkpoint stores them (f32 and f16
   * kept, bf16 widened to f32, GGUF quantized formats kept in their blocks). 'f32' or 'f16': every
   * weight in that format (quantized ones dequantized). 'q8' / 'q4': float weights quantized at load
   * to q8_0 / q4_0 (rows that are not whole blocks of 32 take f16); quantized ones kept.
   */
  dtype?: 'f32' | 'f16' | 'q8' | 'q4';
  /** Context length for the KV cache; default and maximum: the model's own. */
  maxContext?: number;
  /**
   * Lower the context (maxContext, else the model's) until the KV cache and activations fit the
   * device's limits and `memoryLimit`, instead of failing with GpuOutOfMemoryError. Default false.
   */
  fitContext?: boolean;
  /**
   * GPU bytes the model may use in all (weights, KV cache, activations). WebGPU does not report
   * the device's memory: set this to fail before any upload when a model does not fit.
   */
  memoryLimit?: number;
  onProgress?: (event: LoadProgress) => void;
  signal?: AbortSignal;
  /** fetch used for URLs and repo ids (default globalThis.fetch); the demo passes one backed by Cache Storage. */
  fetch?: typeof fetch;
  /** How the KV cache is stored: f32, or f16 packed two per u32 (half the memory and bandwidth). Default 'f32'. */
  kvDtype?: 'f32' | 'f16';
  /**
   * Kernel selection per adapter: 'auto' (default) times the candidate kernels of each op on the
   * model's shapes once per adapter and caches the fastest; 'off' uses the untuned defaults;
   * 'retune' ignores the cache.
   */
  tuning?: 'auto' | 'off' | 'retune';
  /** Forces a kernel variant per op for every shape, e.g. `{ matmul: 'gemv.r4.v4', attention: 'split.c256.wg64' }`. */
  kernels?: Record<string, string>;
  /**
   * Where tuning choices persist: a file path in Node (default `~/.cache/wgpt/tuning.json`), an
   * IndexedDB database name in a browser (default 'wgpt'); false keeps them in memory only.
   */
  tuningCache?: string | false;
  /** Debug notes from the kernel tuner (candidates skipped, choices made). */
  onTuningNote?: (message: string) => void;
}

export interface GenerateOptions {
  /** Tokens to generate at most. Default 128. */
  maxNewTokens?: number;
  /** 0 means greedy (argmax). Default 1. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  /** Same seed and options give the same tokens. */
  seed?: number;
  /** Generation ends (finish reason 'stop') when the text contains one of these; the stop string is not emitted. */
  stop?: string[];
  signal?: AbortSignal;
  /**
   * Called at each step with the ten most likely next tokens (raw logits, and probabilities at the
   * sampling temperature, 1 when greedy), for visualizations. The GPU sampler finds them: a step
   * reads back only these entries, never the logits row (`model.lastLogits()` reads it on demand).
   */
  onTopTokens?: (top: TopToken[]) => void;
}

export interface TopToken {
  tokenId: number;
  text: string;
  logit: number;
  /** softmax(logits / T) of this token over the valid vocabulary, T the sampling temperature (1 when greedy), before any filter. */
  probability: number;
}

export interface GenerateChunk {
  text: string;
  tokenId: number;
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface GenerateSummary {
  done: true;
  promptTokens: number;
  generatedTokens: number;
  /**
   * Prompt tokens not prefilled again: the prompt's longest common prefix with the tokens whose
   * K/V the cache already held (the previous request's prompt and the generated tokens fed back,
   * or the ids of the last `logits` call), at most promptTokens - 1. A conversation's next turn
   * reuses its history this way. 0 when nothing was reused or the request never ran.
   */
  reusedTokens: number;
  /** Time to run the prompt through the model (prefill), ms. */
  prefillMs: number;
  /** Time from the call to the first generated token, ms. */
  timeToFirstTokenMs: number;
  /** Prompt tokens prefilled (promptTokens - reusedTokens) per second of prefillMs. */
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  finishReason: FinishReason;
  /** Generated token ids. */
  tokenIds: number[];
  promptIds: number[];
}

export type GenerateEvent = GenerateChunk | GenerateSummary;

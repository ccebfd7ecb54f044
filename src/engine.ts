/**
 * `Engine`: what every front of a loaded model offers, whichever side of a boundary the model runs
 * on. `Model` (src/model/model.ts) runs it in this thread; `RemoteModel` (src/worker/client.ts)
 * forwards every call to a Web Worker holding a `Model`; the server (src/server.ts) serves any
 * Engine over HTTP. Both classes say `implements Engine`, so the compiler keeps them equal.
 *
 * Everything here can cross a postMessage boundary: values are structured-cloneable, callbacks
 * (`onTopTokens`) are forwarded as messages, and errors keep their class and fields (errors.ts).
 * Tokenizer calls are async for that reason; `Model.tokenizer` offers the same synchronously.
 */
import type { ChatMessage, ChatTemplateOptions } from './checkpoint/chat-template';
import type { ModelConfig } from './checkpoint/config';
import type { StorageFormat } from './formats/formats';
import type { AdapterSummary } from './gpu/device';
import type { TuningChoice } from './gpu/tuning';
import type { Embeddings, InspectOptions, InspectResult } from './inspect-types';
import type { Chat } from './model/chat';
import type { GenerateEvent, GenerateOptions } from './types';

/** What a model was loaded from. */
export interface CheckpointInfo {
  format: 'safetensors' | 'gguf';
  /** The source in words. */
  source: string;
  /** How many tensors of each storage format the file holds (e.g. { q4_k: 97, q6_k: 17, f32: 41 }). */
  tensorFormats: Partial<Record<StorageFormat, number>>;
  /** Bytes of the tensors as stored in the file. */
  tensorBytes: number;
}

/** A token by id and text (special tokens as written, e.g. '<|im_end|>'). */
export interface NamedToken {
  tokenId: number;
  text: string;
}

/** What the model's chat templates offer. */
export interface ChatInfo {
  /** Names of the model's chat templates ('default' is the one used unless another is asked for); empty when it has none. */
  templates: string[];
  /**
   * The tokens a chat answer ends at: EOS and the template's end-of-turn tokens the vocabulary
   * has (`<|im_end|>`, `<|eot_id|>`, ...). They never appear in the answer's text.
   */
  stopTokens: NamedToken[];
}

/** What a load established: the same fields on every front, known without a round trip. */
export interface EngineInfo {
  config: ModelConfig;
  /** Positions the KV cache holds: prompt plus generated tokens. */
  maxContext: number;
  adapter: AdapterSummary;
  checkpoint: CheckpointInfo;
  /** Bytes of weights resident on the GPU. */
  weightBytes: number;
  /** The most tokens one `inspect` takes (a prefill chunk). */
  inspectMaxTokens: number;
  chatInfo: ChatInfo;
}

/** A loaded model, in this thread (`Model`) or behind a worker (`RemoteModel`). */
export interface Engine extends Readonly<EngineInfo> {
  /** Token ids of a text, as `tokenizer.encode` (special tokens added as the tokenizer config says unless `addSpecialTokens: false`). */
  encode(text: string, options?: { addSpecialTokens?: boolean }): Promise<number[]>;
  /** The text of token ids, special tokens left out. */
  decode(ids: number[]): Promise<string>;
  /** Each token's piece as the tokenizer splits text, made readable ('Ġupon' reads ' upon'). */
  tokenTexts(ids: number[]): Promise<string[]>;
  /** The prompt text of a conversation by the model's chat template (see `Tokenizer.applyChatTemplate`). */
  applyChatTemplate(messages: ChatMessage[], options?: ChatTemplateOptions): Promise<string>;
  /** Scores of every position: ids.length x vocabSize, from the GPU prefill path. */
  logits(ids: number[]): Promise<Float32Array>;
  /** The latest next-token logits row (valid vocabulary), read back on demand. */
  lastLogits(): Promise<Float32Array>;
  /** Streams `{ text, tokenId }` chunks, then one summary (`done: true`). */
  generate(prompt: string | { ids: number[] }, options?: GenerateOptions): AsyncGenerator<GenerateEvent>;
  /** OpenAI-style chat completions: `engine.chat.completions.create({ messages, stream })`. */
  readonly chat: Chat;
  /**
   * What ids do inside the model, on the generation's GPU path: attention probabilities, the logit
   * lens, residual norms (src/inspect-types.ts). A following generate() returns what it would have.
   */
  inspect(ids: number[], options?: InspectOptions): Promise<InspectResult>;
  /** The token embedding matrix: nearest neighbours, arithmetic, 2-D projections, rows. */
  readonly embeddings: Embeddings;
  /** The kernel variant each tuned op runs at each shape, and where the choice came from. */
  kernelChoices(): Promise<TuningChoice[]>;
  /**
   * After a DeviceLostError: uploads the model again to a new device (weights read again from the
   * source or the cache), without reloading the page. The KV cache starts empty.
   */
  recover(): Promise<void>;
  /** Frees the model's GPU memory; later calls throw ModelStateError. */
  dispose(): Promise<void>;
}

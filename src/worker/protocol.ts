/**
 * Messages between the page and the engine worker (src/worker/engine-worker.ts). Every request
 * carries an id; the worker answers with messages carrying the same id, ending with one 'result'
 * or 'error'. Errors travel as `WgptError.toJSON()` objects and are rebuilt with `errorFromJSON`,
 * so they keep their class and fields. Callbacks cannot cross postMessage: the page asks for
 * them with a flag and the worker sends their calls as messages ('progress', 'tuningNote', 'top').
 */

import type { ChatMessage, ChatTemplateOptions } from '../checkpoint/chat-template';
import type { EngineInfo } from '../engine';
import { WgptError } from '../errors';
import type { TuningChoice } from '../gpu/tuning';
import type {
  ArithmeticResult,
  InspectOptions,
  InspectResult,
  Neighbour,
  Projection,
} from '../inspect-types';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from '../model/chat';
import type {
  GenerateChunk,
  GenerateOptions,
  GenerateSummary,
  LoadOptions,
  LoadProgress,
  ModelSource,
  TopToken,
} from '../types';

/** A top token with its probability at some temperature (softmax over the whole vocabulary). */
export type RankedToken = TopToken;

/** Load options that can cross a worker boundary; `cache` names the Cache Storage for downloads. */
export interface WorkerLoadOptions
  extends Omit<LoadOptions, 'device' | 'fetch' | 'onProgress' | 'signal' | 'onTuningNote'> {
  /** Cache Storage name for downloaded files, or false for none. Default 'wgpt-models'. */
  cache?: string | false;
}

/** Generate options that can cross a worker boundary. */
export type WorkerGenerateOptions = Omit<GenerateOptions, 'signal' | 'onTopTokens'>;

/** What the worker answers a load with: the Engine's load info. */
export type ModelInfo = EngineInfo;

/** How a prompt splits into tokens. */
export interface PromptTokens {
  ids: number[];
  pieces: string[];
}

/** `aborted`: the caller's signal had aborted before the request was sent (it then never runs). */
export type Request = (
  | {
      id: number;
      type: 'load';
      source: ModelSource;
      options: WorkerLoadOptions;
      /** Send the tuner's notes as 'tuningNote' messages. */
      tuningNotes: boolean;
    }
  | {
      id: number;
      type: 'generate';
      prompt: string | { ids: number[] };
      options: WorkerGenerateOptions;
      /** How many top tokens to send after each step ('top' messages); 0 sends none. */
      topTokens: number;
      topTemperature?: number;
    }
  | { id: number; type: 'chat'; request: Omit<ChatCompletionRequest, 'signal'> }
  | { id: number; type: 'logits'; ids: number[] }
  | { id: number; type: 'lastLogits' }
  | { id: number; type: 'encode'; text: string; addSpecialTokens?: boolean }
  | { id: number; type: 'decode'; ids: number[] }
  | { id: number; type: 'tokenTexts'; ids: number[] }
  | { id: number; type: 'applyChatTemplate'; messages: ChatMessage[]; options?: ChatTemplateOptions }
  | { id: number; type: 'kernelChoices' }
  | { id: number; type: 'inspect'; ids: number[]; options: InspectOptions }
  | { id: number; type: 'nearest'; query: number | Float32Array; k: number }
  | { id: number; type: 'arithmetic'; terms: string[]; k: number }
  | { id: number; type: 'project'; items: (number | Float32Array)[] }
  | { id: number; type: 'vector'; tokenId: number }
  | { id: number; type: 'analyze'; prompt: string | { ids: number[] }; k: number; temperature: number }
  | { id: number; type: 'topTokens'; k: number; temperature: number }
  | { id: number; type: 'entropy'; temperature: number }
  | { id: number; type: 'abort'; target: number }
  | { id: number; type: 'dispose' }
  | { id: number; type: 'recover' }
  | { id: number; type: 'clearCache'; cache: string }
) & { aborted?: boolean };

/** What each request type resolves to. */
export interface Results {
  load: ModelInfo;
  generate: undefined;
  /** A completion, or undefined after the chunks of a stream. */
  chat: ChatCompletion | undefined;
  logits: Float32Array;
  lastLogits: Float32Array;
  encode: number[];
  decode: string;
  tokenTexts: string[];
  applyChatTemplate: string;
  kernelChoices: TuningChoice[];
  inspect: InspectResult;
  nearest: Neighbour[];
  arithmetic: ArithmeticResult;
  project: Projection;
  vector: Float32Array;
  analyze: PromptTokens & { top: RankedToken[] };
  topTokens: RankedToken[];
  entropy: number;
  abort: undefined;
  dispose: undefined;
  recover: undefined;
  clearCache: boolean;
}

export type SerializedError = { name?: string; message?: string; [k: string]: unknown };

export type Response =
  | { id: number; type: 'result'; value: unknown }
  | { id: number; type: 'error'; error: SerializedError }
  | { id: number; type: 'progress'; progress: LoadProgress }
  | { id: number; type: 'tuningNote'; message: string }
  | { id: number; type: 'chunk'; chunk: GenerateChunk }
  | { id: number; type: 'top'; top: RankedToken[]; temperature: number }
  | { id: number; type: 'done'; summary: GenerateSummary }
  /** A streamed chat request was accepted (rendered, validated): chunks follow. */
  | { id: number; type: 'chatStarted' }
  | { id: number; type: 'chatChunk'; chunk: ChatCompletionChunk }
  /** Unsolicited: the device of the loaded model was lost. */
  | { id: 0; type: 'deviceLost'; error: SerializedError };

/** An error as sent over the wire: `toJSON()` for wgpt's errors (class, message, fields), else name and message. */
export function serializeError(e: unknown): SerializedError {
  if (e instanceof WgptError) return e.toJSON();
  if (e instanceof Error || (typeof DOMException !== 'undefined' && e instanceof DOMException)) {
    return { name: e.name, message: e.message };
  }
  return { name: 'Error', message: String(e) };
}

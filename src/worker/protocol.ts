/**
 * Messages between the page and the engine worker (src/worker/engine-worker.ts). Every request
 * carries an id; the worker answers with messages carrying the same id. Errors travel as
 * `WgptError.toJSON()` objects and are rebuilt with `errorFromJSON`, so they keep their class.
 */

import type { ModelConfig } from '../checkpoint/config';
import { WgptError } from '../errors';
import type { AdapterSummary } from '../gpu/device';
import type { CheckpointInfo } from '../model/model';
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
export interface RankedToken extends TopToken {
  probability: number;
}

/** Load options that can cross a worker boundary; `cache` names the Cache Storage for downloads. */
export interface WorkerLoadOptions extends Omit<LoadOptions, 'device' | 'fetch' | 'onProgress' | 'signal'> {
  /** Cache Storage name for downloaded files, or false for none. Default 'wgpt-models'. */
  cache?: string | false;
}

/** Generate options that can cross a worker boundary. */
export type WorkerGenerateOptions = Omit<GenerateOptions, 'signal' | 'onTopTokens'>;

export interface ModelInfo {
  config: ModelConfig;
  maxContext: number;
  adapter: AdapterSummary;
  /** What the model was loaded from: format, tensor formats and bytes. */
  checkpoint: CheckpointInfo;
  /** Bytes of weights on the GPU. */
  weightBytes: number;
}

/** How a prompt splits into tokens. */
export interface PromptTokens {
  ids: number[];
  pieces: string[];
}

export type Request =
  | { id: number; type: 'load'; source: ModelSource; options: WorkerLoadOptions }
  | {
      id: number;
      type: 'generate';
      prompt: string | { ids: number[] };
      options: WorkerGenerateOptions;
      /** How many top tokens to send after each step ('top' messages); 0 sends none. */
      topTokens: number;
      topTemperature?: number;
    }
  | { id: number; type: 'logits'; ids: number[] }
  | { id: number; type: 'tokenize'; text: string }
  | { id: number; type: 'analyze'; prompt: string; k: number; temperature: number }
  | { id: number; type: 'topTokens'; k: number; temperature: number }
  | { id: number; type: 'abort'; target: number }
  | { id: number; type: 'dispose' }
  | { id: number; type: 'clearCache'; cache: string };

export type SerializedError = { name?: string; message?: string; [k: string]: unknown };

export type Response =
  | { id: number; type: 'result'; value: unknown }
  | { id: number; type: 'error'; error: SerializedError }
  | { id: number; type: 'progress'; progress: LoadProgress }
  | { id: number; type: 'chunk'; chunk: GenerateChunk }
  | { id: number; type: 'top'; top: RankedToken[]; temperature: number }
  | { id: number; type: 'done'; summary: GenerateSummary }
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

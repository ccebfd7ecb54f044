/**
 * wgpt: GPT-style language models on the GPU through WebGPU.
 *
 *   const model = await loadModel('openai-community/gpt2');
 *   for await (const event of model.generate('Once upon a time', { temperature: 0 })) ...
 */

export {
  type CachedModel,
  type CacheOptions,
  cachedModelSize,
  evictCachedModel,
  listCachedModels,
} from './cache/api';
export type { CachedFile } from './cache/store';
export type { ChatMessage, ChatRole, ChatTemplateOptions } from './checkpoint/chat-template';
export type { ModelConfig } from './checkpoint/config';
export type { Tokenizer } from './checkpoint/tokenizer';
export type { ChatInfo, CheckpointInfo, Engine, EngineInfo, NamedToken } from './engine';
export * from './errors';
export type { GpuWeightFormat, QuantFormat, StorageFormat } from './formats/formats';
export { type AdapterSummary, getGpu, requestDevice } from './gpu/device';
export { Gpu } from './gpu/gpu';
export type { CandidateResult, TuningChoice, TuningMode } from './gpu/tuning';
export type {
  Chat,
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatCompletions,
  ChatCompletionUsage,
  ChatFinishReason,
} from './model/chat';
export { DEFAULT_MODEL } from './model/default-model';
export { loadModel, Model } from './model/model';
export type * from './types';
export { type CachedFetch, type CachedFetchOptions, cachedFetch, clearCache } from './worker/cache';

/**
 * OpenAI-style chat completions on a loaded model: `model.chat.completions.create(request)`.
 *
 * A request's messages are rendered by the tokenizer's chat template (with the generation prompt),
 * tokenized without adding special tokens (the template wrote them), and generated from like any
 * prompt: in turn with the model's other requests, reusing the K/V of a conversation's earlier
 * turns. Generation ends at the end-of-turn tokens (EOS, and `<|im_end|>`, `<|eot_id|>`,
 * `<end_of_turn>`, `<|end|>` where the vocabulary has them), which never reach the text.
 *
 * Request fields follow OpenAI's (snake_case, null meaning unset), plus the sampling fields of
 * vLLM and llama.cpp's servers (top_k, min_p, repetition_penalty) and vLLM's chat_template /
 * chat_template_kwargs; which fields a request may have, and message contents, are checked by
 * chat-request.ts.
 */

import type { ChatMessage } from '../checkpoint/chat-template';
import type { NamedToken } from '../engine';
import { ContextLengthError, InvalidOptionError } from '../errors';
import type { GenerateEvent, GenerateOptions, GenerateSummary } from '../types';
import {
  checkFields,
  checkSampling,
  FIELD_OF_OPTION,
  KNOWN_FIELDS,
  samplingOptions,
  textMessages,
} from './chat-request';
import type { Model } from './model';

/** A chat completion request (OpenAI's shape). */
export interface ChatCompletionRequest {
  /**
   * The conversation. A `content` may also be OpenAI's array of text parts
   * `[{ type: 'text', text }]` (joined by '\n'); other part types are refused.
   */
  messages: ChatMessage[];
  /** Ignored: the model is the one `chat` belongs to. */
  model?: string | null;
  /** Accepted and unused: identifiers for OpenAI's abuse monitoring and prompt cache routing. */
  user?: string | null;
  safety_identifier?: string | null;
  prompt_cache_key?: string | null;
  /** Answer with an AsyncIterable of chunks instead of one completion. */
  stream?: boolean | null;
  /** Tokens to generate at most (default: up to the end of the context); `max_completion_tokens` is the same. */
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  /** Default 1; 0 is greedy. */
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  /** Multiplicative penalty on the logits of tokens already in the prompt or generated (1 = none). */
  repetition_penalty?: number | null;
  /** Only 0 (unset): OpenAI's additive penalties are not implemented. */
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  /** Generation ends where the text would contain one of these; they are not part of the content. */
  stop?: string | string[] | null;
  seed?: number | null;
  /** Aborting rejects the request (or ends the stream) with the signal's reason, an AbortError by default. */
  signal?: AbortSignal;
  /** A Jinja chat template to use instead of the model's. */
  chat_template?: string | null;
  /** Extra template variables, e.g. `{ enable_thinking: false }`. */
  chat_template_kwargs?: Record<string, unknown> | null;
}

export type ChatFinishReason = 'stop' | 'length';

export interface ChatCompletionUsage {
  prompt_tokens: number;
  /** Generated tokens, the end-of-turn token included. */
  completion_tokens: number;
  total_tokens: number;
  /** cached_tokens: prompt tokens whose K/V were reused from the previous request. */
  prompt_tokens_details: { cached_tokens: number };
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  /** Unix time, seconds. */
  created: number;
  model: string;
  choices: {
    index: 0;
    message: { role: 'assistant'; content: string };
    finish_reason: ChatFinishReason;
  }[];
  usage: ChatCompletionUsage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  /** The first chunk's delta has the role, the next ones content pieces, the last one is empty with the finish reason. */
  choices: {
    index: 0;
    delta: { role?: 'assistant'; content?: string };
    finish_reason: ChatFinishReason | null;
  }[];
  /** On the last chunk only. */
  usage?: ChatCompletionUsage;
}

export interface ChatCompletions {
  /**
   * Renders, tokenizes and generates. Bad requests reject with InvalidOptionError (naming the
   * field), ChatTemplateError, or ContextLengthError when prompt plus max_tokens exceed the context.
   */
  create(request: ChatCompletionRequest & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(request: ChatCompletionRequest & { stream?: false | null }): Promise<ChatCompletion>;
  create(request: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
}

/** `model.chat`. */
export interface Chat {
  readonly completions: ChatCompletions;
}

/** Template tokens that end an assistant turn (ChatML, Llama 3, Gemma, Phi-3). */
export const END_OF_TURN_TOKENS = ['<|im_end|>', '<|eot_id|>', '<end_of_turn>', '<|end|>'];

/** The ids of END_OF_TURN_TOKENS the vocabulary has as single tokens. */
function endOfTurnIds(model: Model): number[] {
  const ids: number[] = [];
  for (const text of END_OF_TURN_TOKENS) {
    const enc = model.tokenizer.encode(text, { addSpecialTokens: false });
    if (enc.length === 1 && model.tokenizer.tokenText(enc[0]) === text) ids.push(enc[0]);
  }
  return ids;
}

/** The tokens a chat answer ends at: EOS (config and tokenizer) and the end-of-turn tokens, each once. */
export function chatStopTokens(model: Model): NamedToken[] {
  const ids = new Set([...model.config.eosTokenIds, ...model.tokenizer.eosIds, ...endOfTurnIds(model)]);
  return [...ids].map((tokenId) => ({ tokenId, text: model.tokenizer.tokenText(tokenId) }));
}

interface Prepared {
  ids: number[];
  options: GenerateOptions;
  signal?: AbortSignal;
}

function prepare(model: Model, request: ChatCompletionRequest): Prepared {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw new InvalidOptionError('request', 'must be an object { messages, ... }');
  }
  const r = request as unknown as Record<string, unknown>;
  checkFields(r, KNOWN_FIELDS);
  const get = <T>(key: keyof ChatCompletionRequest): T | undefined => (r[key] ?? undefined) as T | undefined;
  checkSampling(get);
  const maxTokens = get<number>('max_tokens');
  const maxCompletion = get<number>('max_completion_tokens');
  if (maxTokens !== undefined && maxCompletion !== undefined && maxTokens !== maxCompletion) {
    throw new InvalidOptionError('max_completion_tokens', 'differs from max_tokens: give one of them');
  }
  const maxField = maxCompletion !== undefined ? 'max_completion_tokens' : 'max_tokens';
  const max = maxCompletion ?? maxTokens;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) {
    throw new InvalidOptionError(maxField, `must be an integer >= 1, got ${max}`);
  }
  const stopField = get<string | string[]>('stop');
  const stop = typeof stopField === 'string' ? [stopField] : stopField;
  const kwargs = get<Record<string, unknown>>('chat_template_kwargs');
  const messages = textMessages(request.messages) as ChatMessage[];
  const text = model.tokenizer.applyChatTemplate(messages, {
    addGenerationPrompt: true,
    source: get<string>('chat_template'),
    variables: kwargs,
  });
  const ids = model.tokenizer.encode(text, { addSpecialTokens: false });
  if (ids.length === 0) throw new InvalidOptionError('messages', 'the chat template rendered no tokens');
  const room = model.maxContext - ids.length;
  if (room < 1) {
    throw new ContextLengthError(
      ids.length,
      model.maxContext,
      `the conversation is ${ids.length} tokens: no room to answer in the context of ${model.maxContext}`,
    );
  }
  if (max !== undefined && max > room) {
    throw new ContextLengthError(
      ids.length + max,
      model.maxContext,
      `${maxField} of ${max} after a conversation of ${ids.length} tokens exceeds the context length of ${model.maxContext}`,
    );
  }
  const options: GenerateOptions = {
    ...samplingOptions(get),
    maxNewTokens: max ?? room,
    stop,
    signal: request.signal,
  };
  return { ids, options, signal: request.signal };
}

/** Starts the generation (validating its options now: errors name the request's fields). */
function start(model: Model, p: Prepared): AsyncGenerator<GenerateEvent> {
  try {
    return model.generateIds(p.ids, p.options, endOfTurnIds(model));
  } catch (e) {
    if (e instanceof InvalidOptionError && FIELD_OF_OPTION[e.option]) {
      const detail = e.message.replace(/^invalid option '[^']*': /, '');
      throw new InvalidOptionError(FIELD_OF_OPTION[e.option], detail);
    }
    throw e;
  }
}

/** Content pieces, then the summary; throws the signal's reason when the generation was aborted. */
async function* pieces(
  events: AsyncGenerator<GenerateEvent>,
  signal: AbortSignal | undefined,
): AsyncGenerator<string | GenerateSummary> {
  for await (const event of events) {
    if ('done' in event) {
      if (event.finishReason === 'abort') signal?.throwIfAborted();
      yield event;
      return;
    }
    if (event.text) yield event.text;
  }
}

function usage(s: GenerateSummary): ChatCompletionUsage {
  return {
    prompt_tokens: s.promptTokens,
    completion_tokens: s.generatedTokens,
    total_tokens: s.promptTokens + s.generatedTokens,
    prompt_tokens_details: { cached_tokens: s.reusedTokens },
  };
}

const finish = (s: GenerateSummary): ChatFinishReason => (s.finishReason === 'stop' ? 'stop' : 'length');

function completionId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `chatcmpl-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

async function complete(
  model: Model,
  p: Prepared,
  events: AsyncGenerator<string | GenerateSummary>,
): Promise<ChatCompletion> {
  const id = completionId();
  const created = Math.floor(Date.now() / 1000);
  let content = '';
  for await (const e of events) {
    if (typeof e === 'string') {
      content += e;
      continue;
    }
    return {
      id,
      object: 'chat.completion',
      created,
      model: model.checkpoint.source,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finish(e) }],
      usage: usage(e),
    };
  }
  p.signal?.throwIfAborted();
  throw new Error('generation ended without a summary');
}

async function* chunks(
  model: Model,
  p: Prepared,
  events: AsyncGenerator<string | GenerateSummary>,
): AsyncGenerator<ChatCompletionChunk> {
  const base = {
    id: completionId(),
    object: 'chat.completion.chunk' as const,
    created: Math.floor(Date.now() / 1000),
    model: model.checkpoint.source,
  };
  yield { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] };
  for await (const e of events) {
    if (typeof e === 'string') {
      yield { ...base, choices: [{ index: 0, delta: { content: e }, finish_reason: null }] };
    } else {
      yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: finish(e) }], usage: usage(e) };
      return;
    }
  }
  p.signal?.throwIfAborted();
}

/** `model.chat` of a model. */
export function createChat(model: Model): Chat {
  async function create(request: ChatCompletionRequest) {
    const p = prepare(model, request);
    // A stream takes its place in the model's queue when its iteration starts; a completion now.
    const events = pieces(start(model, p), p.signal);
    return request.stream ? chunks(model, p, events) : complete(model, p, events);
  }
  return { completions: { create } as ChatCompletions };
}

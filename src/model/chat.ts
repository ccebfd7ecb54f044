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
 * chat_template_kwargs. Fields are never silently ignored (`checkFields`): OpenAI's fields that wgpt
 * does not implement (n > 1, logprobs, tools, response_format, logit_bias...) are refused as not
 * supported unless their value asks for nothing (n: 1, tools: []), any other field as unrecognized,
 * as OpenAI refuses it; InvalidOptionError names the field. Only `user`, `safety_identifier` and
 * `prompt_cache_key` (identifiers for OpenAI's monitoring and cache routing) are accepted and
 * unused. frequency_penalty and presence_penalty (OpenAI's additive penalties) have no equivalent
 * here: 0 is accepted, anything else refused (repetition_penalty is the multiplicative one the
 * sampler has).
 *
 * A message's `content` is a string or OpenAI's array of content parts: text parts
 * `{ type: 'text', text }` are joined by '\n' (as vLLM joins them); other parts (image_url,
 * input_audio, file) are refused, the models reading text only.
 */

import type { ChatMessage } from '../checkpoint/chat-template';
import type { NamedToken } from '../engine';
import { ContextLengthError, InvalidOptionError } from '../errors';
import type { GenerateEvent, GenerateOptions, GenerateSummary } from '../types';
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

/** Request fields /v1/chat/completions and /v1/completions share: the sampling and length ones. */
export const SAMPLING_FIELDS = [
  'model',
  'stream',
  'max_tokens',
  'temperature',
  'top_p',
  'top_k',
  'min_p',
  'repetition_penalty',
  'frequency_penalty',
  'presence_penalty',
  'stop',
  'seed',
] as const;

/** OpenAI's identifier fields: accepted (as strings) and unused. */
const IDENTIFIER_FIELDS = ['user', 'safety_identifier', 'prompt_cache_key'];

const isEmptyObject = (v: unknown) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
const isEmptyArray = (v: unknown) => Array.isArray(v) && v.length === 0;

/**
 * Fields of OpenAI's chat and completion requests that wgpt does not implement: why, and the
 * values that ask for nothing (accepted like null). Any other value is refused as not supported.
 */
export const UNSUPPORTED_FIELDS: Record<string, { why: string; neutral?: (v: unknown) => boolean }> = {
  n: { why: 'one choice per request (n: 1)', neutral: (v) => v === 1 },
  best_of: { why: 'one choice per request (best_of: 1)', neutral: (v) => v === 1 },
  logprobs: { why: 'log probabilities are not returned', neutral: (v) => v === false },
  top_logprobs: { why: 'log probabilities are not returned' },
  echo: { why: 'the prompt is not echoed', neutral: (v) => v === false },
  suffix: { why: 'no insertion after a prompt' },
  logit_bias: { why: 'no logit bias', neutral: isEmptyObject },
  tools: { why: 'no tool calls', neutral: isEmptyArray },
  tool_choice: { why: 'no tool calls', neutral: (v) => v === 'none' },
  parallel_tool_calls: { why: 'no tool calls' },
  functions: { why: 'no function calls', neutral: isEmptyArray },
  function_call: { why: 'no function calls', neutral: (v) => v === 'none' },
  response_format: {
    why: 'no JSON mode or schema-constrained output',
    neutral: (v) => (v as { type?: unknown } | null)?.type === 'text',
  },
  // Usage is always on a stream's last chunk: include_usage asks for nothing more.
  stream_options: {
    why: 'only { include_usage } (usage is always on the last chunk)',
    neutral: (v) =>
      typeof v === 'object' &&
      v !== null &&
      Object.entries(v).every(([k, x]) => k === 'include_usage' && typeof x === 'boolean'),
  },
  modalities: { why: 'text output only', neutral: (v) => Array.isArray(v) && v.every((x) => x === 'text') },
  audio: { why: 'text output only' },
  prediction: { why: 'no predicted outputs' },
  web_search_options: { why: 'no web search' },
  reasoning_effort: { why: 'no reasoning effort setting' },
  verbosity: { why: 'no verbosity setting' },
  store: { why: 'answers are not stored', neutral: (v) => v === false },
  metadata: { why: 'answers are not stored', neutral: isEmptyObject },
  service_tier: { why: 'one service tier', neutral: (v) => v === 'auto' || v === 'default' },
};

/**
 * Refuses the fields of `request` that are not in `known`, never ignoring one: OpenAI's fields of
 * UNSUPPORTED_FIELDS as not supported (unless null or a value that asks for nothing), any other
 * as unrecognized (OpenAI's "Unrecognized request argument supplied"). InvalidOptionError names
 * the first such field.
 */
export function checkFields(request: Record<string, unknown>, known: ReadonlySet<string>): void {
  const others = Object.keys(request).filter((k) => !known.has(k) && !IDENTIFIER_FIELDS.includes(k));
  const unrecognized = others.filter((k) => !Object.hasOwn(UNSUPPORTED_FIELDS, k));
  if (unrecognized.length) {
    throw new InvalidOptionError(
      unrecognized[0],
      `unrecognized request argument${unrecognized.length > 1 ? 's' : ''} supplied: ${unrecognized.map((k) => `'${k}'`).join(', ')}`,
    );
  }
  for (const k of others) {
    const v = request[k];
    const { why, neutral } = UNSUPPORTED_FIELDS[k];
    if (v !== null && v !== undefined && !neutral?.(v)) {
      throw new InvalidOptionError(k, `is not supported by wgpt: ${why}`);
    }
  }
  for (const k of [...IDENTIFIER_FIELDS, 'model']) {
    const v = request[k];
    if (v !== null && v !== undefined && typeof v !== 'string') {
      throw new InvalidOptionError(k, `must be a string, got ${typeof v}`);
    }
  }
}

/**
 * The messages with OpenAI's content parts joined into one string (text parts by '\n'); refuses
 * other parts and contents of other types, naming the field. Shapes other than a content's are
 * left to validateMessages.
 */
function textMessages(messages: unknown): unknown {
  if (!Array.isArray(messages)) return messages;
  return messages.map((m, i) => {
    if (typeof m !== 'object' || m === null) return m;
    const { content } = m as { content?: unknown };
    const field = `messages[${i}].content`;
    if (typeof content === 'string') return m;
    if (!Array.isArray(content)) {
      const found = content === null ? 'null' : typeof content;
      throw new InvalidOptionError(field, `must be a string or an array of text parts, found ${found}`);
    }
    if (content.length === 0) throw new InvalidOptionError(field, 'must hold at least one text part');
    const texts = content.map((part, j) => {
      const { type, text } = (typeof part === 'object' && part !== null ? part : {}) as Record<
        string,
        unknown
      >;
      if (type !== 'text') {
        throw new InvalidOptionError(
          `${field}[${j}].type`,
          `${type === undefined ? 'a part without a type' : `${JSON.stringify(type)} parts`} not supported: wgpt models read text only ({ type: 'text', text })`,
        );
      }
      if (typeof text !== 'string') throw new InvalidOptionError(`${field}[${j}].text`, 'must be a string');
      return text;
    });
    return { ...m, content: texts.join('\n') };
  });
}

const KNOWN_FIELDS = new Set<string>([
  ...SAMPLING_FIELDS,
  'messages',
  'max_completion_tokens',
  'signal',
  'chat_template',
  'chat_template_kwargs',
]);

/** GenerateOptions names back to the request's, for errors from validateGenerateOptions. */
export const FIELD_OF_OPTION: Record<string, string> = {
  maxNewTokens: 'max_tokens',
  topP: 'top_p',
  topK: 'top_k',
  minP: 'min_p',
  repetitionPenalty: 'repetition_penalty',
};

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

/** A request field's value, null read as unset. */
type Field = <T>(key: (typeof SAMPLING_FIELDS)[number]) => T | undefined;

/** Checks the shared fields GenerateOptions does not check itself: OpenAI's additive penalties and `stream`. */
export function checkSampling(get: Field): void {
  for (const key of ['frequency_penalty', 'presence_penalty'] as const) {
    const v = get<number>(key);
    if (v !== undefined && v !== 0) {
      throw new InvalidOptionError(
        key,
        `OpenAI's additive penalties are not supported (got ${v}); use repetition_penalty (multiplicative, 1 = none)`,
      );
    }
  }
  const stream = get<boolean>('stream');
  if (stream !== undefined && typeof stream !== 'boolean') {
    throw new InvalidOptionError('stream', 'must be true or false');
  }
}

/** The sampling options of a request's fields (validated later by validateGenerateOptions). */
export function samplingOptions(get: Field): GenerateOptions {
  return {
    temperature: get('temperature'),
    topP: get('top_p'),
    topK: get('top_k'),
    minP: get('min_p'),
    repetitionPenalty: get('repetition_penalty'),
    seed: get('seed'),
  };
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

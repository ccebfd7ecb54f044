/**
 * The request side of chat and text completions (src/model/chat.ts, src/server.ts): which fields a
 * request may have and what each means, checked before any work. Fields are never silently
 * ignored: OpenAI's fields wgpt does not implement are refused as not supported unless their value
 * asks for nothing, any other unknown field as unrecognized (OpenAI's convention); the error names
 * the field. Message contents: a string, or OpenAI's text parts joined by '\n'.
 */
import { InvalidOptionError } from '../errors';
import type { GenerateOptions } from '../types';

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
export function textMessages(messages: unknown): unknown {
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

export const KNOWN_FIELDS = new Set<string>([
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

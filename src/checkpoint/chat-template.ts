/**
 * Chat templates: a conversation turned into the prompt text a chat model was trained on, by the
 * Jinja template its tokenizer ships (rendered with @huggingface/jinja, as Hugging Face
 * transformers' `apply_chat_template(messages, tokenize=False, ...)` renders it with jinja2).
 *
 * Where templates come from:
 *   tokenizer_config.json  `chat_template`: one template (a string), or named templates (a list of
 *                          { name, template }), the one named 'default' used unless another is asked for
 *   chat_template.jinja    the file transformers writes beside it; replaces tokenizer_config's default
 *   GGUF metadata          `tokenizer.chat_template` (the default) and `tokenizer.chat_template.<name>`
 *
 * A template sees `messages`, `add_generation_prompt`, `bos_token`, `eos_token`, `unk_token`,
 * `pad_token` (those the tokenizer has), `raise_exception(message)` and `strftime_now(format)`,
 * plus whatever `variables` the caller passes (`date_string` for Llama 3, `enable_thinking` for
 * Qwen3...). The rendered text already holds every special token the model expects, so it is
 * tokenized without adding any: `tokenizer.encode(prompt, { addSpecialTokens: false })`.
 */
import { Template } from '@huggingface/jinja';
import { ChatTemplateError, InvalidOptionError, ModelFormatError } from '../errors';
import type { GgufMetadata } from './gguf-config';

/** Who speaks a message. */
export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

/** One turn of a conversation. */
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export const CHAT_ROLES: readonly ChatRole[] = ['system', 'user', 'assistant', 'tool'];

export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn, for the model to write (default false). */
  addGenerationPrompt?: boolean;
  /** Extra template variables, e.g. `{ date_string: '26 Jul 2024' }` or `{ enable_thinking: false }`. */
  variables?: Record<string, unknown>;
  /** Which of the model's named templates to use (default: the one named 'default'). */
  template?: string;
  /** A Jinja chat template to use instead of the model's. */
  source?: string;
  /**
   * What to do for a model without a chat template: throw ChatTemplateError (the default), or
   * 'plain': one `role: content` line per message, joined by '\n', then '\nassistant:' when adding
   * a generation prompt, after the BOS token text when the tokenizer adds BOS to plain text.
   * For example "user: Hi\nassistant:". Models not trained on chat see a readable transcript.
   */
  fallback?: 'plain';
}

/** The special tokens' text, as templates name them. */
export interface SpecialTokenStrings {
  bos_token?: string;
  eos_token?: string;
  unk_token?: string;
  pad_token?: string;
}

/** Name of the template used when none is asked for. */
export const DEFAULT_TEMPLATE = 'default';

const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const;

/** The variable through which a template's raise_exception reaches RaisedByTemplate. */
const RAISE = '__wgpt_raise_exception';

/** Variables set by applyChatTemplate itself, which `variables` may not replace. */
const RESERVED = ['messages', 'add_generation_prompt', 'raise_exception', RAISE];

type Json = Record<string, unknown>;

/** A token in tokenizer_config.json: its text, or an AddedToken object `{ content, ... }`. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json).content === 'string')
    return (v as Json).content as string;
  return undefined;
}

/** The special tokens' text from tokenizer_config.json (or its GGUF equivalent). */
export function specialTokensFromConfig(tokenizerConfig: Json): SpecialTokenStrings {
  const out: SpecialTokenStrings = {};
  for (const key of SPECIAL_TOKEN_KEYS) {
    const text = tokenText(tokenizerConfig[key]);
    if (text !== undefined) out[key] = text;
  }
  return out;
}

/**
 * The named templates of tokenizer_config.json's `chat_template` (a lone string is named
 * 'default'). Throws ModelFormatError for a value of another shape.
 */
export function chatTemplatesFromConfig(tokenizerConfig: Json): Map<string, string> {
  const value = tokenizerConfig.chat_template;
  const templates = new Map<string, string>();
  if (value === undefined || value === null) return templates;
  if (typeof value === 'string') return templates.set(DEFAULT_TEMPLATE, value);
  const bad = () =>
    new ModelFormatError(
      'tokenizer_config.json',
      "'chat_template' must be a string or a list of { name, template }",
    );
  if (!Array.isArray(value)) throw bad();
  for (const entry of value) {
    if (typeof entry !== 'object' || entry === null) throw bad();
    const { name, template } = entry as Json;
    if (typeof name !== 'string' || typeof template !== 'string') throw bad();
    templates.set(name, template);
  }
  return templates;
}

/**
 * GGUF chat templates as tokenizer_config.json's `chat_template` would hold them: the string of
 * `tokenizer.chat_template` alone, a list of { name, template } when the file also has
 * `tokenizer.chat_template.<name>` keys, undefined when it has none.
 */
export function chatTemplateConfigFromGguf(
  metadata: GgufMetadata,
): string | { name: string; template: string }[] | undefined {
  const list: { name: string; template: string }[] = [];
  const main = metadata.get('tokenizer.chat_template');
  if (typeof main === 'string') list.push({ name: DEFAULT_TEMPLATE, template: main });
  const prefix = 'tokenizer.chat_template.';
  for (const [key, value] of metadata) {
    if (key.startsWith(prefix) && key.length > prefix.length && typeof value === 'string') {
      list.push({ name: key.slice(prefix.length), template: value });
    }
  }
  if (list.length === 0) return undefined;
  return list.length === 1 && list[0].name === DEFAULT_TEMPLATE ? list[0].template : list;
}

/** Throws InvalidOptionError naming the first field of `messages` that is not a ChatMessage. */
export function validateMessages(messages: unknown): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages)) throw new InvalidOptionError('messages', 'must be an array of messages');
  if (messages.length === 0) throw new InvalidOptionError('messages', 'must hold at least one message');
  messages.forEach((m, i) => {
    if (typeof m !== 'object' || m === null) {
      throw new InvalidOptionError(`messages[${i}]`, 'must be an object { role, content }');
    }
    const { role, content } = m as Json;
    if (!CHAT_ROLES.includes(role as ChatRole)) {
      throw new InvalidOptionError(
        `messages[${i}].role`,
        `is ${JSON.stringify(role)}; expected one of ${CHAT_ROLES.join(', ')}`,
      );
    }
    if (typeof content !== 'string') {
      throw new InvalidOptionError(
        `messages[${i}].content`,
        `must be a string, found ${content === null ? 'null' : typeof content}`,
      );
    }
  });
}

/** Thrown by the template's raise_exception, to tell its message from a renderer failure. */
class RaisedByTemplate extends Error {}

/**
 * Parses a template so that its raise_exception throws RaisedByTemplate. @huggingface/jinja
 * declares its own raise_exception (a plain Error, like its parse and type errors) before the
 * caller's variables and refuses to redeclare it, so the program starts with
 * `{% set raise_exception = __wgpt_raise_exception %}`, joined as a statement rather than as text
 * (text would let trim_blocks eat a newline the template starts with).
 */
function parseTemplate(source: string): Template {
  const template = new Template(source);
  template.parsed.body.unshift(...new Template(`{% set raise_exception = ${RAISE} %}`).parsed.body);
  return template;
}

/**
 * A model's chat templates and special tokens. Parsed templates are kept, so a template is
 * parsed once however many conversations it renders.
 */
export class ChatTemplates {
  private readonly parsed = new Map<string, Template>();

  /**
   * @param templates by name; 'default' is used unless another is asked for
   * @param specialTokens the text of bos/eos/unk/pad, passed to every template
   * @param plainPrefix what the plain fallback starts with (the BOS text when the tokenizer adds BOS)
   */
  constructor(
    readonly templates: ReadonlyMap<string, string>,
    readonly specialTokens: SpecialTokenStrings = {},
    readonly plainPrefix = '',
  ) {}

  /** The templates and special tokens of a tokenizer_config.json. */
  static fromConfig(tokenizerConfig: Json, plainPrefix = ''): ChatTemplates {
    return new ChatTemplates(
      chatTemplatesFromConfig(tokenizerConfig),
      specialTokensFromConfig(tokenizerConfig),
      plainPrefix,
    );
  }

  /** Whether the model has a template of that name (any template when no name is given). */
  has(name?: string): boolean {
    return name === undefined ? this.templates.size > 0 : this.templates.has(name);
  }

  /**
   * The prompt text of a conversation. Throws InvalidOptionError for malformed messages or
   * options, ChatTemplateError when there is no template to use or the template refuses the
   * conversation (raise_exception) or fails to render.
   */
  apply(messages: ChatMessage[], options: ChatTemplateOptions = {}): string {
    validateMessages(messages);
    const { addGenerationPrompt = false, variables = {}, fallback } = options;
    if (typeof addGenerationPrompt !== 'boolean') {
      throw new InvalidOptionError('addGenerationPrompt', 'must be true or false');
    }
    if (typeof variables !== 'object' || variables === null || Array.isArray(variables)) {
      throw new InvalidOptionError('variables', 'must be an object of template variables');
    }
    for (const name of RESERVED) {
      if (Object.hasOwn(variables, name)) {
        throw new InvalidOptionError(`variables.${name}`, 'is set by applyChatTemplate itself');
      }
    }
    if (fallback !== undefined && fallback !== 'plain') {
      throw new InvalidOptionError('fallback', `is ${JSON.stringify(fallback)}; expected 'plain'`);
    }
    const picked = this.pick(options);
    if (picked === undefined) {
      const lines = messages.map((m) => `${m.role}: ${m.content}`);
      if (addGenerationPrompt) lines.push('assistant:');
      return this.plainPrefix + lines.join('\n');
    }
    const { name, template } = picked;
    const vars: Json = {
      ...this.specialTokens,
      ...variables,
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: addGenerationPrompt,
      [RAISE]: (message: unknown) => {
        throw new RaisedByTemplate(String(message));
      },
    };
    try {
      return template.render(vars);
    } catch (e) {
      if (e instanceof RaisedByTemplate) throw new ChatTemplateError(name, e.message);
      throw new ChatTemplateError(name, `could not be rendered: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The parsed template the options ask for; undefined for the plain fallback. */
  private pick(options: ChatTemplateOptions): { name: string; template: Template } | undefined {
    if (options.source !== undefined) {
      if (typeof options.source !== 'string') throw new InvalidOptionError('source', 'must be a string');
      return { name: 'source', template: this.parse('source', options.source) };
    }
    const asked = options.template;
    if (asked !== undefined && typeof asked !== 'string') {
      throw new InvalidOptionError('template', 'must be the name of one of the model’s chat templates');
    }
    const name = asked ?? DEFAULT_TEMPLATE;
    const source = this.templates.get(name);
    if (source !== undefined) return { name, template: this.parse(name, source) };
    const names = [...this.templates.keys()];
    if (asked !== undefined) {
      throw new ChatTemplateError(
        asked,
        `the model has no such chat template; it has ${names.length ? names.map((n) => `'${n}'`).join(', ') : 'none'}`,
      );
    }
    if (names.length > 0) {
      throw new ChatTemplateError(
        undefined,
        `the model has chat templates ${names.map((n) => `'${n}'`).join(', ')} but none named 'default': pass { template: name }`,
      );
    }
    if (options.fallback === 'plain') return undefined;
    throw new ChatTemplateError(
      undefined,
      "the model has no chat template (tokenizer_config.json 'chat_template', chat_template.jinja or GGUF 'tokenizer.chat_template'); pass { source } with a template, or { fallback: 'plain' } for 'role: content' lines",
    );
  }

  private parse(name: string, source: string): Template {
    const key = name === 'source' ? `\0${source}` : name;
    let template = this.parsed.get(key);
    if (!template) {
      try {
        template = parseTemplate(source);
      } catch (e) {
        throw new ChatTemplateError(name, `could not be parsed: ${(e as Error).message}`, { cause: e });
      }
      // Templates given per call are not kept: they could be many.
      if (name !== 'source') this.parsed.set(key, template);
    }
    return template;
  }
}

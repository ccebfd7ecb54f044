/**
 * Text <-> token ids through @huggingface/tokenizers, from tokenizer.json and tokenizer_config.json.
 * Adds BOS/EOS as the tokenizer config says, and streams decoded text exactly: a character whose
 * UTF-8 bytes are spread over several tokens is emitted once all of them have arrived.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ModelFormatError } from '../errors';
import { type ChatMessage, type ChatTemplateOptions, ChatTemplates, DEFAULT_TEMPLATE } from './chat-template';
import type { ModelConfig } from './config';
import type { FileSource } from './source';

export interface TokenStream {
  /** Adds one generated id; returns the text it completes (may be '' while a character is incomplete). */
  push(id: number): string;
  /** Returns whatever is held back (an incomplete character decodes as U+FFFD). */
  flush(): string;
}

type Json = Record<string, unknown>;

/** GPT-2's byte <-> printable character table for byte-level BPE pieces. */
const BYTE_OF_CHAR = (() => {
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    map.set(String.fromCharCode(printable ? b : 256 + extra++), b);
  }
  return map;
})();

function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json).content === 'string')
    return (v as Json).content as string;
  return undefined;
}

function hasType(node: unknown, type: string): boolean {
  if (typeof node !== 'object' || node === null) return false;
  if ((node as Json).type === type) return true;
  return Object.values(node).some((v) => (Array.isArray(v) ? v.some((x) => hasType(x, type)) : false));
}

const SKIP = { skip_special_tokens: true } as const;

export class Tokenizer {
  /** Ids that end generation: config.json, tokenizer_config.json and generation_config.json together. */
  readonly eosIds: number[];
  /** One more than the largest id the tokenizer knows. */
  readonly vocabSize: number;
  /** The model's chat templates (tokenizer_config.json / GGUF metadata) and special tokens' text. */
  readonly chatTemplates: ChatTemplates;
  private readonly byteLevel: boolean;

  private constructor(
    private readonly hf: HfTokenizer,
    private readonly bosId: number | undefined,
    private readonly addBos: boolean | undefined,
    private readonly eosId: number | undefined,
    private readonly addEos: boolean | undefined,
    eosIds: number[],
    byteLevel: boolean,
    tokenizerConfig: Json = {},
  ) {
    this.eosIds = eosIds;
    this.byteLevel = byteLevel;
    let max = -1;
    for (const id of hf.get_vocab(true).values()) max = Math.max(max, id);
    this.vocabSize = max + 1;
    // The plain fallback is tokenized like a template's text, without adding special tokens: it
    // starts with BOS's text when encoding plain text would add BOS.
    const bos = bosId === undefined ? undefined : hf.id_to_token(bosId);
    const addsBos = bos !== undefined && this.encode('')[0] === bosId;
    this.chatTemplates = ChatTemplates.fromConfig(tokenizerConfig, addsBos ? bos : '');
  }

  /** Builds the tokenizer from tokenizer.json (required) and tokenizer_config.json / generation_config.json (optional). */
  static async fromFiles(files: FileSource, config: ModelConfig): Promise<Tokenizer> {
    const json = await files.readJSON('tokenizer.json');
    const tcfg = (
      (await files.has('tokenizer_config.json')) ? await files.readJSON('tokenizer_config.json') : {}
    ) as Json;
    const gcfg = (
      (await files.has('generation_config.json')) ? await files.readJSON('generation_config.json') : {}
    ) as Json;
    // Recent transformers save the default chat template as its own file, which wins over the config's.
    // It is looked for where files can be listed (folders, picked files); probing a URL folder for it
    // would cost a failed request (and a console error in browsers) for every model without one.
    const listed = await files.list();
    if (listed?.includes('chat_template.jinja')) {
      const template = await files.readText('chat_template.jinja');
      const named = Array.isArray(tcfg.chat_template)
        ? (tcfg.chat_template as Json[]).filter((t) => t?.name !== DEFAULT_TEMPLATE)
        : [];
      tcfg.chat_template = named.length ? [{ name: DEFAULT_TEMPLATE, template }, ...named] : template;
    }
    return Tokenizer.fromJSON(json, tcfg, config, gcfg);
  }

  /** Builds the tokenizer from parsed tokenizer.json and tokenizer_config.json. */
  static fromJSON(
    json: unknown,
    tokenizerConfig: Json,
    config: ModelConfig,
    generationConfig: Json = {},
  ): Tokenizer {
    if (typeof json !== 'object' || json === null || typeof (json as Json).model !== 'object') {
      throw new ModelFormatError('tokenizer.json', "not a tokenizer: no 'model' object");
    }
    let hf: HfTokenizer;
    try {
      hf = new HfTokenizer(json, tokenizerConfig);
    } catch (e) {
      throw new ModelFormatError('tokenizer.json', `could not be loaded: ${(e as Error).message}`);
    }
    const idOf = (v: unknown) => {
      const s = tokenContent(v);
      return s === undefined ? undefined : hf.token_to_id(s);
    };
    const bosId = idOf(tokenizerConfig.bos_token) ?? config.bosTokenId;
    const eosId = idOf(tokenizerConfig.eos_token);
    const flag = (v: unknown) => (typeof v === 'boolean' ? v : undefined);
    const genEos = generationConfig.eos_token_id;
    const eosIds = new Set<number>(config.eosTokenIds);
    if (eosId !== undefined) eosIds.add(eosId);
    for (const id of Array.isArray(genEos) ? genEos : [genEos])
      if (Number.isInteger(id)) eosIds.add(id as number);
    const byteLevel = hasType((json as Json).decoder, 'ByteLevel');
    return new Tokenizer(
      hf,
      bosId,
      flag(tokenizerConfig.add_bos_token),
      eosId,
      flag(tokenizerConfig.add_eos_token),
      [...eosIds],
      byteLevel,
      tokenizerConfig,
    );
  }

  /**
   * Token ids of a text. Special tokens are added by tokenizer.json's post-processor, and
   * tokenizer_config's add_bos_token / add_eos_token, when given, have the last word.
   * `addSpecialTokens: false` adds none: for text that already holds them, such as a chat prompt.
   */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    if (options.addSpecialTokens === false)
      return this.hf.encode(text, { add_special_tokens: false }).ids.slice();
    const ids = this.hf.encode(text).ids.slice();
    if (this.bosId !== undefined && this.addBos !== undefined) {
      const has = ids[0] === this.bosId;
      if (this.addBos && !has) ids.unshift(this.bosId);
      if (!this.addBos && has && !text.startsWith(this.hf.id_to_token(this.bosId) ?? '\0')) ids.shift();
    }
    if (this.eosId !== undefined && this.addEos !== undefined) {
      const has = ids[ids.length - 1] === this.eosId;
      if (this.addEos && !has) ids.push(this.eosId);
      if (!this.addEos && has && !text.endsWith(this.hf.id_to_token(this.eosId) ?? '\0')) ids.pop();
    }
    return ids;
  }

  /**
   * The prompt text of a conversation, by the model's chat template (see chat-template.ts for the
   * variables it sees and the plain fallback). Tokenize it with `encode(prompt, { addSpecialTokens: false })`:
   * the template already wrote the special tokens. Throws InvalidOptionError for malformed
   * messages, ChatTemplateError when the model has no template or the template refuses them.
   */
  applyChatTemplate(messages: ChatMessage[], options: ChatTemplateOptions = {}): string {
    return this.chatTemplates.apply(messages, options);
  }

  /** The text of token ids, special tokens left out. */
  decode(ids: number[]): string {
    return this.dec(ids);
  }

  private dec(ids: number[]): string {
    return ids.length === 0 ? '' : this.hf.decode(ids, SKIP);
  }

  /** A token's piece as the tokenizer splits text, made readable ('Ġupon' and '▁upon' read ' upon'). */
  tokenText(id: number): string {
    const piece = this.hf.id_to_token(id);
    if (piece === undefined) return `<${id}>`;
    if (this.byteLevel && [...piece].every((c) => BYTE_OF_CHAR.has(c))) {
      const bytes = Uint8Array.from([...piece], (c) => BYTE_OF_CHAR.get(c)!);
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        // Part of a character: show its bytes.
        return [...bytes].map((b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`).join('');
      }
    }
    return piece.replaceAll('▁', ' ');
  }

  /**
   * A decoder for ids arriving one by one. Each push decodes a short window of recent ids and
   * emits what it adds beyond the text already emitted; text ending in an incomplete character
   * (U+FFFD) is held back until later ids complete it. The concatenation equals decode(ids).
   */
  createStream(): TokenStream {
    const ids: number[] = [];
    // ids[prefix, read) is context already emitted; ids[read, ...) is pending.
    let prefix = 0;
    let read = 0;
    const step = (final: boolean): string => {
      const before = this.dec(ids.slice(prefix, read));
      const after = this.dec(ids.slice(prefix));
      if (after.length <= before.length || !after.startsWith(before)) {
        if (!final) return '';
        // Decoders are prefix-stable in practice; if not, fall back to whole-text difference.
        const all = this.dec(ids);
        const done = this.dec(ids.slice(0, read));
        read = prefix = ids.length;
        return all.startsWith(done) ? all.slice(done.length) : '';
      }
      if (!final && after.endsWith('\uFFFD')) return '';
      prefix = read;
      read = ids.length;
      return after.slice(before.length);
    };
    return {
      push: (id: number) => {
        ids.push(id);
        return step(false);
      },
      flush: () => (read < ids.length ? step(true) : ''),
    };
  }
}

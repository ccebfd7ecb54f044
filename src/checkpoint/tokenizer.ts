/**
 * Text <-> token ids through @huggingface/tokenizers, from tokenizer.json and tokenizer_config.json.
 * Adds BOS/EOS as the tokenizer config says, and streams decoded text exactly: a character whose
 * UTF-8 bytes are spread over several tokens is emitted once all of them have arrived.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ModelFormatError } from '../errors';
import { type ChatMessage, type ChatTemplateOptions, ChatTemplates, DEFAULT_TEMPLATE } from './chat-template';
import type { ModelConfig } from './config';
import { readJSONFile } from './config-fields';
import type { FileSource } from './source';
import {
  checkTokenizerConfig,
  checkTokenizerJSON,
  HF_TOKENIZER_FILES,
  type TokenizerFiles,
} from './tokenizer-check';

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
const PROBE = 'Hello';

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
    const json = await readJSONFile(files, 'tokenizer.json');
    const optional = async (name: string) => ((await files.has(name)) ? readJSONFile(files, name) : {});
    const tcfg = (await optional('tokenizer_config.json')) as Json;
    if (typeof tcfg !== 'object' || tcfg === null || Array.isArray(tcfg)) {
      throw new ModelFormatError('tokenizer_config.json', 'is not a JSON object');
    }
    const gcfg = (await optional('generation_config.json')) as Json;
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

  /**
   * Builds the tokenizer from parsed tokenizer.json and tokenizer_config.json, each checked first
   * (tokenizer-check.ts) against `config.vocabSize`; the special token ids the configs name must be
   * tokens, and a probe encode and decode of "Hello" must work. Every failure is a ModelFormatError
   * naming the file (`files`: the names to use, the GGUF file's for a GGUF tokenizer).
   */
  static fromJSON(
    tokenizerJSON: unknown,
    tokenizerConfig: Json,
    config: ModelConfig,
    generationConfig: Json = {},
    files: TokenizerFiles = HF_TOKENIZER_FILES,
  ): Tokenizer {
    const { json } = checkTokenizerJSON(tokenizerJSON, config.vocabSize, files);
    checkTokenizerConfig(tokenizerConfig, config.vocabSize, files);
    if (
      typeof generationConfig !== 'object' ||
      generationConfig === null ||
      Array.isArray(generationConfig)
    ) {
      throw new ModelFormatError(files.generationConfig, 'is not a JSON object');
    }
    let hf: HfTokenizer;
    try {
      hf = new HfTokenizer(json, tokenizerConfig);
    } catch (e) {
      throw new ModelFormatError(files.tokenizer, `could not be loaded: ${(e as Error).message}`);
    }
    const idOf = (v: unknown) => {
      const s = tokenContent(v);
      return s === undefined ? undefined : hf.token_to_id(s);
    };
    const known = (id: number, file: string, field: string) => {
      if (hf.id_to_token(id) === undefined) {
        throw new ModelFormatError(
          file,
          `field '${field}' names token id ${id}, which ${files.tokenizer} does not have`,
        );
      }
    };
    if (config.bosTokenId !== undefined) known(config.bosTokenId, files.config, 'bos_token_id');
    for (const id of config.eosTokenIds) known(id, files.config, 'eos_token_id');
    const bosId = idOf(tokenizerConfig.bos_token) ?? config.bosTokenId;
    const eosId = idOf(tokenizerConfig.eos_token);
    for (const [key, id] of [
      ['bos', bosId],
      ['eos', eosId],
    ] as const) {
      if (tokenizerConfig[`add_${key}_token`] === true && id === undefined) {
        throw new ModelFormatError(
          files.tokenizerConfig,
          `field 'add_${key}_token' is true but ${JSON.stringify(tokenContent(tokenizerConfig[`${key}_token`]) ?? null)} (its '${key}_token') is not a token of ${files.tokenizer}`,
        );
      }
    }
    const flag = (v: unknown) => (typeof v === 'boolean' ? v : undefined);
    const genEos = generationConfig.eos_token_id;
    const eosIds = new Set<number>(config.eosTokenIds);
    if (eosId !== undefined) eosIds.add(eosId);
    for (const id of Array.isArray(genEos) ? genEos : [genEos]) {
      if (id == null) continue;
      if (!Number.isInteger(id) || id < 0) {
        throw new ModelFormatError(
          files.generationConfig,
          `field 'eos_token_id' must be token ids, found ${JSON.stringify(genEos)}`,
        );
      }
      known(id, files.generationConfig, 'eos_token_id');
      eosIds.add(id as number);
    }
    const byteLevel = hasType(json.decoder, 'ByteLevel');
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(
        hf,
        bosId,
        flag(tokenizerConfig.add_bos_token),
        eosId,
        flag(tokenizerConfig.add_eos_token),
        [...eosIds],
        byteLevel,
        tokenizerConfig,
      );
      tokenizer.probe(config.vocabSize);
    } catch (e) {
      if (e instanceof ModelFormatError) throw e;
      throw new ModelFormatError(
        files.tokenizer,
        `fails to encode and decode "Hello": ${(e as Error).message}`,
      );
    }
    return tokenizer;
  }

  /** Encodes and decodes a plain word, so that a tokenizer broken in a way no check saw fails at load. */
  private probe(vocabSize: number): void {
    for (const addSpecialTokens of [true, false]) {
      const ids = this.encode(PROBE, { addSpecialTokens });
      const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
      if (
        ids.length === 0 ||
        bad !== undefined ||
        ids.length !== ids.filter((id) => id !== undefined).length
      ) {
        throw new Error(
          `it gives ids [${ids.join(', ')}], not ids below the model's vocab_size ${vocabSize}`,
        );
      }
      const text = this.decode(ids);
      if (typeof text !== 'string') throw new Error(`decoding [${ids.join(', ')}] gives no text`);
      this.tokenText(ids[0]);
    }
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

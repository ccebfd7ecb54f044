/**
 * The tokenizer a GGUF file embeds in its metadata (`tokenizer.ggml.*`), rewritten as the
 * tokenizer.json / tokenizer_config.json that Hugging Face would write for it, so that one
 * Tokenizer class (@huggingface/tokenizers underneath) serves both formats.
 *
 * 'llama' (SentencePiece BPE, llama.cpp's SPM): text gets a leading '▁' (add_space_prefix) and
 *   spaces become '▁'; then, starting from single characters, the adjacent pair whose merged piece
 *   has the highest score is merged until no merge applies; a character without a piece becomes
 *   its UTF-8 bytes <0xXX>. As a BPE model this is merges ordered by the score of the piece they
 *   make (ties by token id), plus byte_fallback. Equal-score merges that overlap are the only case
 *   where llama.cpp (leftmost first) and this order (lower id first) can differ.
 * 'gpt2' (byte-level BPE): `tokenizer.ggml.merges` ranks, text split by the regexes that
 *   llama.cpp uses for `tokenizer.ggml.pre`, bytes mapped to GPT-2's printable characters.
 *
 * Token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte. Unknown, control
 * and unused tokens become special added tokens (matched in the text, left out by decode);
 * user-defined tokens become plain added tokens (matched in the text, decoded as written).
 */
import { ModelFormatError, UnsupportedModelError } from '../errors';
import { chatTemplateConfigFromGguf } from './chat-template';
import type { ModelConfig } from './config';
import { GgufKeys, type GgufMetadata, type GgufSpecialIds, ggufSpecialIds } from './gguf-config';
import { Tokenizer } from './tokenizer';

type Json = Record<string, unknown>;

const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** `tokenizer.ggml.model` values wgpt implements. */
export const SUPPORTED_GGUF_TOKENIZERS = ['llama', 'gpt2'] as const;

// llama.cpp's pre-tokenizer regexes (llama-vocab.cpp, llm_tokenizer_bpe), applied one after the
// other, each splitting every piece into its matches and the text between them.
const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const QWEN2 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const LLAMA3 = QWEN2.replace('|\\p{N}|', '|\\p{N}{1,3}|');

interface PreTokenizer {
  regexes: string[];
  /** A whole pre-token that is already in the vocabulary is not split (Llama 3). */
  ignoreMerges?: boolean;
  /** add_bos_token when the file does not say. */
  addBos?: boolean;
}

const DEFAULT_PRE: PreTokenizer = {
  regexes: ['[\\p{P}\\$\\+<=>\\^~\\|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'],
};
const GPT2_PRE: PreTokenizer = { regexes: [GPT2] };
const QWEN2_PRE: PreTokenizer = { regexes: [QWEN2] };
const DIGITS_PRE: PreTokenizer = { regexes: ['\\p{N}', GPT2] };
const LLAMA3_PRE: PreTokenizer = { regexes: [LLAMA3], ignoreMerges: true, addBos: true };

/** `tokenizer.ggml.pre` values, named as llama.cpp names them. */
const PRE_TOKENIZERS: Record<string, PreTokenizer> = {
  default: DEFAULT_PRE,
  gpt2: GPT2_PRE,
  'gpt-2': GPT2_PRE,
  'phi-2': GPT2_PRE,
  'roberta-bpe': GPT2_PRE,
  mpt: GPT2_PRE,
  olmo: GPT2_PRE,
  jais: GPT2_PRE,
  qwen2: QWEN2_PRE,
  'deepseek-r1-qwen': QWEN2_PRE,
  stablelm2: QWEN2_PRE,
  megrez: QWEN2_PRE,
  smollm: DIGITS_PRE,
  starcoder: DIGITS_PRE,
  refact: DIGITS_PRE,
  'command-r': DIGITS_PRE,
  codeshell: DIGITS_PRE,
  exaone: DIGITS_PRE,
  'minerva-7b': DIGITS_PRE,
  llama3: LLAMA3_PRE,
  'llama-v3': LLAMA3_PRE,
  'llama-bpe': LLAMA3_PRE,
  falcon3: LLAMA3_PRE,
};

/** The Jinja chat template stored in the file, if any. */
export function chatTemplateFromGguf(metadata: GgufMetadata): string | undefined {
  const v = metadata.get('tokenizer.chat_template');
  return typeof v === 'string' ? v : undefined;
}

/**
 * Builds the tokenizer embedded in GGUF metadata. `config` supplies the ids that end generation;
 * `file` names the model file in errors. Throws ModelFormatError for a missing or ill-typed key.
 */
export function tokenizerFromGguf(metadata: GgufMetadata, config: ModelConfig, file: string): Tokenizer {
  const { json, tokenizerConfig } = ggufTokenizerJson(metadata, file);
  const special = ggufSpecialIds(new GgufKeys(metadata, file));
  const stop = [special.eos, special.eot, special.eom].filter((id) => id !== undefined);
  const where = `${file} (embedded tokenizer)`;
  const files = { tokenizer: where, tokenizerConfig: where, config: file, generationConfig: where };
  try {
    return Tokenizer.fromJSON(json, tokenizerConfig, config, { eos_token_id: stop }, files);
  } catch (e) {
    if (e instanceof ModelFormatError || e instanceof UnsupportedModelError) throw e;
    throw new ModelFormatError(file, `embedded tokenizer: ${(e as Error).message}`);
  }
}

/** The tokenizer.json and tokenizer_config.json equivalents of GGUF tokenizer metadata. */
export function ggufTokenizerJson(
  metadata: GgufMetadata,
  file: string,
): { json: Json; tokenizerConfig: Json } {
  const keys = new GgufKeys(metadata, file);
  const model = keys.str('tokenizer.ggml.model');
  if (!(SUPPORTED_GGUF_TOKENIZERS as readonly string[]).includes(model)) {
    throw new ModelFormatError(
      file,
      `key 'tokenizer.ggml.model' is ${JSON.stringify(model)}, which is not supported; supported: ${SUPPORTED_GGUF_TOKENIZERS.join(', ')}`,
    );
  }
  // llama.cpp names an empty token "[EMPTY_<id>]" so that every id has a piece.
  const tokens = keys.strings('tokenizer.ggml.tokens').map((t, i) => (t === '' ? `[EMPTY_${i}]` : t));
  if (tokens.length === 0) keys.fail('tokenizer.ggml.tokens', 'a non-empty array of strings');
  const types = keys.has('tokenizer.ggml.token_type')
    ? keys.numbers('tokenizer.ggml.token_type', tokens.length)
    : undefined;
  const special = ggufSpecialIds(keys);
  const spm = model === 'llama';
  const pre = spm ? undefined : preTokenizer(keys);

  // Null prototype: a piece may be called '__proto__'. Duplicates would leave ids without a piece
  // (llama.cpp refuses them too).
  const vocab: Record<string, number> = Object.create(null);
  tokens.forEach((t, id) => {
    if (t in vocab) {
      throw new ModelFormatError(
        file,
        `key 'tokenizer.ggml.tokens' holds ${JSON.stringify(t)} twice (ids ${vocab[t]} and ${id})`,
      );
    }
    vocab[t] = id;
  });
  const merges = spm
    ? mergesFromScores(tokens, keys.numbers('tokenizer.ggml.scores', tokens.length), vocab)
    : mergesFromStrings(keys);

  const json: Json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(tokens, types, special),
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: special.unk === undefined ? null : tokens[special.unk],
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: spm,
      byte_fallback: spm,
      ignore_merges: pre?.ignoreMerges ?? false,
      vocab,
      merges,
    },
  };
  if (spm) {
    const prefix = keys.bool('tokenizer.ggml.add_space_prefix', true);
    const replace = { type: 'Replace', pattern: { String: ' ' }, content: '▁' };
    json.normalizer = prefix
      ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, replace] }
      : replace;
    json.decoder = {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(prefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    };
  } else {
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
    json.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [
        ...pre!.regexes.map((r) => ({
          type: 'Split',
          pattern: { Regex: r },
          behavior: 'Isolated',
          invert: false,
        })),
        byteLevel,
      ],
    };
    json.decoder = byteLevel;
  }

  const addBos = keys.bool('tokenizer.ggml.add_bos_token', spm || (pre?.addBos ?? false));
  const addEos = keys.bool('tokenizer.ggml.add_eos_token', false);
  if (addBos && special.bos === undefined) {
    throw new ModelFormatError(
      file,
      "key 'tokenizer.ggml.add_bos_token' is true but no bos_token_id is given",
    );
  }
  if (addEos && special.eos === undefined) {
    throw new ModelFormatError(
      file,
      "key 'tokenizer.ggml.add_eos_token' is true but no eos_token_id is given",
    );
  }
  const bos = special.bos === undefined ? undefined : tokens[special.bos];
  const eos = special.eos === undefined ? undefined : tokens[special.eos];
  json.post_processor = templateProcessing(addBos ? bos : undefined, addEos ? eos : undefined, special);

  const tokenizerConfig: Json = {
    add_bos_token: addBos,
    add_eos_token: addEos,
    bos_token: bos ?? null,
    eos_token: eos ?? null,
    unk_token: special.unk === undefined ? null : tokens[special.unk],
    pad_token: special.pad === undefined ? null : tokens[special.pad],
    // llama.cpp decodes exactly; the library's default would turn " ." into ".".
    clean_up_tokenization_spaces: false,
  };
  const template = chatTemplateConfigFromGguf(metadata);
  if (template !== undefined) tokenizerConfig.chat_template = template;
  return { json, tokenizerConfig };
}

function preTokenizer(keys: GgufKeys): PreTokenizer {
  // A file without the key gets llama.cpp's 'default' (with its warning that quality may suffer).
  const name = keys.str('tokenizer.ggml.pre', 'default');
  const pre = PRE_TOKENIZERS[name];
  if (!pre) {
    throw new ModelFormatError(
      keys.file,
      `key 'tokenizer.ggml.pre' is ${JSON.stringify(name)}, a pre-tokenizer wgpt does not know; known: ${Object.keys(PRE_TOKENIZERS).join(', ')}`,
    );
  }
  return pre;
}

/**
 * SentencePiece merges from piece scores: every split of a piece into two pieces is a merge, ranked
 * by the score of the piece it makes (highest first), then by that piece's id, then left to right.
 */
function mergesFromScores(
  tokens: string[],
  scores: number[],
  vocab: Record<string, number>,
): [string, string][] {
  const found: { left: string; right: string; score: number; id: number }[] = [];
  tokens.forEach((piece, id) => {
    if (vocab[piece] !== id) return;
    // Split between code points only: symbols start as whole characters.
    for (let at = piece.codePointAt(0)! > 0xffff ? 2 : 1; at < piece.length; ) {
      const left = piece.slice(0, at);
      const right = piece.slice(at);
      if (left in vocab && right in vocab) found.push({ left, right, score: scores[id], id });
      at += piece.codePointAt(at)! > 0xffff ? 2 : 1;
    }
  });
  // Array.prototype.sort is stable, which keeps left-to-right order within one piece.
  found.sort((a, b) => b.score - a.score || a.id - b.id);
  return found.map((m) => [m.left, m.right]);
}

/** `tokenizer.ggml.merges` entries "left right", split at the first space after the first character. */
function mergesFromStrings(keys: GgufKeys): [string, string][] {
  return keys.strings('tokenizer.ggml.merges').map((m, i) => {
    const at = m.indexOf(' ', 1);
    if (at < 0) {
      throw new ModelFormatError(
        keys.file,
        `key 'tokenizer.ggml.merges' entry ${i} (${JSON.stringify(m)}) is not two pieces separated by a space`,
      );
    }
    return [m.slice(0, at), m.slice(at + 1)];
  });
}

function addedTokens(tokens: string[], types: number[] | undefined, special: GgufSpecialIds): Json[] {
  const added = (id: number, isSpecial: boolean): Json => ({
    id,
    content: tokens[id],
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: isSpecial,
  });
  if (!types) {
    // Without token types, only the ids the file names are special.
    const ids = [special.unk, special.bos, special.eos, special.eot, special.eom, special.pad];
    return [...new Set(ids.filter((id) => id !== undefined))]
      .sort((a, b) => a - b)
      .map((id) => added(id, true));
  }
  const out: Json[] = [];
  types.forEach((type, id) => {
    if (type === TOKEN_TYPE.userDefined) out.push(added(id, false));
    else if (type === TOKEN_TYPE.unknown || type === TOKEN_TYPE.control || type === TOKEN_TYPE.unused) {
      out.push(added(id, true));
    }
  });
  return out;
}

function templateProcessing(
  bos: string | undefined,
  eos: string | undefined,
  ids: GgufSpecialIds,
): Json | null {
  if (bos === undefined && eos === undefined) return null;
  const token = (content: string | undefined, type_id: number) =>
    content === undefined ? [] : [{ SpecialToken: { id: content, type_id } }];
  const sequence = (id: 'A' | 'B', type_id: number) => [
    ...token(bos, type_id),
    { Sequence: { id, type_id } },
    ...token(eos, type_id),
  ];
  const specialTokens: Json = {};
  if (bos !== undefined) specialTokens[bos] = { id: bos, ids: [ids.bos], tokens: [bos] };
  if (eos !== undefined) specialTokens[eos] = { id: eos, ids: [ids.eos], tokens: [eos] };
  return {
    type: 'TemplateProcessing',
    single: sequence('A', 0),
    pair: [...sequence('A', 0), ...sequence('B', 1)],
    special_tokens: specialTokens,
  };
}

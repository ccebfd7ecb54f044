/**
 * Load-time checks of tokenizer.json and tokenizer_config.json, before @huggingface/tokenizers
 * sees them: the library trusts its input, so a `model.vocab` of the wrong shape silently encodes
 * everything to `<unk>` and a malformed post_processor throws a TypeError in the first encode.
 * Everything wrong here is a ModelFormatError naming the file and the field (or token).
 *
 * Checked: the model's vocabulary as its type needs it (BPE / WordPiece / WordLevel: an object of
 * token -> id; Unigram: a list of [token, score]), BPE merges, the unknown token, `added_tokens`
 * entries, every id below the model's vocab_size (fewer tokens than vocab_size is fine), the
 * post_processor's structure and the tokens it adds, and tokenizer_config.json's fields of the
 * special tokens.
 */
import { ModelFormatError, UnsupportedModelError } from '../errors';

type Json = Record<string, unknown>;

/** The files (or the one GGUF file) messages name. */
export interface TokenizerFiles {
  tokenizer: string;
  tokenizerConfig: string;
  config: string;
  generationConfig: string;
}

export const HF_TOKENIZER_FILES: TokenizerFiles = {
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  config: 'config.json',
  generationConfig: 'generation_config.json',
};

const MODEL_TYPES = ['BPE', 'WordPiece', 'WordLevel', 'Unigram'];
const POST_PROCESSORS = [
  'TemplateProcessing',
  'ByteLevel',
  'BertProcessing',
  'RobertaProcessing',
  'Sequence',
];

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 80));

/**
 * Checks tokenizer.json against the model's `vocabSize` and returns it as the library needs it
 * (`added_tokens` defaulted to none), plus the set of every token's text.
 */
export function checkTokenizerJSON(
  json: unknown,
  vocabSize: number,
  files: TokenizerFiles = HF_TOKENIZER_FILES,
): { json: Json; tokens: Set<string> } {
  const file = files.tokenizer;
  const fail = (message: string, token?: string): never => {
    throw new ModelFormatError(file, message, token);
  };
  if (!isObject(json)) return fail('is not a JSON object');
  const model = json.model;
  if (!isObject(model)) return fail("not a tokenizer: no 'model' object");
  const type = model.type;
  if (type !== undefined && (typeof type !== 'string' || !MODEL_TYPES.includes(type))) {
    throw new UnsupportedModelError(
      `${file}: model type ${show(type)} is not supported; supported: ${MODEL_TYPES.join(', ')}`,
    );
  }
  const tokens = new Set<string>();
  const inRange = (id: number, what: string, token?: string) => {
    if (id >= vocabSize) {
      fail(`${what} has id ${id}, not below the model's vocab_size ${vocabSize} (${files.config})`, token);
    }
  };
  const vocab = model.vocab;
  const unigram = type === 'Unigram' || (type === undefined && Array.isArray(vocab));
  if (unigram) {
    if (!Array.isArray(vocab))
      return fail(`'model.vocab' of a Unigram model must be a list of [token, score]`);
    vocab.forEach((entry, id) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') {
        fail(`'model.vocab'[${id}] must be [token, score], found ${show(entry)}`);
      }
      inRange(id, `token ${show(entry[0])}`, entry[0]);
      tokens.add(entry[0]);
    });
    if (model.unk_id != null && (!isId(model.unk_id) || model.unk_id >= vocab.length)) {
      fail(`'model.unk_id' ${show(model.unk_id)} is not an id of the vocabulary (${vocab.length} tokens)`);
    }
  } else {
    if (!isObject(vocab))
      return fail(`'model.vocab' of a ${type ?? 'tokenizer'} model must be an object of token -> id`);
    for (const [token, id] of Object.entries(vocab)) {
      if (!isId(id))
        fail(`'model.vocab' token ${show(token)} has id ${show(id)}, not a non-negative integer`, token);
      inRange(id as number, `token ${show(token)}`, token);
      tokens.add(token);
    }
    if (type === 'BPE' || model.merges !== undefined) checkMerges(model.merges, fail);
  }
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) return fail(`'added_tokens' must be a list, found ${show(added)}`);
  added.forEach((t, i) => {
    if (!isObject(t) || !isId(t.id) || typeof t.content !== 'string' || t.content === '') {
      fail(
        `'added_tokens'[${i}] must be { id, content, ... } with a non-negative id and a text, found ${show(t)}`,
      );
    }
    for (const flag of ['special', 'normalized', 'lstrip', 'rstrip', 'single_word']) {
      if (t[flag] != null && typeof t[flag] !== 'boolean') {
        fail(
          `'added_tokens'[${i}].${flag} must be true or false, found ${show(t[flag])}`,
          t.content as string,
        );
      }
    }
    inRange(t.id as number, `added token ${show(t.content)}`, t.content as string);
    tokens.add(t.content as string);
  });
  if (model.unk_token != null) {
    if (typeof model.unk_token !== 'string')
      fail(`'model.unk_token' must be a string, found ${show(model.unk_token)}`);
    else if (!tokens.has(model.unk_token))
      fail(`'model.unk_token' ${show(model.unk_token)} is not a token of the vocabulary`);
  }
  checkPostProcessor(json.post_processor, 'post_processor', tokens, inRange, fail);
  for (const part of ['normalizer', 'pre_tokenizer', 'decoder']) {
    const v = json[part];
    if (v != null && (!isObject(v) || typeof v.type !== 'string')) {
      fail(`'${part}' must be null or an object with a 'type', found ${show(v)}`);
    }
  }
  return { json: { ...json, added_tokens: added }, tokens };
}

function checkMerges(merges: unknown, fail: (m: string) => never): void {
  if (!Array.isArray(merges)) fail(`'model.merges' of a BPE model must be a list, found ${show(merges)}`);
  (merges as unknown[]).forEach((m, i) => {
    const ok =
      (typeof m === 'string' && m.includes(' ')) ||
      (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string');
    if (!ok) fail(`'model.merges'[${i}] must be "left right" or [left, right], found ${show(m)}`);
  });
}

function checkPostProcessor(
  p: unknown,
  where: string,
  tokens: Set<string>,
  inRange: (id: number, what: string, token?: string) => void,
  fail: (m: string, token?: string) => never,
): void {
  if (p == null) return;
  if (!isObject(p) || typeof p.type !== 'string') {
    fail(`'${where}' must be null or an object with a 'type', found ${show(p)}`);
  }
  if (!POST_PROCESSORS.includes(p.type)) {
    fail(`'${where}' type ${show(p.type)} is not one of ${POST_PROCESSORS.join(', ')}`);
  }
  if (p.type === 'Sequence') {
    if (!Array.isArray(p.processors)) fail(`'${where}.processors' must be a list`);
    for (const [i, q] of (p.processors as unknown[]).entries()) {
      checkPostProcessor(q, `${where}.processors[${i}]`, tokens, inRange, fail);
    }
  } else if (p.type === 'TemplateProcessing') {
    for (const key of ['single', 'pair']) {
      const items = p[key];
      if (items === undefined && key === 'pair') continue;
      if (!Array.isArray(items)) fail(`'${where}.${key}' must be a list of template pieces`);
      items.forEach((item, i) => {
        const at = `'${where}.${key}'[${i}]`;
        const special = isObject(item) ? item.SpecialToken : undefined;
        const sequence = isObject(item) ? item.Sequence : undefined;
        if (isObject(special) && typeof special.id === 'string') {
          if (!tokens.has(special.id))
            fail(`${at} adds ${show(special.id)}, which is not a token of the vocabulary`, special.id);
        } else if (!isObject(sequence) || (sequence.id !== 'A' && sequence.id !== 'B')) {
          fail(
            `${at} must be { SpecialToken: { id } } or { Sequence: { id: 'A' | 'B' } }, found ${show(item)}`,
          );
        }
      });
    }
    const specials = p.special_tokens ?? {};
    if (!isObject(specials)) fail(`'${where}.special_tokens' must be an object`);
    for (const [name, s] of Object.entries(specials)) {
      if (!isObject(s) || !Array.isArray(s.ids) || !s.ids.every(isId)) {
        fail(`'${where}.special_tokens' ${show(name)} must have 'ids', a list of token ids`, name);
      }
      for (const id of (s as { ids: number[] }).ids)
        inRange(id, `'${where}.special_tokens' ${show(name)}`, name);
    }
  } else if (p.type === 'BertProcessing' || p.type === 'RobertaProcessing') {
    for (const key of ['cls', 'sep']) {
      const pair = p[key];
      if (!Array.isArray(pair) || typeof pair[0] !== 'string' || !isId(pair[1])) {
        fail(`'${where}.${key}' must be [token, id], found ${show(pair)}`);
      }
      inRange(pair[1], `'${where}.${key}' ${show(pair[0])}`, pair[0]);
      if (!tokens.has(pair[0]))
        fail(`'${where}.${key}' ${show(pair[0])} is not a token of the vocabulary`, pair[0]);
    }
  }
}

/**
 * The shapes of tokenizer_config.json's fields that wgpt reads. Its special tokens' texts need not
 * be tokens (chat templates only print them); one that encode must add is checked by the Tokenizer.
 */
export function checkTokenizerConfig(
  cfg: unknown,
  vocabSize: number,
  files: TokenizerFiles = HF_TOKENIZER_FILES,
): Json {
  const file = files.tokenizerConfig;
  if (!isObject(cfg)) throw new ModelFormatError(file, `is not a JSON object`);
  for (const key of ['add_bos_token', 'add_eos_token']) {
    if (cfg[key] != null && typeof cfg[key] !== 'boolean') {
      throw new ModelFormatError(file, `field '${key}' must be true or false, found ${show(cfg[key])}`);
    }
  }
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
    const v = cfg[key];
    if (v == null) continue;
    const text =
      typeof v === 'string' ? v : isObject(v) && typeof v.content === 'string' ? v.content : undefined;
    if (text === undefined) {
      throw new ModelFormatError(
        file,
        `field '${key}' must be a token's text or { content }, found ${show(v)}`,
      );
    }
  }
  const decoder = cfg.added_tokens_decoder;
  if (decoder != null) {
    if (!isObject(decoder))
      throw new ModelFormatError(file, `field 'added_tokens_decoder' must be an object`);
    for (const [id, t] of Object.entries(decoder)) {
      if (!/^\d+$/.test(id) || !isObject(t) || typeof t.content !== 'string') {
        throw new ModelFormatError(
          file,
          `field 'added_tokens_decoder' entry ${show(id)} must be id -> { content }`,
        );
      }
      if (Number(id) >= vocabSize) {
        throw new ModelFormatError(
          file,
          `field 'added_tokens_decoder' token ${show(t.content)} has id ${id}, not below the model's vocab_size ${vocabSize}`,
          t.content,
        );
      }
    }
  }
  return cfg;
}

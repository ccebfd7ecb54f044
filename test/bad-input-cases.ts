/**
 * The loading part of the bad-input corpus (issue 11): one row per malformed model, each a file
 * map that `openCheckpoint` (and `loadModel`) accepts as a source, the error class it must raise,
 * and the texts its message must hold (the file, and the tensor, field or entry at fault).
 * Plain data and builders, no Node APIs: test/bad-input.test.ts runs it in Node.
 *
 * Sections: safetensors header, shard index, config.json of every family, tokenizer.json and
 * tokenizer_config.json, GGUF header and metadata, non-finite weights.
 */
import { parseSafetensorsHeader, tensorToF32 } from '../src/checkpoint/safetensors';
import {
  ModelFormatError,
  ModelLoadError,
  NumericalError,
  UnsupportedModelError,
  type WgptError,
} from '../src/errors';
import { charTokenizerJSON, NEWER_RANDOM_MODELS, randomModel, writeSafetensors } from '../src/model/testing';
import { ggufFields } from './fuzz-harness';
import { ggufFromHf } from './gguf-model';
import { ggufTensor } from './gguf-writer';

export type Files = Record<string, Uint8Array | string>;
type ErrorClass = abstract new (...args: never[]) => WgptError;

export interface BadInput {
  name: string;
  files: () => Files;
  error: ErrorClass;
  /** Texts the message must contain: the file, and the tensor, field or entry. */
  names: string[];
  /** The error's `tensor` field, when it has one. */
  tensor?: string;
}

const ST = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';
const TOK = 'tokenizer.json';
const TCFG = 'tokenizer_config.json';
const GGUF = 'model.gguf';

const gpt2 = () => randomModel('gpt2', { C: 16, NH: 2, L: 1, V: 40, F: 32, ctx: 16 }, 1);
const llama = () => randomModel('llama', { C: 32, NH: 4, NKV: 2, L: 1, V: 48, F: 64, ctx: 16 }, 2);
const llamaGguf = () => ggufFromHf(llama(), (name) => (name.includes('ffn') ? 'q8_0' : 'f32'));

// biome-ignore lint/suspicious/noExplicitAny: the cases edit JSON of any shape, as a file could hold it
type Json = Record<string, any>;

/** The safetensors file rewritten with its JSON header edited (`edit` returns the new header). */
function header(files: Files, edit: (h: Json) => unknown, raw = false): Files {
  const bytes = files[ST] as Uint8Array;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const v = edit(h) ?? h;
  const json = new TextEncoder().encode(raw ? (v as string) : JSON.stringify(v));
  const data = bytes.subarray(8 + n);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return { ...files, [ST]: out };
}

/** A model with one file's bytes replaced. */
const withBytes = (files: Files, name: string, f: (b: Uint8Array) => Uint8Array): Files => ({
  ...files,
  [name]: f((files[name] as Uint8Array).slice()),
});

/** A JSON file of the model edited in place (`edit` may return a replacement). */
function json(files: Files, name: string, edit: (j: Json) => unknown): Files {
  const j = JSON.parse(files[name] as string);
  const v = edit(j);
  return { ...files, [name]: JSON.stringify(v === undefined ? j : v) };
}

const setU64 = (b: Uint8Array, at: number, v: bigint) => {
  new DataView(b.buffer, b.byteOffset).setBigUint64(at, v, true);
  return b;
};

/** The model's tensors split over two shards with an index (`map` edits the weight_map). */
function sharded(files: Files, map: (m: Record<string, string>) => void = () => {}): Files {
  const bytes = files[ST] as Uint8Array;
  const { tensors } = parseSafetensorsHeader(ST, bytes, bytes.length);
  const half = Math.ceil(tensors.length / 2);
  const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const parts = [tensors.slice(0, half), tensors.slice(half)].map((p) =>
    Object.fromEntries(
      p.map((t) => [t.name, { dtype: t.dtype, shape: t.shape, data: tensorToF32(t, bytes) }]),
    ),
  );
  const weightMap = Object.fromEntries(parts.flatMap((p, i) => Object.keys(p).map((n) => [n, names[i]])));
  map(weightMap);
  const { [ST]: _, ...rest } = files;
  return {
    ...rest,
    [INDEX]: JSON.stringify({ metadata: {}, weight_map: weightMap }),
    [names[0]]: writeSafetensors(parts[0]),
    [names[1]]: writeSafetensors(parts[1]),
  };
}
const SHARD1 = 'model-00001-of-00002.safetensors';
const SHARD2 = 'model-00002-of-00002.safetensors';

/** The model with one value of a tensor (F32 or F16 file) set to `v`. */
function poke(files: Files, tensor: string, index: number, v: number): Files {
  const bytes = (files[ST] as Uint8Array).slice();
  const t = parseSafetensorsHeader(ST, bytes, bytes.length).tensors.find((x) => x.name === tensor);
  if (!t) throw new Error(`no tensor ${tensor}`);
  const dv = new DataView(bytes.buffer);
  if (t.dtype === 'F32') dv.setFloat32(t.begin + 4 * index, v, true);
  else dv.setUint16(t.begin + 2 * index, Number.isNaN(v) ? 0x7e00 : v > 0 ? 0x7c00 : 0xfc00, true);
  return { ...files, [ST]: bytes };
}

/** The GGUF with the bytes of an ASCII text replaced by another of the same length (a key renamed). */
function ggufText(from: string, to: string, b = llamaGguf()): Files {
  const enc = new TextEncoder();
  const [f, t] = [enc.encode(from), enc.encode(to)];
  outer: for (let i = 0; i + f.length <= b.length; i++) {
    for (let j = 0; j < f.length; j++) if (b[i + j] !== f[j]) continue outer;
    b.set(t, i);
    return { [GGUF]: b };
  }
  throw new Error(`'${from}' not in the file`);
}

/** The GGUF with one header field (see ggufFields) set. */
function ggufField(what: string, v: bigint, b = llamaGguf()): Files {
  const field = ggufFields(b).find((f) => f.what === what);
  if (!field) throw new Error(`no field ${what}`);
  const dv = new DataView(b.buffer, b.byteOffset);
  if (field.size === 4) dv.setUint32(field.at, Number(v), true);
  else dv.setBigUint64(field.at, v, true);
  return { [GGUF]: b };
}

/** The index of a metadata key's pair in the llama GGUF. */
function ggufKeyIndex(key: string): number {
  const b = llamaGguf();
  const fields = ggufFields(b);
  for (const f of fields.filter((x) => /^key \d+ length$/.test(x.what))) {
    const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(f.at, true));
    if (new TextDecoder().decode(b.subarray(f.end, f.end + n)) === key) return Number(f.what.split(' ')[1]);
  }
  throw new Error(`no key ${key}`);
}

const F = ModelFormatError;

const safetensorsCases: BadInput[] = [
  {
    name: 'file shorter than the 8-byte length',
    files: () => withBytes(gpt2(), ST, (b) => b.subarray(0, 5)),
    error: F,
    names: [ST, '8-byte'],
  },
  {
    name: 'header length past the end',
    files: () => withBytes(gpt2(), ST, (b) => setU64(b, 0, BigInt(b.length))),
    error: F,
    names: [ST, 'header length'],
  },
  {
    name: 'header length 2^64 - 1',
    files: () => withBytes(gpt2(), ST, (b) => setU64(b, 0, 2n ** 64n - 1n)),
    error: F,
    names: [ST, 'header length'],
  },
  {
    name: 'header length cuts the JSON',
    files: () => withBytes(gpt2(), ST, (b) => setU64(b, 0, 40n)),
    error: F,
    names: [ST, 'not valid JSON'],
  },
  {
    name: 'file truncated in the tensor data',
    files: () => withBytes(gpt2(), ST, (b) => b.subarray(0, b.length - 4)),
    error: F,
    names: [ST, 'out of range'],
  },
  {
    name: 'header is not JSON',
    files: () => header(gpt2(), () => '{"a": [1, 2', true),
    error: F,
    names: [ST, 'not valid JSON'],
  },
  {
    name: 'header is a JSON array',
    files: () => header(gpt2(), () => '[]', true),
    error: F,
    names: [ST, 'not a JSON object'],
  },
  {
    name: 'header is a JSON number',
    files: () => header(gpt2(), () => '42', true),
    error: F,
    names: [ST, 'not a JSON object'],
  },
  {
    name: 'header is not UTF-8',
    // A lone 0xff where the first key's first character is (byte 10: after the length and '{"').
    files: () => withBytes(gpt2(), ST, (b) => b.fill(0xff, 10, 11)),
    error: F,
    names: [ST, 'not valid JSON'],
  },
  {
    name: 'unknown dtype F64',
    files: () => header(gpt2(), (h) => void (h['transformer.wte.weight'].dtype = 'F64')),
    error: F,
    names: [ST, 'F64', 'transformer.wte.weight'],
    tensor: 'transformer.wte.weight',
  },
  {
    name: 'integer dtype I8',
    files: () => header(gpt2(), (h) => void (h['transformer.ln_f.bias'].dtype = 'I8')),
    error: F,
    names: [ST, 'I8', 'transformer.ln_f.bias'],
    tensor: 'transformer.ln_f.bias',
  },
  {
    name: 'dtype missing',
    files: () => header(gpt2(), (h) => void delete h['transformer.ln_f.bias'].dtype),
    error: F,
    names: [ST, 'dtype', 'transformer.ln_f.bias'],
    tensor: 'transformer.ln_f.bias',
  },
  {
    name: 'shape not a list',
    files: () => header(gpt2(), (h) => void (h['transformer.ln_f.bias'].shape = 16)),
    error: F,
    names: [ST, 'shape', 'transformer.ln_f.bias'],
    tensor: 'transformer.ln_f.bias',
  },
  {
    name: 'negative dimension',
    files: () => header(gpt2(), (h) => void (h['transformer.ln_f.bias'].shape = [-16])),
    error: F,
    names: [ST, 'shape', 'transformer.ln_f.bias'],
  },
  {
    name: 'fractional dimension',
    files: () => header(gpt2(), (h) => void (h['transformer.ln_f.bias'].shape = [15.5])),
    error: F,
    names: [ST, 'shape', 'transformer.ln_f.bias'],
  },
  {
    name: 'data_offsets not two integers',
    files: () => header(gpt2(), (h) => void (h['transformer.ln_f.bias'].data_offsets = [0])),
    error: F,
    names: [ST, 'data_offsets', 'transformer.ln_f.bias'],
  },
  {
    name: 'data_offsets end before begin',
    files: () => header(gpt2(), (h) => void h['transformer.ln_f.bias'].data_offsets.reverse()),
    error: F,
    names: [ST, 'transformer.ln_f.bias', 'out of range'],
  },
  {
    name: 'data_offsets past the end',
    files: () => header(gpt2(), (h) => void (h['transformer.ln_f.bias'].data_offsets[1] += 4096)),
    error: F,
    names: [ST, 'transformer.ln_f.bias', 'out of range'],
  },
  {
    name: 'shape does not match the byte length',
    files: () => header(gpt2(), (h) => void (h['transformer.ln_f.bias'].shape = [8])),
    error: F,
    names: [ST, 'transformer.ln_f.bias', 'does not match shape'],
  },
  {
    name: 'two tensors overlap',
    files: () =>
      header(
        gpt2(),
        (h) =>
          void (h['transformer.ln_f.bias'].data_offsets = [...h['transformer.ln_f.weight'].data_offsets]),
      ),
    error: F,
    names: [ST, 'overlaps'],
  },
  {
    name: 'a gap between tensors',
    files: () => header(gpt2(), (h) => void delete h['transformer.ln_f.weight']),
    error: F,
    names: [ST, 'gap of 64 unused bytes'],
  },
  {
    name: 'unused bytes at the end',
    files: () => withBytes(gpt2(), ST, (b) => Uint8Array.from([...b, 0, 0, 0, 0])),
    error: F,
    names: [ST, '4 unused bytes'],
  },
  {
    name: 'entry not an object',
    files: () => header(gpt2(), (h) => void (h['transformer.ln_f.bias'] = [1])),
    error: F,
    names: [ST, 'transformer.ln_f.bias', 'not an object'],
  },
  {
    name: '__metadata__ not an object',
    files: () => header(gpt2(), (h) => void (h.__metadata__ = 'pt')),
    error: F,
    names: [ST, '__metadata__'],
  },
  {
    name: 'a tensor the model needs is missing',
    files: () =>
      header(gpt2(), (h) => {
        // Renamed, so the layout stays whole and only the lookup fails.
        h['transformer.h.0.mlp.c_fc.biaz'] = h['transformer.h.0.mlp.c_fc.bias'];
        delete h['transformer.h.0.mlp.c_fc.bias'];
      }),
    error: F,
    names: [ST, 'transformer.h.0.mlp.c_fc.bias', 'missing tensor'],
  },
  {
    name: 'a tensor of the wrong shape',
    files: () => json(gpt2(), 'config.json', (c) => void (c.n_inner = 48)),
    error: F,
    names: [ST, 'transformer.h.0.mlp.c_fc.weight', 'expected shape [16, 48], found [16, 32]'],
    tensor: 'transformer.h.0.mlp.c_fc.weight',
  },
  {
    name: 'no weights file at all',
    files: () => {
      const { [ST]: _, ...rest } = gpt2();
      return rest;
    },
    error: ModelLoadError,
    names: [ST, INDEX],
  },
];

const BAD_SHARD_NAMES: [string, string][] = [
  ['a .. segment', '../../somewhere/model.safetensors'],
  ['a .. segment inside', 'sub/../../model.safetensors'],
  ['an absolute path', '/etc/model.safetensors'],
  ['a drive path', 'C:\\models\\model.safetensors'],
  ['a UNC path', '\\\\server\\share\\model.safetensors'],
  ['an https URL', 'https://evil.test/model.safetensors'],
  ['a file URL', 'file:///etc/model.safetensors'],
  ['a backslash', 'sub\\model.safetensors'],
  ['an empty name', ''],
];

const indexCases: BadInput[] = [
  ...BAD_SHARD_NAMES.map(
    ([what, shard]): BadInput => ({
      name: `index names a shard by ${what}`,
      files: () => sharded(llama(), (m) => void (m['model.norm.weight'] = shard)),
      error: F,
      names: [INDEX, 'model.norm.weight', JSON.stringify(shard)],
      tensor: 'model.norm.weight',
    }),
  ),
  {
    name: 'index is not JSON',
    files: () => ({ ...sharded(llama()), [INDEX]: '{"weight_map": ' }),
    error: F,
    names: [INDEX, 'not valid JSON'],
  },
  {
    name: 'index is a JSON array',
    files: () => ({ ...sharded(llama()), [INDEX]: '[]' }),
    error: F,
    names: [INDEX, 'not a JSON object'],
  },
  {
    name: 'index without weight_map',
    files: () => ({ ...sharded(llama()), [INDEX]: '{"metadata": {}}' }),
    error: F,
    names: [INDEX, 'weight_map'],
  },
  {
    name: 'weight_map is empty',
    files: () => ({ ...sharded(llama()), [INDEX]: '{"weight_map": {}}' }),
    error: F,
    names: [INDEX, 'empty'],
  },
  {
    name: 'weight_map entry is not a name',
    files: () => sharded(llama(), (m) => void ((m as Json)['model.norm.weight'] = 3)),
    error: F,
    names: [INDEX, 'model.norm.weight'],
  },
  {
    name: 'a shard is missing',
    files: () => {
      const { [SHARD2]: _, ...rest } = sharded(llama());
      return rest;
    },
    error: ModelLoadError,
    names: [SHARD2, 'not found'],
  },
  {
    name: 'index maps a tensor to a shard that lacks it',
    files: () => sharded(llama(), (m) => void (m['model.layers.0.ghost.weight'] = SHARD1)),
    error: F,
    names: [INDEX, 'model.layers.0.ghost.weight', SHARD1, 'does not hold it'],
    tensor: 'model.layers.0.ghost.weight',
  },
  {
    name: 'index maps a tensor to the other shard',
    files: () => sharded(llama(), (m) => void (m['model.norm.weight'] = SHARD1)),
    error: F,
    names: [INDEX, 'model.norm.weight', `stored in ${SHARD2}`],
    tensor: 'model.norm.weight',
  },
  {
    name: 'a shard holds a tensor the index does not map',
    files: () => sharded(llama(), (m) => void delete m['model.norm.weight']),
    error: F,
    names: [INDEX, 'model.norm.weight', 'does not map'],
    tensor: 'model.norm.weight',
  },
];

/** A field every family's config needs, and a value of the wrong kind for another. */
const FAMILY_FIELDS: [string, () => Files, string, string][] = [
  ['gpt2', gpt2, 'n_layer', 'n_embd'],
  ['llama', llama, 'num_hidden_layers', 'hidden_size'],
  [
    'qwen2',
    () => randomModel('llama', { C: 32, NH: 4, L: 1, V: 48, F: 64, ctx: 16, qkvBias: true }, 3),
    'num_hidden_layers',
    'intermediate_size',
  ],
  ['llama3', NEWER_RANDOM_MODELS.llama3, 'num_hidden_layers', 'num_attention_heads'],
  ['qwen3', NEWER_RANDOM_MODELS.qwen3, 'num_hidden_layers', 'head_dim'],
  ['gemma', NEWER_RANDOM_MODELS.gemma, 'num_hidden_layers', 'vocab_size'],
  ['gemma2', NEWER_RANDOM_MODELS.gemma2, 'num_hidden_layers', 'max_position_embeddings'],
  ['gemma3_text', NEWER_RANDOM_MODELS.gemma3, 'num_hidden_layers', 'hidden_size'],
  ['phi3', NEWER_RANDOM_MODELS.phi3, 'num_hidden_layers', 'intermediate_size'],
  ['phi', NEWER_RANDOM_MODELS.phi, 'num_hidden_layers', 'hidden_size'],
  ['smollm3', NEWER_RANDOM_MODELS.smollm3, 'num_hidden_layers', 'num_attention_heads'],
];

const configCases: BadInput[] = [
  ...FAMILY_FIELDS.flatMap(([family, model, missing, wrong]): BadInput[] => [
    {
      name: `${family}: '${missing}' missing`,
      files: () => json(model(), 'config.json', (c) => void delete c[missing]),
      error: F,
      names: ['config.json', `'${missing}'`],
    },
    {
      name: `${family}: '${wrong}' not a positive integer`,
      files: () => json(model(), 'config.json', (c) => void (c[wrong] = '64')),
      error: F,
      names: ['config.json', `'${wrong}'`],
    },
  ]),
  {
    name: 'config.json is not JSON',
    files: () => ({ ...llama(), 'config.json': '{"model_type": "llama",' }),
    error: F,
    names: ['config.json', 'not valid JSON'],
  },
  {
    name: 'config.json is an array',
    files: () => ({ ...llama(), 'config.json': '[]' }),
    error: F,
    names: ['config.json', 'JSON object'],
  },
  {
    name: 'model_type missing',
    files: () => json(llama(), 'config.json', (c) => void delete c.model_type),
    error: UnsupportedModelError,
    names: ['config.json', 'model_type'],
  },
  {
    name: 'model_type unsupported',
    files: () => json(llama(), 'config.json', (c) => void (c.model_type = 'mamba')),
    error: UnsupportedModelError,
    names: ['config.json', 'mamba', 'supported'],
  },
  {
    name: 'rope_scaling type unknown',
    files: () =>
      json(llama(), 'config.json', (c) => void (c.rope_scaling = { rope_type: 'yarn2', factor: 2 })),
    error: UnsupportedModelError,
    names: ['config.json', 'yarn2'],
  },
  {
    name: 'rms_norm_eps negative',
    files: () => json(llama(), 'config.json', (c) => void (c.rms_norm_eps = -1)),
    error: F,
    names: ['config.json', 'rms_norm_eps'],
  },
  {
    name: 'num_key_value_heads does not divide the heads',
    files: () => json(llama(), 'config.json', (c) => void (c.num_key_value_heads = 3)),
    error: F,
    names: ['config.json', 'num_key_value_heads'],
  },
  {
    name: 'eos_token_id not an id',
    files: () => json(llama(), 'config.json', (c) => void (c.eos_token_id = 'end')),
    error: F,
    names: ['config.json', 'eos_token_id'],
  },
  {
    name: 'bos_token_id not a token',
    files: () => json(llama(), 'config.json', (c) => void (c.bos_token_id = 4000)),
    error: F,
    names: ['config.json', 'bos_token_id', '4000'],
  },
];

const tok = (files: Files, edit: (t: Json) => unknown) => json(files, TOK, edit);
const template =
  (single: unknown, extra: Json = {}) =>
  (t: Json) =>
    void (t.post_processor = { type: 'TemplateProcessing', single, pair: [], special_tokens: {}, ...extra });

const tokenizerCases: BadInput[] = [
  {
    name: 'tokenizer.json missing',
    files: () => {
      const { [TOK]: _, ...rest } = llama();
      return rest;
    },
    error: ModelLoadError,
    names: [TOK],
  },
  {
    name: 'tokenizer.json is not JSON',
    files: () => ({ ...llama(), [TOK]: '{"model": {' }),
    error: F,
    names: [TOK, 'not valid JSON'],
  },
  {
    name: 'tokenizer.json is an array',
    files: () => ({ ...llama(), [TOK]: '[]' }),
    error: F,
    names: [TOK, 'not a JSON object'],
  },
  {
    name: 'no model object',
    files: () => tok(llama(), (t) => void delete t.model),
    error: F,
    names: [TOK, "'model'"],
  },
  {
    name: 'BPE vocab is a list',
    files: () => tok(llama(), (t) => void (t.model.vocab = Object.keys(t.model.vocab))),
    error: F,
    names: [TOK, "'model.vocab'"],
  },
  {
    name: 'BPE vocab is a string',
    files: () => tok(llama(), (t) => void (t.model.vocab = 'abc')),
    error: F,
    names: [TOK, "'model.vocab'"],
  },
  {
    name: 'vocab id not an integer',
    files: () => tok(llama(), (t) => void (t.model.vocab.a = '2')),
    error: F,
    names: [TOK, '"a"', 'id'],
  },
  {
    name: 'vocab id negative',
    files: () => tok(llama(), (t) => void (t.model.vocab.a = -1)),
    error: F,
    names: [TOK, '"a"'],
  },
  {
    name: 'vocab id past vocab_size',
    files: () => tok(llama(), (t) => void (t.model.vocab.zz = 48)),
    error: F,
    names: [TOK, '"zz"', 'vocab_size 48'],
  },
  {
    name: 'more tokens than vocab_size',
    files: () => ({ ...llama(), [TOK]: charTokenizerJSON(60) }),
    error: F,
    names: [TOK, 'vocab_size 48'],
  },
  {
    name: 'model type unsupported',
    files: () => tok(llama(), (t) => void (t.model.type = 'CharRNN')),
    error: UnsupportedModelError,
    names: [TOK, 'CharRNN'],
  },
  {
    name: 'Unigram vocab is an object',
    files: () => tok(llama(), (t) => void (t.model.type = 'Unigram')),
    error: F,
    names: [TOK, 'Unigram'],
  },
  {
    name: 'Unigram entry malformed',
    files: () =>
      tok(llama(), (t) => void (t.model = { type: 'Unigram', vocab: [['<unk>', 0], ['a']], unk_id: 0 })),
    error: F,
    names: [TOK, "'model.vocab'[1]"],
  },
  {
    name: 'BPE merges not a list',
    files: () => tok(llama(), (t) => void (t.model.merges = 'a b')),
    error: F,
    names: [TOK, "'model.merges'"],
  },
  {
    name: 'BPE merge malformed',
    files: () => tok(llama(), (t) => void (t.model.merges = [['a', 'b'], 'ab'])),
    error: F,
    names: [TOK, "'model.merges'[1]"],
  },
  {
    name: 'unk_token not in the vocabulary',
    files: () => tok(llama(), (t) => void (t.model.unk_token = '<oov>')),
    error: F,
    names: [TOK, 'unk_token', '<oov>'],
  },
  {
    name: 'added_tokens not a list',
    files: () => tok(llama(), (t) => void (t.added_tokens = {})),
    error: F,
    names: [TOK, "'added_tokens'"],
  },
  {
    name: 'added token without id',
    files: () => tok(llama(), (t) => void delete t.added_tokens[0].id),
    error: F,
    names: [TOK, "'added_tokens'[0]"],
  },
  {
    name: 'added token past vocab_size',
    files: () => tok(llama(), (t) => void t.added_tokens.push({ id: 99, content: '<x>', special: true })),
    error: F,
    names: [TOK, '<x>', 'vocab_size 48'],
  },
  {
    name: 'added token flag not a boolean',
    files: () => tok(llama(), (t) => void (t.added_tokens[0].special = 'yes')),
    error: F,
    names: [TOK, "'added_tokens'[0].special"],
  },
  {
    name: 'post_processor of unknown type',
    files: () => tok(llama(), (t) => void (t.post_processor = { type: 'Bogus' })),
    error: F,
    names: [TOK, 'post_processor', 'Bogus'],
  },
  {
    name: 'post_processor not an object',
    files: () => tok(llama(), (t) => void (t.post_processor = 'TemplateProcessing')),
    error: F,
    names: [TOK, 'post_processor'],
  },
  {
    name: 'template single not a list',
    files: () => tok(llama(), template({ Sequence: { id: 'A' } })),
    error: F,
    names: [TOK, 'post_processor.single'],
  },
  {
    name: 'template piece malformed',
    files: () => tok(llama(), template([{ Sequence: { id: 'C' } }])),
    error: F,
    names: [TOK, "'post_processor.single'[0]"],
  },
  {
    name: 'template adds a token the vocabulary lacks',
    files: () =>
      tok(
        llama(),
        template([{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }]),
      ),
    error: F,
    names: [TOK, '"<s>"', 'not a token'],
  },
  {
    name: 'template special token id past vocab_size',
    files: () =>
      tok(
        llama(),
        template([{ Sequence: { id: 'A', type_id: 0 } }], {
          special_tokens: { '<unk>': { id: '<unk>', ids: [500], tokens: ['<unk>'] } },
        }),
      ),
    error: F,
    names: [TOK, 'special_tokens', 'vocab_size 48'],
  },
  {
    name: 'BertProcessing cls malformed',
    files: () =>
      tok(
        llama(),
        (t) => void (t.post_processor = { type: 'BertProcessing', cls: '<unk>', sep: ['<unk>', 0] }),
      ),
    error: F,
    names: [TOK, 'post_processor.cls'],
  },
  {
    name: 'Sequence processors not a list',
    files: () => tok(llama(), (t) => void (t.post_processor = { type: 'Sequence', processors: {} })),
    error: F,
    names: [TOK, 'post_processor.processors'],
  },
  {
    name: 'decoder without a type',
    files: () => tok(llama(), (t) => void (t.decoder = { fuse: true })),
    error: F,
    names: [TOK, "'decoder'"],
  },
  {
    name: 'normalizer the library does not know',
    files: () => tok(llama(), (t) => void (t.normalizer = { type: 'Shout' })),
    error: F,
    names: [TOK, 'Shout'],
  },
  {
    name: 'tokenizer_config.json is not JSON',
    files: () => ({ ...llama(), [TCFG]: '{"add_bos_token": tru' }),
    error: F,
    names: [TCFG, 'not valid JSON'],
  },
  {
    name: 'tokenizer_config.json is an array',
    files: () => ({ ...llama(), [TCFG]: '[]' }),
    error: F,
    names: [TCFG, 'not a JSON object'],
  },
  {
    name: 'add_bos_token not a boolean',
    files: () => json(llama(), TCFG, (c) => void (c.add_bos_token = 'yes')),
    error: F,
    names: [TCFG, 'add_bos_token'],
  },
  {
    name: 'bos_token a number',
    files: () => json(llama(), TCFG, (c) => void (c.bos_token = 1)),
    error: F,
    names: [TCFG, 'bos_token'],
  },
  {
    name: 'add_bos_token with no BOS token known',
    files: () =>
      json(
        json(llama(), 'config.json', (c) => void delete c.bos_token_id),
        TCFG,
        (c) => Object.assign(c, { add_bos_token: true, bos_token: '<s>' }),
      ),
    error: F,
    names: [TCFG, 'add_bos_token', '<s>'],
  },
  {
    name: 'added_tokens_decoder id past vocab_size',
    files: () => json(llama(), TCFG, (c) => void (c.added_tokens_decoder = { 70: { content: '<x>' } })),
    error: F,
    names: [TCFG, 'added_tokens_decoder', '<x>'],
  },
  {
    name: 'chat_template of the wrong shape',
    files: () => json(llama(), TCFG, (c) => void (c.chat_template = { default: 'x' })),
    error: F,
    names: [TCFG, 'chat_template'],
  },
  {
    name: 'generation_config.json eos not a token',
    files: () => ({ ...llama(), 'generation_config.json': '{"eos_token_id": [0, 47, 4000]}' }),
    error: F,
    names: ['generation_config.json', 'eos_token_id', '4000'],
  },
  {
    name: 'generation_config.json is not JSON',
    files: () => ({ ...llama(), 'generation_config.json': '{' }),
    error: F,
    names: ['generation_config.json', 'not valid JSON'],
  },
];

const ggufCases: BadInput[] = [
  {
    name: 'bad magic',
    files: () => ({
      [GGUF]: Uint8Array.from([...new TextEncoder().encode('GGML'), ...llamaGguf().subarray(4)]),
    }),
    error: F,
    names: [GGUF, 'magic'],
  },
  { name: 'version 1', files: () => ggufField('version', 1n), error: F, names: [GGUF, 'version 1'] },
  {
    name: 'big-endian version',
    files: () => ggufField('version', 0x03000000n),
    error: F,
    names: [GGUF, 'big-endian'],
  },
  {
    name: 'truncated in the metadata',
    files: () => ({ [GGUF]: llamaGguf().subarray(0, 1200) }),
    error: F,
    names: [GGUF, 'truncated'],
  },
  {
    name: 'kv_count past the file',
    files: () => ggufField('kv_count', 2n ** 40n),
    error: F,
    names: [GGUF, 'kv_count'],
  },
  {
    name: 'tensor_count past the file',
    files: () => ggufField('tensor_count', 2n ** 63n),
    error: F,
    names: [GGUF, 'tensor_count'],
  },
  {
    name: 'unknown metadata value type',
    files: () => ggufField(`value type ${ggufKeyIndex('general.name')}`, 13n),
    error: F,
    names: [GGUF, 'general.name', 'value type 13'],
  },
  {
    name: 'string length past the file',
    files: () => ggufField(`value ${ggufKeyIndex('general.name')} length`, 2n ** 50n),
    error: F,
    names: [GGUF, 'general.name', 'length'],
  },
  {
    name: 'key of the wrong type',
    files: () => ggufField(`value type ${ggufKeyIndex('llama.block_count')}`, 6n),
    error: F,
    names: [GGUF, 'llama.block_count'],
  },
  {
    name: 'required key missing',
    files: () => ggufText('llama.block_count', 'llama.block_coun_'),
    error: F,
    names: [GGUF, 'llama.block_count'],
  },
  {
    name: 'architecture unsupported',
    files: () => ggufText('llama', 'mamba'),
    error: UnsupportedModelError,
    names: [GGUF, 'mamba'],
  },
  {
    name: 'tensor data past the end',
    files: () => ({ [GGUF]: llamaGguf().subarray(0, llamaGguf().length - 64) }),
    error: F,
    names: [GGUF, 'past the end'],
  },
  {
    name: 'unsupported tensor type IQ2_XXS',
    files: () => ({
      [GGUF]: ggufFromHf(llama(), () => 'f32', [
        { ...ggufTensor('extra.weight', 'f32', [32], new Float32Array(32)), typeId: 16 },
      ]),
    }),
    error: F,
    names: [GGUF, 'IQ2_XXS', 'extra.weight'],
    tensor: 'extra.weight',
  },
  {
    name: 'unknown tensor type id',
    files: () => ({
      [GGUF]: ggufFromHf(llama(), () => 'f32', [
        { ...ggufTensor('extra.weight', 'f32', [32], new Float32Array(32)), typeId: 99 },
      ]),
    }),
    error: F,
    names: [GGUF, '99', 'extra.weight'],
  },
  { name: 'n_dims 0', files: () => ggufField('tensor 0 n_dims', 0n), error: F, names: [GGUF, 'n_dims'] },
  {
    name: 'offset not aligned',
    files: () => ggufField('tensor 1 offset', 7n),
    error: F,
    names: [GGUF, 'alignment'],
  },
  {
    name: 'tensors overlap',
    files: () => ggufField('tensor 1 offset', 0n),
    error: F,
    names: [GGUF, 'overlaps'],
  },
  {
    name: 'a tensor the GGUF model needs is missing',
    files: () => ({ [GGUF]: ggufFromHf(llama(), (n) => (n === 'blk.0.ffn_up.weight' ? null : 'f32')) }),
    error: F,
    names: [GGUF, 'blk.0.ffn_up.weight'],
    tensor: 'blk.0.ffn_up.weight',
  },
];

const nonFiniteCases: BadInput[] = [
  {
    name: 'NaN in a RMSNorm weight',
    files: () => poke(llama(), 'model.norm.weight', 5, Number.NaN),
    error: NumericalError,
    names: [ST, 'model.norm.weight', 'NaN', 'index 5'],
    tensor: 'model.norm.weight',
  },
  {
    name: '+Inf in a LayerNorm bias',
    files: () => poke(gpt2(), 'transformer.ln_f.bias', 3, Number.POSITIVE_INFINITY),
    error: NumericalError,
    names: [ST, 'transformer.ln_f.bias', 'Infinity'],
    tensor: 'transformer.ln_f.bias',
  },
  {
    name: 'NaN in a linear bias',
    files: () => poke(gpt2(), 'transformer.h.0.attn.c_attn.bias', 0, Number.NaN),
    error: NumericalError,
    names: [ST, 'transformer.h.0.attn.c_attn.bias'],
    tensor: 'transformer.h.0.attn.c_attn.bias',
  },
  {
    name: '-Inf in the token embedding',
    files: () => poke(llama(), 'model.embed_tokens.weight', 32 * 7 + 2, Number.NEGATIVE_INFINITY),
    error: NumericalError,
    names: [ST, 'model.embed_tokens.weight', '-Infinity', 'row 7, column 2'],
    tensor: 'model.embed_tokens.weight',
  },
  {
    name: 'NaN in an untied unembedding (lm_head)',
    files: () => poke(llama(), 'lm_head.weight', 32 * 3 + 1, Number.NaN),
    error: NumericalError,
    names: [ST, 'lm_head.weight', 'NaN', 'row 3, column 1'],
    tensor: 'lm_head.weight',
  },
  {
    name: 'NaN in an F16 embedding',
    files: () =>
      poke(
        randomModel('llama', { C: 32, NH: 4, L: 1, V: 48, F: 64, ctx: 16, dtype: 'F16' }, 4),
        'model.embed_tokens.weight',
        100,
        Number.NaN,
      ),
    error: NumericalError,
    names: [ST, 'model.embed_tokens.weight', 'NaN'],
    tensor: 'model.embed_tokens.weight',
  },
  {
    name: 'NaN in a GGUF norm',
    files: () => ({
      [GGUF]: ggufFromHf(poke(llama(), 'model.layers.0.input_layernorm.weight', 1, Number.NaN)),
    }),
    error: NumericalError,
    names: [GGUF, 'blk.0.attn_norm.weight', 'NaN'],
    tensor: 'blk.0.attn_norm.weight',
  },
  {
    name: 'Inf in a GGUF q8_0 embedding',
    files: () => ({
      [GGUF]: ggufFromHf(poke(llama(), 'model.embed_tokens.weight', 40, Number.POSITIVE_INFINITY), (n) =>
        n === 'token_embd.weight' ? 'q8_0' : 'f32',
      ),
    }),
    error: NumericalError,
    names: [GGUF, 'token_embd.weight'],
    tensor: 'token_embd.weight',
  },
];

/** Every loading case, by section. */
export const BAD_INPUTS: Record<string, BadInput[]> = {
  safetensors: safetensorsCases,
  index: indexCases,
  config: configCases,
  tokenizer: tokenizerCases,
  gguf: ggufCases,
  'non-finite weights': nonFiniteCases,
};

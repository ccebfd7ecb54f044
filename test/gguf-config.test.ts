import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type GgufValue, readGgufHeader } from '../src/checkpoint/gguf';
import { configFromGguf } from '../src/checkpoint/gguf-config';
import { ModelFormatError, UnsupportedModelError } from '../src/errors';

/** A metadata map; keys given as undefined are left out. */
const meta = (o: Record<string, GgufValue | undefined>) =>
  new Map(Object.entries(o).filter((e): e is [string, GgufValue] => e[1] !== undefined));
const parse = (o: Record<string, GgufValue | undefined>) => configFromGguf(meta(o), 'm.gguf');

const llama: Record<string, GgufValue | undefined> = {
  'general.architecture': 'llama',
  'llama.block_count': 2,
  'llama.embedding_length': 64,
  'llama.feed_forward_length': 172,
  'llama.attention.head_count': 4,
  'llama.attention.head_count_kv': 2,
  'llama.context_length': 128,
  'llama.attention.layer_norm_rms_epsilon': 1e-5,
  'tokenizer.ggml.model': 'llama',
  'tokenizer.ggml.tokens': Array.from({ length: 67 }, (_, i) => `t${i}`),
};
const qwen2 = {
  ...Object.fromEntries(Object.entries(llama).map(([k, v]) => [k.replace(/^llama\./, 'qwen2.'), v])),
  'general.architecture': 'qwen2',
};
const gpt2: Record<string, GgufValue | undefined> = {
  'general.architecture': 'gpt2',
  'gpt2.block_count': 1,
  'gpt2.embedding_length': 16,
  'gpt2.feed_forward_length': 64,
  'gpt2.attention.head_count': 2,
  'gpt2.context_length': 256,
  'gpt2.attention.layer_norm_epsilon': 1e-5,
  'gpt2.vocab_size': 100,
  'tokenizer.ggml.model': 'gpt2',
  'tokenizer.ggml.eos_token_id': 99,
};

describe('configFromGguf', () => {
  it('reads stories260K.gguf', async () => {
    const bytes = readFileSync(new URL('../models/stories260K-gguf/stories260K.gguf', import.meta.url));
    const h = await readGgufHeader('stories260K.gguf', async (b, e) => bytes.subarray(b, e), bytes.length);
    const c = configFromGguf(h.metadata, 'stories260K.gguf');
    expect(c).toMatchObject({
      arch: 'llama',
      modelType: 'llama',
      vocabSize: 512,
      hidden: 64,
      layers: 5,
      heads: 8,
      kvHeads: 4,
      headDim: 8,
      ffn: 172,
      maxContext: 2048,
      norm: 'rmsnorm',
      activation: 'silu',
      rope: { theta: 10000, layout: 'pairs', rotaryDim: 8 },
      learnedPositions: false,
      tiedEmbeddings: false,
      qkvBias: false,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
    expect(c.normEps).toBeCloseTo(1e-5, 10);
  });

  it('fills llama defaults: kv heads, RoPE base and width, SentencePiece BOS/EOS', () => {
    const c = parse({ ...llama, 'llama.attention.head_count_kv': undefined });
    expect(c).toMatchObject({
      vocabSize: 67,
      kvHeads: 4,
      headDim: 16,
      rope: { theta: 10000, layout: 'pairs', rotaryDim: 16 },
      bosTokenId: 1,
      eosTokenIds: [2],
    });
    expect(
      parse({
        ...llama,
        'llama.vocab_size': 70,
        'llama.attention.key_length': 24,
        'llama.rope.dimension_count': 12,
        'llama.rope.freq_base': 500000,
      }),
    ).toMatchObject({ vocabSize: 70, headDim: 24, rope: { theta: 500000, layout: 'pairs', rotaryDim: 12 } });
  });

  it('reads qwen2 with the half-split RoPE layout and q/k/v biases', () => {
    const c = parse({ ...qwen2, 'tokenizer.ggml.eos_token_id': 5, 'tokenizer.ggml.eot_token_id': 6 });
    expect(c).toMatchObject({
      arch: 'llama',
      modelType: 'qwen2',
      rope: { layout: 'half' },
      qkvBias: true,
      attnOutBias: false,
      eosTokenIds: [5, 6],
    });
  });

  it('reads gpt2', () => {
    const c = parse(gpt2);
    expect(c).toMatchObject({
      arch: 'gpt2',
      modelType: 'gpt2',
      vocabSize: 100,
      hidden: 16,
      heads: 2,
      kvHeads: 2,
      headDim: 8,
      ffn: 64,
      maxContext: 256,
      norm: 'layernorm',
      normEps: 1e-5,
      activation: 'gelu_tanh',
      learnedPositions: true,
      qkvBias: true,
      attnOutBias: true,
      mlpBias: true,
      eosTokenIds: [99],
    });
    expect(c.rope).toBeUndefined();
    expect(c.bosTokenId).toBeUndefined();
  });

  it('rejects unsupported architectures listing the supported ones', () => {
    expect(() => parse({ ...llama, 'general.architecture': 'bert' })).toThrow(UnsupportedModelError);
    expect(() => parse({ ...llama, 'general.architecture': 'bert' })).toThrow(/bert.*llama, qwen2, gpt2/);
    expect(() => parse({ ...llama, 'llama.expert_count': 8 })).toThrow(UnsupportedModelError);
    expect(() => parse({ ...llama, 'llama.rope.scaling.type': 'yarn' })).toThrow(/yarn/);
  });

  it('names the file and key that is missing or ill-typed', () => {
    const fails = (o: Record<string, GgufValue | undefined>, key: RegExp) => {
      expect(() => parse({ ...llama, ...o })).toThrow(ModelFormatError);
      expect(() => parse({ ...llama, ...o })).toThrow(key);
    };
    fails({ 'general.architecture': undefined }, /m\.gguf.*'general\.architecture'/);
    fails({ 'llama.block_count': undefined }, /m\.gguf.*'llama\.block_count'/);
    fails({ 'llama.embedding_length': 'x' }, /'llama\.embedding_length'/);
    fails({ 'llama.context_length': 0 }, /'llama\.context_length'/);
    fails(
      { 'llama.attention.layer_norm_rms_epsilon': undefined },
      /'llama\.attention\.layer_norm_rms_epsilon'/,
    );
    fails({ 'llama.rope.freq_base': -1 }, /'llama\.rope\.freq_base'/);
    fails({ 'llama.attention.head_count_kv': 3 }, /head_count_kv/);
    fails({ 'llama.embedding_length': 66 }, /not a multiple/);
    fails({ 'tokenizer.ggml.tokens': undefined }, /'llama\.vocab_size'.*'tokenizer\.ggml\.tokens'/);
    fails({ 'tokenizer.ggml.bos_token_id': 67 }, /'tokenizer\.ggml\.bos_token_id' is 67, out of range/);
    expect(() => parse({ ...gpt2, 'gpt2.attention.layer_norm_epsilon': undefined })).toThrow(
      /'gpt2\.attention\.layer_norm_epsilon'/,
    );
  });

  it('accepts 64-bit integers within range, per-layer values that agree, and absent-token sentinels', () => {
    const c = parse({
      ...llama,
      'llama.block_count': 2n,
      'llama.attention.head_count_kv': [2, 2],
      'tokenizer.ggml.padding_token_id': 0xffffffff,
    });
    expect(c).toMatchObject({ layers: 2, kvHeads: 2 });
    expect(() => parse({ ...llama, 'llama.attention.head_count_kv': [2, 4] })).toThrow(UnsupportedModelError);
  });
});

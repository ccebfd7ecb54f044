import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/checkpoint/config';
import { ModelFormatError, UnsupportedModelError } from '../src/errors';

const json = (p: string) => JSON.parse(readFileSync(new URL(p, import.meta.url), 'utf8'));
const llama = {
  model_type: 'llama',
  vocab_size: 67,
  hidden_size: 64,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  num_hidden_layers: 2,
  intermediate_size: 172,
  max_position_embeddings: 64,
  rms_norm_eps: 1e-5,
};

describe('parseConfig', () => {
  it('reads tinystories-656k (llama)', () => {
    const c = parseConfig(json('../models/tinystories-656k/config.json'));
    expect(c).toMatchObject({
      arch: 'llama',
      modelType: 'llama',
      vocabSize: 2048,
      hidden: 128,
      layers: 2,
      heads: 8,
      kvHeads: 4,
      headDim: 16,
      ffn: 384,
      maxContext: 512,
      norm: 'rmsnorm',
      normEps: 1e-6,
      activation: 'silu',
      rope: { theta: 10000, layout: 'half', rotaryDim: 16 },
      learnedPositions: false,
      tiedEmbeddings: true,
      qkvBias: false,
      attnOutBias: false,
      mlpBias: false,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
  });

  it('reads gpt2-tiny-random', () => {
    const c = parseConfig(json('./fixtures/gpt2-tiny-random/config.json'));
    expect(c).toMatchObject({
      arch: 'gpt2',
      vocabSize: 50257,
      hidden: 16,
      layers: 1,
      heads: 1,
      kvHeads: 1,
      headDim: 16,
      ffn: 64,
      maxContext: 256,
      norm: 'layernorm',
      normEps: 1e-5,
      activation: 'gelu_tanh',
      learnedPositions: true,
      tiedEmbeddings: true,
      qkvBias: true,
      attnOutBias: true,
      mlpBias: true,
      eosTokenIds: [50256],
    });
    expect(c.rope).toBeUndefined();
  });

  it('maps gpt2 activations and rejects others by name', () => {
    const base = { model_type: 'gpt2', vocab_size: 10, n_embd: 8, n_head: 2, n_layer: 1, n_positions: 4 };
    expect(parseConfig({ ...base, activation_function: 'gelu' }).activation).toBe('gelu');
    expect(parseConfig({ ...base, activation_function: 'gelu_pytorch_tanh' }).activation).toBe('gelu_tanh');
    expect(parseConfig({ ...base, n_inner: 20 }).ffn).toBe(20);
    expect(() => parseConfig({ ...base, activation_function: 'relu' })).toThrow(/relu/);
    expect(() => parseConfig({ ...base, activation_function: 'relu' })).toThrow(UnsupportedModelError);
  });

  it('handles llama defaults, head_dim, qwen2 biases, mistral', () => {
    const c = parseConfig({ ...llama, num_key_value_heads: undefined, head_dim: 24 });
    expect(c.kvHeads).toBe(4);
    expect(c.headDim).toBe(24);
    expect(c.rope?.theta).toBe(10000);
    expect(parseConfig({ ...llama, model_type: 'qwen2' }).qkvBias).toBe(true);
    expect(parseConfig({ ...llama, attention_bias: true })).toMatchObject({
      qkvBias: true,
      attnOutBias: true,
    });
    expect(parseConfig({ ...llama, mlp_bias: true }).mlpBias).toBe(true);
    expect(parseConfig({ ...llama, model_type: 'mistral', eos_token_id: [2, 3] }).eosTokenIds).toEqual([
      2, 3,
    ]);
  });

  it('rejects unsupported model_type listing the supported ones', () => {
    expect(() => parseConfig({ ...llama, model_type: 'bert' })).toThrow(UnsupportedModelError);
    expect(() => parseConfig({ ...llama, model_type: 'bert' })).toThrow(
      /bert.*gpt2, llama, mistral, qwen2, qwen3, smollm3, gemma, gemma2, gemma3_text, phi3, phi/,
    );
  });

  it('rejects rope_scaling naming it', () => {
    expect(() => parseConfig({ ...llama, rope_scaling: { rope_type: 'yarn', factor: 4 } })).toThrow(
      UnsupportedModelError,
    );
    expect(() => parseConfig({ ...llama, rope_scaling: { rope_type: 'yarn', factor: 4 } })).toThrow(
      /yarn.*supported: default, linear, llama3/,
    );
    // The v5 form, and Phi-3's long-context scalings, are refused the same way.
    expect(() =>
      parseConfig({ ...llama, rope_parameters: { rope_type: 'dynamic', rope_theta: 1e4, factor: 2 } }),
    ).toThrow(/rope_parameters.*dynamic.*supported/);
    expect(() =>
      parseConfig({ ...llama, model_type: 'phi3', rope_scaling: { type: 'longrope', short_factor: [1] } }),
    ).toThrow(/longrope/);
    // A llama3 scaling missing a field names it.
    expect(() =>
      parseConfig({
        ...llama,
        rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 },
      }),
    ).toThrow(/original_max_position_embeddings/);
  });

  it('reads rope scaling in both forms, and the newer families', () => {
    const l3 = {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    };
    const v4 = parseConfig({ ...llama, rope_theta: 500000, rope_scaling: l3 });
    const v5 = parseConfig({ ...llama, rope_parameters: { ...l3, rope_theta: 500000 } });
    expect(v4.rope).toEqual(v5.rope);
    expect(v4.rope).toMatchObject({ theta: 500000, scaling: { type: 'llama3', originalContext: 8192 } });
    expect(parseConfig({ ...llama, rope_scaling: { rope_type: 'default' } }).rope?.scaling).toBeUndefined();
    const gemma2 = parseConfig({
      ...llama,
      model_type: 'gemma2',
      head_dim: 4,
      num_hidden_layers: 3,
      query_pre_attn_scalar: 16,
      attn_logit_softcapping: 50,
      final_logit_softcapping: 30,
      sliding_window: 4096,
    });
    expect(gemma2).toMatchObject({
      arch: 'gemma',
      attnScale: 0.25,
      attnSoftcap: 50,
      finalSoftcap: 30,
      normOffset: 1,
    });
    expect(gemma2.layerAttention?.map((a) => a.window)).toEqual([4096, 0, 4096]);
    const smol = parseConfig({
      ...llama,
      model_type: 'smollm3',
      num_hidden_layers: 4,
      no_rope_layer_interval: 2,
    });
    expect(smol.layerAttention?.map((a) => !!a.rope)).toEqual([true, false, true, false]);
    expect(() => parseConfig({ ...llama, model_type: 'smollm3', no_rope_layers: [1] })).toThrow(
      /no_rope_layers/,
    );
    expect(() => parseConfig({ ...llama, model_type: 'phi', partial_rotary_factor: 0.05 })).toThrow(
      /partial_rotary_factor/,
    );
    expect(() => parseConfig({ ...llama, model_type: 'gemma2', head_dim: 4 })).toThrow(/sliding_window/);
    expect(() =>
      parseConfig({
        ...llama,
        model_type: 'gemma3_text',
        head_dim: 4,
        sliding_window: 4,
        query_pre_attn_scalar: 4,
        layer_types: ['full'],
      }),
    ).toThrow(/layer_types/);
  });

  it('names file and field for missing or invalid numbers', () => {
    const { hidden_size: _, ...noHidden } = llama;
    expect(() => parseConfig(noHidden, 'x/config.json')).toThrow(ModelFormatError);
    expect(() => parseConfig(noHidden, 'x/config.json')).toThrow(/x\/config\.json.*hidden_size/);
    expect(() => parseConfig({ ...llama, num_hidden_layers: 1.5 })).toThrow(/num_hidden_layers/);
    expect(() => parseConfig({ ...llama, rms_norm_eps: 'a' })).toThrow(/rms_norm_eps/);
    expect(() => parseConfig({ ...llama, vocab_size: -1 })).toThrow(/vocab_size/);
    expect(() => parseConfig([])).toThrow(ModelFormatError);
  });

  it('requires kv heads to divide heads', () => {
    expect(() => parseConfig({ ...llama, num_key_value_heads: 3 })).toThrow(/num_key_value_heads/);
  });
});

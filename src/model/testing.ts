/**
 * Test helpers: write safetensors files and whole random tiny models (config.json,
 * model.safetensors, a character-level tokenizer.json) as a file map that `openSource` accepts.
 */

import type { SafetensorsDtype } from '../checkpoint/safetensors';
import { bf16Bits, f16Bits } from '../formats/f16';
import { Rng } from './sampler';

export interface TensorSpec {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

/** f32 -> f16 bits, round to nearest even (the packing code's conversion). */
export const f32ToF16 = f16Bits;

/** f32 -> bf16 bits, round to nearest even. */
export const f32ToBf16 = bf16Bits;

/** Serializes tensors (in the given order, packed without gaps) as a safetensors file. */
export function writeSafetensors(
  tensors: Record<string, TensorSpec>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const count = t.shape.reduce((a, d) => a * d, 1);
    if (count !== t.data.length)
      throw new Error(`${name}: shape [${t.shape}] needs ${count} values, got ${t.data.length}`);
    const size = count * (t.dtype === 'F32' ? 4 : 2);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    for (const v of t.data) {
      if (t.dtype === 'F32') dv.setFloat32(at, v, true);
      else dv.setUint16(at, t.dtype === 'F16' ? f32ToF16(v) : f32ToBf16(v), true);
      at += t.dtype === 'F32' ? 4 : 2;
    }
  }
  return out;
}

export interface RandomModelDims {
  /** hidden */
  C: number;
  NH: number;
  /** kv heads (llama family); default NH. */
  NKV?: number;
  /**
   * head size; default C / NH. Written as `head_dim` where the family's config has one (llama,
   * qwen3, gemma*); phi, phi3 and smollm3 derive it as C / NH, so it must be that there.
   */
  HS?: number;
  L: number;
  V: number;
  F: number;
  ctx: number;
  /** Tie lm_head to the embedding (default true for gpt2, false for llama). */
  tied?: boolean;
  /** Storage dtype of every tensor; default F32. */
  dtype?: SafetensorsDtype;
  /** q/k/v biases (llama family; written as qwen2). */
  qkvBias?: boolean;
  /**
   * Write the RoPE settings in the transformers v5 form: `rope_parameters: { rope_type, rope_theta,
   * factor, ... }` (gemma3: `{ full_attention: {...}, sliding_attention: {...} }`; phi: with
   * `partial_rotary_factor` inside) instead of `rope_theta` + `rope_scaling`.
   */
  ropeParameters?: boolean;
}

/** The families `randomModel` writes; see `randomModel` for each one's config values. */
export type RandomModelKind =
  | 'gpt2'
  | 'llama'
  | 'llama3'
  | 'llama-linear'
  | 'qwen3'
  | 'gemma'
  | 'gemma2'
  | 'gemma3'
  | 'phi3'
  | 'phi'
  | 'smollm3';

const CHARS = " abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'-\n";

/** A character-level BPE tokenizer.json: '<unk>' then one token per character, V tokens in all. */
export function charTokenizerJSON(V: number): string {
  const vocab: Record<string, number> = { '<unk>': 0 };
  for (let i = 1; i < V; i++)
    vocab[i - 1 < CHARS.length ? CHARS[i - 1] : String.fromCodePoint(0x100 + i)] = i;
  return JSON.stringify({
    version: '1.0',
    added_tokens: [
      { id: 0, content: '<unk>', special: true, normalized: false, lstrip: false, rstrip: false },
    ],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: { type: 'BPE', vocab, merges: [], unk_token: '<unk>', fuse_unk: true, byte_fallback: false },
  });
}

/**
 * Test-friendly feature values of the newer families: each one matters at a 17-token prompt with
 * head size 16 (llama3: of the 8 frequencies one is kept, one smoothed, six scaled).
 */
export const RANDOM_MODEL_FEATURES = {
  slidingWindow: 5,
  attnSoftcap: 3.0,
  finalSoftcap: 5.0,
  llama3: {
    rope_type: 'llama3',
    factor: 8,
    low_freq_factor: 1,
    high_freq_factor: 4,
    original_max_position_embeddings: 32,
  },
  linear: { rope_type: 'linear', factor: 4 },
  /** gemma3: global layers theta 10000 with linear scaling x4, sliding layers theta 100. */
  gemma3Global: { rope_type: 'linear', factor: 4 },
  gemma3LocalTheta: 100,
  gemma3Pattern: 2,
  phiPartialRotary: 0.4,
} as const;

/**
 * One random model of each newer family, sized so that every feature matters (head sizes other
 * than C / NH, GQA, 3 layers where layer kinds alternate), the v5 `rope_parameters` forms too.
 * Seeds 21..; each entry writes the same bytes every call.
 */
export const NEWER_RANDOM_MODELS: Record<string, () => Record<string, Uint8Array | string>> = {
  llama3: () => randomModel('llama3', { C: 64, NH: 4, NKV: 2, HS: 16, L: 2, V: 67, F: 172, ctx: 64 }, 21),
  'llama3 rope_parameters': () =>
    randomModel(
      'llama3',
      { C: 64, NH: 4, NKV: 2, HS: 16, L: 2, V: 67, F: 172, ctx: 64, ropeParameters: true },
      21,
    ),
  'llama-linear': () =>
    randomModel(
      'llama-linear',
      { C: 48, NH: 3, NKV: 1, HS: 16, L: 2, V: 67, F: 100, ctx: 64, tied: true },
      22,
    ),
  'llama-linear rope_parameters': () =>
    randomModel(
      'llama-linear',
      { C: 48, NH: 3, NKV: 1, HS: 16, L: 2, V: 67, F: 100, ctx: 64, tied: true, ropeParameters: true },
      22,
    ),
  qwen3: () => randomModel('qwen3', { C: 48, NH: 4, NKV: 2, HS: 16, L: 3, V: 67, F: 100, ctx: 64 }, 23),
  gemma: () => randomModel('gemma', { C: 48, NH: 3, NKV: 1, HS: 24, L: 2, V: 67, F: 100, ctx: 64 }, 24),
  gemma2: () => randomModel('gemma2', { C: 48, NH: 4, NKV: 2, HS: 16, L: 3, V: 67, F: 100, ctx: 64 }, 25),
  gemma3: () => randomModel('gemma3', { C: 48, NH: 4, NKV: 2, HS: 16, L: 3, V: 67, F: 100, ctx: 64 }, 26),
  'gemma3 rope_parameters': () =>
    randomModel(
      'gemma3',
      { C: 48, NH: 4, NKV: 2, HS: 16, L: 3, V: 67, F: 100, ctx: 64, ropeParameters: true },
      26,
    ),
  phi3: () => randomModel('phi3', { C: 48, NH: 3, NKV: 1, L: 2, V: 67, F: 100, ctx: 64 }, 27),
  phi: () => randomModel('phi', { C: 60, NH: 3, L: 2, V: 67, F: 100, ctx: 64 }, 28),
  'phi rope_parameters': () =>
    randomModel('phi', { C: 60, NH: 3, L: 2, V: 67, F: 100, ctx: 64, ropeParameters: true }, 28),
  smollm3: () => randomModel('smollm3', { C: 48, NH: 3, NKV: 1, L: 3, V: 67, F: 100, ctx: 64 }, 29),
};

/**
 * A random tiny model as a file map (config.json, model.safetensors, tokenizer.json,
 * tokenizer_config.json). Weights are seeded: the same kind, dims and seed give the same bytes.
 * Tensor names and config.json fields are those of the family's Hugging Face checkpoints:
 * - gpt2; llama (qwen2 with `qkvBias`); llama3 and llama-linear: llama with `rope_scaling`
 *   (RANDOM_MODEL_FEATURES.llama3 / .linear);
 * - qwen3: per-head `q_norm`/`k_norm` [HS], explicit head_dim;
 * - gemma: GeGLU, (1 + w) norms (weights centred at 0), tied, sqrt(C) embedding scale;
 * - gemma2: + sandwich norms, query_pre_attn_scalar = C / NH, attention softcap 3, final softcap 5,
 *   sliding_window 5 on even layers (`layer_types`);
 * - gemma3 (`gemma3_text`): + q/k norms, `sliding_window_pattern` 2 (v5 form: `layer_types`), local
 *   rope theta 100, global 10000 with linear x4; no softcapping;
 * - phi3: fused `qkv_proj` and `gate_up_proj` (gate rows first), sliding_window 5;
 * - phi (Phi-2): parallel attention and MLP under one LayerNorm with bias, partial_rotary_factor
 *   0.4, biased projections, `dense`, `fc1`/`fc2`, `final_layernorm`, lm_head with bias;
 * - smollm3: llama with `no_rope_layers` [1, 0, 1, 0, ...] (1 = RoPE), tied.
 */
export function randomModel(
  kind: RandomModelKind,
  dims: RandomModelDims,
  seed: number,
): Record<string, Uint8Array | string> {
  const rng = new Rng(seed);
  const { C, NH, L, V, F, ctx } = dims;
  const NKV = dims.NKV ?? NH;
  const HS = dims.HS ?? C / NH;
  const dtype = dims.dtype ?? 'F32';
  const tensors: Record<string, TensorSpec> = {};
  const add = (name: string, shape: number[], scale: number, center = 0) => {
    const n = shape.reduce((a, d) => a * d, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = center + scale * (2 * rng.next() - 1);
    tensors[name] = { dtype, shape, data };
  };
  const w = (fanIn: number) => 1 / Math.sqrt(fanIn);
  let config: Record<string, unknown>;
  if (kind === 'gpt2') {
    add('transformer.wte.weight', [V, C], 0.5);
    add('transformer.wpe.weight', [ctx, C], 0.2);
    for (let i = 0; i < L; i++) {
      const p = `transformer.h.${i}`;
      add(`${p}.ln_1.weight`, [C], 0.2, 1);
      add(`${p}.ln_1.bias`, [C], 0.1);
      add(`${p}.attn.c_attn.weight`, [C, 3 * C], w(C));
      add(`${p}.attn.c_attn.bias`, [3 * C], 0.1);
      add(`${p}.attn.c_proj.weight`, [C, C], w(C));
      add(`${p}.attn.c_proj.bias`, [C], 0.1);
      add(`${p}.ln_2.weight`, [C], 0.2, 1);
      add(`${p}.ln_2.bias`, [C], 0.1);
      add(`${p}.mlp.c_fc.weight`, [C, F], w(C));
      add(`${p}.mlp.c_fc.bias`, [F], 0.1);
      add(`${p}.mlp.c_proj.weight`, [F, C], w(F));
      add(`${p}.mlp.c_proj.bias`, [C], 0.1);
    }
    add('transformer.ln_f.weight', [C], 0.2, 1);
    add('transformer.ln_f.bias', [C], 0.1);
    if (dims.tied === false) add('lm_head.weight', [V, C], 0.5);
    config = {
      model_type: 'gpt2',
      activation_function: 'gelu_new',
      vocab_size: V,
      n_embd: C,
      n_head: NH,
      n_layer: L,
      n_inner: F,
      n_positions: ctx,
      layer_norm_epsilon: 1e-5,
      tie_word_embeddings: dims.tied ?? true,
      bos_token_id: 0,
      eos_token_id: 0,
    };
  } else if (kind === 'llama' || kind === 'llama3' || kind === 'llama-linear') {
    add('model.embed_tokens.weight', [V, C], 0.5);
    for (let i = 0; i < L; i++) {
      const p = `model.layers.${i}`;
      add(`${p}.input_layernorm.weight`, [C], 0.2, 1);
      add(`${p}.self_attn.q_proj.weight`, [NH * HS, C], w(C));
      add(`${p}.self_attn.k_proj.weight`, [NKV * HS, C], w(C));
      add(`${p}.self_attn.v_proj.weight`, [NKV * HS, C], w(C));
      if (dims.qkvBias) {
        add(`${p}.self_attn.q_proj.bias`, [NH * HS], 0.1);
        add(`${p}.self_attn.k_proj.bias`, [NKV * HS], 0.1);
        add(`${p}.self_attn.v_proj.bias`, [NKV * HS], 0.1);
      }
      add(`${p}.self_attn.o_proj.weight`, [C, NH * HS], w(NH * HS));
      add(`${p}.post_attention_layernorm.weight`, [C], 0.2, 1);
      add(`${p}.mlp.gate_proj.weight`, [F, C], w(C));
      add(`${p}.mlp.up_proj.weight`, [F, C], w(C));
      add(`${p}.mlp.down_proj.weight`, [C, F], w(F));
    }
    add('model.norm.weight', [C], 0.2, 1);
    if (!dims.tied) add('lm_head.weight', [V, C], 0.5);
    config = {
      model_type: dims.qkvBias ? 'qwen2' : 'llama',
      vocab_size: V,
      hidden_size: C,
      num_attention_heads: NH,
      num_key_value_heads: NKV,
      head_dim: HS,
      num_hidden_layers: L,
      intermediate_size: F,
      max_position_embeddings: ctx,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      rope_scaling: null,
      hidden_act: 'silu',
      tie_word_embeddings: dims.tied ?? false,
      bos_token_id: 0,
      eos_token_id: 0,
    };
    if (kind === 'llama3') config.rope_scaling = { ...RANDOM_MODEL_FEATURES.llama3 };
    if (kind === 'llama-linear') config.rope_scaling = { ...RANDOM_MODEL_FEATURES.linear };
  } else {
    config = newerFamily(kind, { ...dims, NKV, HS }, add);
  }
  if (dims.ropeParameters) config = toRopeParameters(config);
  return {
    'config.json': JSON.stringify(config, null, 2),
    'model.safetensors': writeSafetensors(tensors, { format: 'pt' }),
    'tokenizer.json': charTokenizerJSON(V),
    'tokenizer_config.json': JSON.stringify({ add_bos_token: false, add_eos_token: false }),
  };
}

type AddTensor = (name: string, shape: number[], scale: number, center?: number) => void;

/** Tensors (through `add`, in file order) and config.json of the families after Llama 2. */
function newerFamily(
  kind: Exclude<RandomModelKind, 'gpt2' | 'llama' | 'llama3' | 'llama-linear'>,
  dims: RandomModelDims & { NKV: number; HS: number },
  add: AddTensor,
): Record<string, unknown> {
  const { C, NH, NKV, HS, L, V, F, ctx } = dims;
  const f = RANDOM_MODEL_FEATURES;
  const w = (fanIn: number) => 1 / Math.sqrt(fanIn);
  const gemma = kind === 'gemma' || kind === 'gemma2' || kind === 'gemma3';
  if ((kind === 'phi' || kind === 'phi3' || kind === 'smollm3') && HS !== C / NH)
    throw new Error(`${kind} has no head_dim in its config: HS must be C / NH = ${C / NH}, got ${HS}`);
  // RMSNorm weights: Gemma's are used as (1 + w), so they centre at 0.
  const norm = (name: string, n = C) => add(name, [n], 0.2, gemma ? 0 : 1);
  const tied = dims.tied ?? (gemma || kind === 'qwen3' || kind === 'smollm3');
  add('model.embed_tokens.weight', [V, C], 0.5);
  for (let i = 0; i < L; i++) {
    const p = `model.layers.${i}`;
    if (kind === 'phi') {
      add(`${p}.input_layernorm.weight`, [C], 0.2, 1);
      add(`${p}.input_layernorm.bias`, [C], 0.1);
      for (const [proj, n] of [
        ['q_proj', NH],
        ['k_proj', NKV],
        ['v_proj', NKV],
      ] as const) {
        add(`${p}.self_attn.${proj}.weight`, [n * HS, C], w(C));
        add(`${p}.self_attn.${proj}.bias`, [n * HS], 0.1);
      }
      add(`${p}.self_attn.dense.weight`, [C, NH * HS], w(NH * HS));
      add(`${p}.self_attn.dense.bias`, [C], 0.1);
      add(`${p}.mlp.fc1.weight`, [F, C], w(C));
      add(`${p}.mlp.fc1.bias`, [F], 0.1);
      add(`${p}.mlp.fc2.weight`, [C, F], w(F));
      add(`${p}.mlp.fc2.bias`, [C], 0.1);
      continue;
    }
    norm(`${p}.input_layernorm.weight`);
    if (kind === 'phi3') {
      add(`${p}.self_attn.qkv_proj.weight`, [(NH + 2 * NKV) * HS, C], w(C));
    } else {
      add(`${p}.self_attn.q_proj.weight`, [NH * HS, C], w(C));
      add(`${p}.self_attn.k_proj.weight`, [NKV * HS, C], w(C));
      add(`${p}.self_attn.v_proj.weight`, [NKV * HS, C], w(C));
    }
    if (kind === 'qwen3' || kind === 'gemma3') {
      norm(`${p}.self_attn.q_norm.weight`, HS);
      norm(`${p}.self_attn.k_norm.weight`, HS);
    }
    add(`${p}.self_attn.o_proj.weight`, [C, NH * HS], w(NH * HS));
    norm(`${p}.post_attention_layernorm.weight`);
    if (kind === 'gemma2' || kind === 'gemma3') {
      norm(`${p}.pre_feedforward_layernorm.weight`);
      norm(`${p}.post_feedforward_layernorm.weight`);
    }
    if (kind === 'phi3') {
      add(`${p}.mlp.gate_up_proj.weight`, [2 * F, C], w(C));
    } else {
      add(`${p}.mlp.gate_proj.weight`, [F, C], w(C));
      add(`${p}.mlp.up_proj.weight`, [F, C], w(C));
    }
    add(`${p}.mlp.down_proj.weight`, [C, F], w(F));
  }
  if (kind === 'phi') {
    add('model.final_layernorm.weight', [C], 0.2, 1);
    add('model.final_layernorm.bias', [C], 0.1);
  } else {
    norm('model.norm.weight');
  }
  if (!tied) add('lm_head.weight', [V, C], 0.5);
  if (kind === 'phi' && !tied) add('lm_head.bias', [V], 0.1);

  const base = {
    vocab_size: V,
    hidden_size: C,
    intermediate_size: F,
    num_hidden_layers: L,
    num_attention_heads: NH,
    num_key_value_heads: NKV,
  };
  const common = { tie_word_embeddings: tied, bos_token_id: 0, eos_token_id: 0 };
  const layers = (rule: (i: number) => string) => Array.from({ length: L }, (_, i) => rule(i));
  switch (kind) {
    case 'qwen3':
      return {
        architectures: ['Qwen3ForCausalLM'],
        model_type: 'qwen3',
        ...base,
        head_dim: HS,
        hidden_act: 'silu',
        max_position_embeddings: ctx,
        rms_norm_eps: 1e-6,
        rope_theta: 10000,
        rope_scaling: null,
        attention_bias: false,
        use_sliding_window: false,
        sliding_window: null,
        max_window_layers: L,
        layer_types: layers(() => 'full_attention'),
        ...common,
      };
    case 'gemma':
      return {
        architectures: ['GemmaForCausalLM'],
        model_type: 'gemma',
        ...base,
        head_dim: HS,
        hidden_act: 'gelu_pytorch_tanh',
        hidden_activation: 'gelu_pytorch_tanh',
        max_position_embeddings: ctx,
        rms_norm_eps: 1e-6,
        rope_theta: 10000,
        rope_scaling: null,
        attention_bias: false,
        ...common,
      };
    case 'gemma2':
      return {
        architectures: ['Gemma2ForCausalLM'],
        model_type: 'gemma2',
        ...base,
        head_dim: HS,
        hidden_act: 'gelu_pytorch_tanh',
        hidden_activation: 'gelu_pytorch_tanh',
        max_position_embeddings: ctx,
        rms_norm_eps: 1e-6,
        rope_theta: 10000,
        rope_scaling: null,
        attention_bias: false,
        query_pre_attn_scalar: C / NH,
        attn_logit_softcapping: f.attnSoftcap,
        final_logit_softcapping: f.finalSoftcap,
        sliding_window: f.slidingWindow,
        layer_types: layers((i) => ((i + 1) % 2 ? 'sliding_attention' : 'full_attention')),
        cache_implementation: 'hybrid',
        ...common,
      };
    case 'gemma3': {
      const pattern = f.gemma3Pattern;
      return {
        architectures: ['Gemma3ForCausalLM'],
        model_type: 'gemma3_text',
        ...base,
        head_dim: HS,
        hidden_activation: 'gelu_pytorch_tanh',
        max_position_embeddings: ctx,
        rms_norm_eps: 1e-6,
        rope_theta: 10000,
        rope_scaling: { ...f.gemma3Global },
        rope_local_base_freq: f.gemma3LocalTheta,
        attention_bias: false,
        query_pre_attn_scalar: C / NH,
        attn_logit_softcapping: null,
        final_logit_softcapping: null,
        sliding_window: f.slidingWindow,
        // The v5 form lists the kinds; the first releases' configs give only the pattern.
        ...(dims.ropeParameters
          ? { layer_types: layers((i) => ((i + 1) % pattern ? 'sliding_attention' : 'full_attention')) }
          : { sliding_window_pattern: pattern }),
        cache_implementation: 'hybrid',
        ...common,
      };
    }
    case 'phi3':
      return {
        architectures: ['Phi3ForCausalLM'],
        model_type: 'phi3',
        ...base,
        hidden_act: 'silu',
        max_position_embeddings: ctx,
        original_max_position_embeddings: ctx,
        rms_norm_eps: 1e-5,
        rope_theta: 10000,
        rope_scaling: null,
        sliding_window: f.slidingWindow,
        attention_bias: false,
        resid_pdrop: 0,
        embd_pdrop: 0,
        attention_dropout: 0,
        ...common,
      };
    case 'phi':
      return {
        architectures: ['PhiForCausalLM'],
        model_type: 'phi',
        ...base,
        hidden_act: 'gelu_new',
        max_position_embeddings: ctx,
        layer_norm_eps: 1e-5,
        rope_theta: 10000,
        rope_scaling: null,
        partial_rotary_factor: f.phiPartialRotary,
        qk_layernorm: false,
        resid_pdrop: 0,
        embd_pdrop: 0,
        attention_dropout: 0,
        ...common,
      };
    case 'smollm3':
      return {
        architectures: ['SmolLM3ForCausalLM'],
        model_type: 'smollm3',
        ...base,
        hidden_act: 'silu',
        max_position_embeddings: ctx,
        rms_norm_eps: 1e-6,
        rope_theta: 10000,
        rope_scaling: null,
        attention_bias: false,
        mlp_bias: false,
        no_rope_layers: Array.from({ length: L }, (_, i) => (i + 1) % 2),
        no_rope_layer_interval: 2,
        use_sliding_window: false,
        sliding_window: null,
        max_window_layers: L,
        layer_types: layers(() => 'full_attention'),
        ...common,
      };
  }
}

/**
 * The transformers v5 form of a config's RoPE settings: `rope_theta` and `rope_scaling` (and phi's
 * `partial_rotary_factor`) move into `rope_parameters`; gemma3 gets one entry per layer kind, the
 * scaling on full-attention layers only (transformers' Gemma3TextConfig.convert_rope_params_to_dict).
 */
function toRopeParameters(config: Record<string, unknown>): Record<string, unknown> {
  const { rope_theta, rope_scaling, rope_local_base_freq, partial_rotary_factor, ...rest } = config;
  if (rope_theta === undefined) throw new Error(`${config.model_type} has no RoPE settings`);
  const scaling = (rope_scaling ?? { rope_type: 'default' }) as Record<string, unknown>;
  let rope_parameters: Record<string, unknown>;
  if (config.model_type === 'gemma3_text') {
    rope_parameters = {
      full_attention: { ...scaling, rope_theta },
      sliding_attention: { rope_type: 'default', rope_theta: rope_local_base_freq },
    };
  } else {
    rope_parameters = { ...scaling, rope_theta };
    if (partial_rotary_factor !== undefined) rope_parameters.partial_rotary_factor = partial_rotary_factor;
  }
  return { ...rest, rope_parameters };
}

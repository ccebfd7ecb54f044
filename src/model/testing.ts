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
  /** kv heads (llama); default NH. */
  NKV?: number;
  /** head size; default C / NH. */
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
}

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
 * A random tiny model as a file map (config.json, model.safetensors, tokenizer.json,
 * tokenizer_config.json). Weights are seeded: the same dims and seed give the same bytes.
 */
export function randomModel(
  kind: 'gpt2' | 'llama',
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
  } else {
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
  }
  return {
    'config.json': JSON.stringify(config, null, 2),
    'model.safetensors': writeSafetensors(tensors, { format: 'pt' }),
    'tokenizer.json': charTokenizerJSON(V),
    'tokenizer_config.json': JSON.stringify({ add_bos_token: false, add_eos_token: false }),
  };
}

/**
 * Models with random weights, for speed only: the shapes of real checkpoints without downloading
 * them. Every layer of a model shares the host arrays of one random matrix per shape (each layer
 * is still uploaded to its own GPU buffer, so a decode step reads as many bytes as the real model),
 * which keeps building a GPT-2-small-sized model well under a second of JS and a Llama-1B-sized one
 * to its embedding table.
 *
 *   V vocab  C hidden  L layers  NH heads  NKV kv heads  HS head size  F MLP width  P positions
 */

import { type ModelConfig, parseConfig } from '../checkpoint/config';
import { memoryTensor, type StoredTensor } from '../checkpoint/tensor';
import type { Linear, Matrix, ModelWeights, Norm } from '../checkpoint/weights';
import { uniform } from '../gpu/check';

/** A random model the benchmark knows by name: its config.json, as Hugging Face writes it. */
export interface RandomModelSpec {
  name: string;
  config: Record<string, unknown>;
}

const gpt2 = (name: string, L: number, C: number, NH: number, V: number, P = 1024): RandomModelSpec => ({
  name,
  config: {
    model_type: 'gpt2',
    vocab_size: V,
    n_embd: C,
    n_layer: L,
    n_head: NH,
    n_positions: P,
    layer_norm_epsilon: 1e-5,
    activation_function: 'gelu_new',
  },
});

/** GPT-2 4 layers x 64 wide, vocab 50304 (the padded GPT-2 vocabulary): the unembedding dominates. */
export const GPT2_4X64 = gpt2('gpt2-4x64 (random)', 4, 64, 4, 50304);
/** GPT-2 small: 12 layers x 768, vocab 50257, 124M parameters. */
export const GPT2_SMALL_RANDOM = gpt2('gpt2-small-shaped (random)', 12, 768, 12, 50257);
/** Llama 3.2 1B class: C 2048, 16 layers, NH 32, NKV 8, HS 64, F 8192, V 128256, tied embeddings. */
export const LLAMA_1B_RANDOM: RandomModelSpec = {
  name: 'llama-1b-shaped (random)',
  config: {
    model_type: 'llama',
    vocab_size: 128256,
    hidden_size: 2048,
    num_hidden_layers: 16,
    num_attention_heads: 32,
    num_key_value_heads: 8,
    head_dim: 64,
    intermediate_size: 8192,
    max_position_embeddings: 131072,
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    tie_word_embeddings: true,
  },
};

/** The config and random weights of a spec (weights ~ U(-0.02, 0.02) like GPT-2's init, norms 1). */
export function randomModel(spec: RandomModelSpec): { cfg: ModelConfig; w: ModelWeights } {
  const cfg = parseConfig(spec.config, `${spec.name} config`);
  const { hidden: C, layers: L, heads: NH, kvHeads: NKV, headDim: HS, ffn: F, vocabSize: V } = cfg;
  let seed = 1;
  // One host array per distinct size: layers share them.
  const pool = new Map<number, Float32Array>();
  const data = (n: number) => {
    let a = pool.get(n);
    if (!a) {
      a = uniform(n, seed++, 0.02);
      pool.set(n, a);
    }
    return a;
  };
  const ones = new Float32Array(C).fill(1);
  const zeros = new Float32Array(Math.max(C, F, (NH + 2 * NKV) * HS));
  const tensor = (name: string, shape: number[]): StoredTensor =>
    memoryTensor(name, 'f32', shape, data(shape[0] * shape[1]));
  const mat = (rows: number, cols: number, name: string): Matrix => ({
    tensor: tensor(name, [rows, cols]),
    rows,
    cols,
    name,
  });
  const lin = (K: number, N: number, name: string, layout: 'NK' | 'KN', bias: boolean): Linear => ({
    parts: [tensor(name, layout === 'NK' ? [N, K] : [K, N])],
    layout,
    N,
    K,
    b: bias ? zeros.subarray(0, N) : undefined,
    name,
  });
  const norm = (name: string): Norm => ({
    w: ones,
    b: cfg.norm === 'layernorm' ? zeros.subarray(0, C) : undefined,
    name,
  });
  const wte = mat(V, C, cfg.arch === 'gpt2' ? 'wte' : 'model.embed_tokens');
  if (cfg.arch === 'gpt2') {
    const layers = Array.from({ length: L }, (_, l) => ({
      attnNorm: norm(`h.${l}.ln_1`),
      qkv: lin(C, 3 * C, `h.${l}.attn.c_attn`, 'KN', true),
      o: lin(C, C, `h.${l}.attn.c_proj`, 'KN', true),
      mlpNorm: norm(`h.${l}.ln_2`),
      fc: lin(C, F, `h.${l}.mlp.c_fc`, 'KN', true),
      proj: lin(F, C, `h.${l}.mlp.c_proj`, 'KN', true),
    }));
    const wpe = mat(cfg.maxContext, C, 'wpe');
    return { cfg, w: { wte, wpe, layers, finalNorm: norm('ln_f'), lmHead: wte } };
  }
  const layers = Array.from({ length: L }, (_, l) => {
    const p = `model.layers.${l}`;
    return {
      attnNorm: norm(`${p}.input_layernorm`),
      qkv: lin(C, (NH + 2 * NKV) * HS, `${p}.self_attn.qkv_proj`, 'NK', cfg.qkvBias),
      o: lin(NH * HS, C, `${p}.self_attn.o_proj`, 'NK', cfg.attnOutBias),
      mlpNorm: norm(`${p}.post_attention_layernorm`),
      gateUp: lin(C, 2 * F, `${p}.mlp.gate_up_proj`, 'NK', cfg.mlpBias),
      down: lin(F, C, `${p}.mlp.down_proj`, 'NK', cfg.mlpBias),
    };
  });
  const lmHead = cfg.tiedEmbeddings ? wte : mat(V, C, 'lm_head');
  return { cfg, w: { wte, layers, finalNorm: norm('model.norm'), lmHead } };
}

/**
 * GPT-2's tensors: learned positions, layernorms with biases, q|k|v as one map, a gelu MLP.
 * Hugging Face stores Conv1D weights [K, N] (with or without a 'transformer.' prefix); GGUF stores
 * them transposed, [N, K], under llama.cpp's names.
 */
import { ModelFormatError, UnsupportedModelError } from '../errors';
import type { ModelConfig } from './config';
import { bool, int, type Json, num, tokenIds } from './config-fields';
import type { Family } from './families';
import {
  conv1d,
  type LayerWeights,
  type Linear,
  linearNK,
  type ModelWeights,
  matrix,
  type Names,
  norm,
  type Resolver,
  unembedding,
} from './weights';

interface Gpt2Names {
  layout: 'NK' | 'KN';
  wte: Names;
  wpe: Names;
  /** Prefixes of layer i's tensors. */
  ln1(i: number): Names;
  qkv(i: number): Names;
  o(i: number): Names;
  ln2(i: number): Names;
  fc(i: number): Names;
  proj(i: number): Names;
  lnF: Names;
  head: Names;
}

const hf = (s: string) => [s, `transformer.${s}`];
export const GPT2_HF: Gpt2Names = {
  layout: 'KN',
  wte: hf('wte.weight'),
  wpe: hf('wpe.weight'),
  ln1: (i) => hf(`h.${i}.ln_1`),
  qkv: (i) => hf(`h.${i}.attn.c_attn`),
  o: (i) => hf(`h.${i}.attn.c_proj`),
  ln2: (i) => hf(`h.${i}.ln_2`),
  fc: (i) => hf(`h.${i}.mlp.c_fc`),
  proj: (i) => hf(`h.${i}.mlp.c_proj`),
  lnF: hf('ln_f'),
  head: ['lm_head.weight'],
};

export const GPT2_GGUF: Gpt2Names = {
  layout: 'NK',
  wte: ['token_embd.weight'],
  wpe: ['position_embd.weight'],
  ln1: (i) => [`blk.${i}.attn_norm`],
  qkv: (i) => [`blk.${i}.attn_qkv`],
  o: (i) => [`blk.${i}.attn_output`],
  ln2: (i) => [`blk.${i}.ffn_norm`],
  fc: (i) => [`blk.${i}.ffn_up`],
  proj: (i) => [`blk.${i}.ffn_down`],
  lnF: ['output_norm'],
  head: ['output.weight'],
};

export async function gpt2Weights(r: Resolver, cfg: ModelConfig, names: Gpt2Names): Promise<ModelWeights> {
  const { vocabSize: V, hidden: C, ffn: F, maxContext: P } = cfg;
  const linear = (prefix: Names, K: number, N: number): Linear =>
    names.layout === 'KN' ? conv1d(r, prefix, K, N) : linearNK(r, prefix, N, K, true);
  const wte = matrix(r, names.wte, V, C);
  const wpe = matrix(r, names.wpe, P, C);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    layers.push({
      attnNorm: norm(r, names.ln1(i), C, true),
      // c_attn is one map of 3C outputs: q, k and v side by side, as the fused layout wants them.
      qkv: linear(names.qkv(i), C, 3 * C),
      o: linear(names.o(i), C, C),
      mlpNorm: norm(r, names.ln2(i), C, true),
      fc: linear(names.fc(i), C, F),
      proj: linear(names.proj(i), F, C),
    });
  }
  const finalNorm = norm(r, names.lnF, C, true);
  const lmHead = await unembedding(r, wte, names.head, cfg.tiedEmbeddings);
  return { wte, wpe, layers, finalNorm, lmHead };
}

const ACTIVATIONS: Record<string, ModelConfig['activation']> = {
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu: 'gelu',
};

function gpt2Config(cfg: Json, file: string, modelType: string): ModelConfig {
  const hidden = int(file, cfg, 'n_embd');
  const heads = int(file, cfg, 'n_head');
  const act = cfg.activation_function ?? 'gelu_new';
  const activation = typeof act === 'string' ? ACTIVATIONS[act] : undefined;
  if (!activation) {
    throw new UnsupportedModelError(
      `${file}: activation_function ${JSON.stringify(act)} is not supported; supported: ${Object.keys(ACTIVATIONS).join(', ')}`,
    );
  }
  const headDim = hidden / heads;
  if (!Number.isInteger(headDim)) {
    throw new ModelFormatError(file, `n_embd (${hidden}) is not a multiple of n_head (${heads})`);
  }
  return {
    arch: 'gpt2',
    modelType,
    vocabSize: int(file, cfg, 'vocab_size'),
    hidden,
    layers: int(file, cfg, 'n_layer'),
    heads,
    kvHeads: heads,
    headDim,
    ffn: int(file, cfg, 'n_inner', 4 * hidden),
    maxContext: int(file, cfg, 'n_positions', cfg.n_ctx as number | undefined),
    norm: 'layernorm',
    normEps: num(file, cfg, 'layer_norm_epsilon', 1e-5),
    activation,
    learnedPositions: true,
    tiedEmbeddings: bool(file, cfg, 'tie_word_embeddings', true),
    qkvBias: true,
    attnOutBias: true,
    mlpBias: true,
    bosTokenId: tokenIds(file, cfg, 'bos_token_id')[0],
    eosTokenIds: tokenIds(file, cfg, 'eos_token_id'),
  };
}

export const GPT2: Family = {
  modelTypes: ['gpt2'],
  config: gpt2Config,
  hfWeights: (r, cfg) => gpt2Weights(r, cfg, GPT2_HF),
};

/**
 * Hugging Face config.json normalized into one ModelConfig for both families.
 *
 *   V   vocabSize    C  hidden     L  layers     NH heads     NKV kvHeads
 *   HS  headDim      F  ffn        maxContext   positions the model was trained for
 */
import { ModelFormatError, UnsupportedModelError } from '../errors';

export interface RopeConfig {
  theta: number;
  /** 'half': rotate (x[i], x[i + HS/2]) as Hugging Face does; 'pairs': (x[2i], x[2i+1]) as GGUF does. */
  layout: 'half' | 'pairs';
  /** Leading dimensions of each head that are rotated (HS unless partial rotary). */
  rotaryDim: number;
}

export interface ModelConfig {
  arch: 'gpt2' | 'llama';
  /** config.json's model_type as written (gpt2, llama, mistral, qwen2). */
  modelType: string;
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
  maxContext: number;
  norm: 'layernorm' | 'rmsnorm';
  normEps: number;
  activation: 'gelu_tanh' | 'gelu' | 'silu';
  rope?: RopeConfig;
  learnedPositions: boolean;
  tiedEmbeddings: boolean;
  qkvBias: boolean;
  attnOutBias: boolean;
  mlpBias: boolean;
  bosTokenId?: number;
  eosTokenIds: number[];
}

/** model_type values wgpt implements. */
export const SUPPORTED_MODEL_TYPES = ['gpt2', 'llama', 'mistral', 'qwen2'] as const;

type Json = Record<string, unknown>;

function int(file: string, cfg: Json, field: string, fallback?: number): number {
  const v = cfg[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new ModelFormatError(
      file,
      `field '${field}' must be a positive integer, found ${v === undefined ? 'nothing' : JSON.stringify(v)}`,
    );
  }
  return v;
}

function num(file: string, cfg: Json, field: string, fallback?: number): number {
  const v = cfg[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ModelFormatError(
      file,
      `field '${field}' must be a positive number, found ${v === undefined ? 'nothing' : JSON.stringify(v)}`,
    );
  }
  return v;
}

function bool(file: string, cfg: Json, field: string, fallback: boolean): boolean {
  const v = cfg[field] ?? fallback;
  if (typeof v !== 'boolean') {
    throw new ModelFormatError(file, `field '${field}' must be true or false, found ${JSON.stringify(v)}`);
  }
  return v;
}

function tokenIds(file: string, cfg: Json, field: string): number[] {
  const v = cfg[field];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new ModelFormatError(file, `field '${field}' must be a token id or a list of them`);
    }
  }
  return list as number[];
}

const GPT2_ACTIVATIONS: Record<string, ModelConfig['activation']> = {
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu: 'gelu',
};

/** Normalizes a parsed Hugging Face config.json. Throws ModelFormatError / UnsupportedModelError. */
export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelFormatError(file, 'expected a JSON object');
  }
  const cfg = json as Json;
  const modelType = cfg.model_type;
  if (typeof modelType !== 'string' || !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new UnsupportedModelError(
      `${file}: model_type ${JSON.stringify(modelType ?? null)} is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`,
    );
  }
  const bosTokenId = tokenIds(file, cfg, 'bos_token_id')[0];
  const eosTokenIds = tokenIds(file, cfg, 'eos_token_id');
  let out: ModelConfig;
  if (modelType === 'gpt2') {
    const hidden = int(file, cfg, 'n_embd');
    const heads = int(file, cfg, 'n_head');
    const act = cfg.activation_function ?? 'gelu_new';
    const activation = typeof act === 'string' ? GPT2_ACTIVATIONS[act] : undefined;
    if (!activation) {
      throw new UnsupportedModelError(
        `${file}: activation_function ${JSON.stringify(act)} is not supported; supported: ${Object.keys(GPT2_ACTIVATIONS).join(', ')}`,
      );
    }
    out = {
      arch: 'gpt2',
      modelType,
      vocabSize: int(file, cfg, 'vocab_size'),
      hidden,
      layers: int(file, cfg, 'n_layer'),
      heads,
      kvHeads: heads,
      headDim: hidden / heads,
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
      bosTokenId,
      eosTokenIds,
    };
    if (!Number.isInteger(out.headDim)) {
      throw new ModelFormatError(file, `n_embd (${hidden}) is not a multiple of n_head (${heads})`);
    }
  } else {
    const hidden = int(file, cfg, 'hidden_size');
    const heads = int(file, cfg, 'num_attention_heads');
    const kvHeads = int(file, cfg, 'num_key_value_heads', heads);
    const headDim = cfg.head_dim == null ? hidden / heads : int(file, cfg, 'head_dim');
    if (!Number.isInteger(headDim)) {
      throw new ModelFormatError(
        file,
        `hidden_size (${hidden}) is not a multiple of num_attention_heads (${heads}) and no head_dim is given`,
      );
    }
    if (heads % kvHeads !== 0) {
      throw new ModelFormatError(
        file,
        `num_key_value_heads (${kvHeads}) must divide num_attention_heads (${heads})`,
      );
    }
    if (cfg.rope_scaling != null) {
      const kind = (cfg.rope_scaling as Json).rope_type ?? (cfg.rope_scaling as Json).type;
      throw new UnsupportedModelError(
        `${file}: rope_scaling ${JSON.stringify(kind ?? cfg.rope_scaling)} is not supported (only null)`,
      );
    }
    const act = cfg.hidden_act ?? 'silu';
    if (act !== 'silu') {
      throw new UnsupportedModelError(
        `${file}: hidden_act ${JSON.stringify(act)} is not supported; supported: silu`,
      );
    }
    const attentionBias = bool(file, cfg, 'attention_bias', false);
    out = {
      arch: 'llama',
      modelType,
      vocabSize: int(file, cfg, 'vocab_size'),
      hidden,
      layers: int(file, cfg, 'num_hidden_layers'),
      heads,
      kvHeads,
      headDim,
      ffn: int(file, cfg, 'intermediate_size'),
      maxContext: int(file, cfg, 'max_position_embeddings'),
      norm: 'rmsnorm',
      normEps: num(file, cfg, 'rms_norm_eps', 1e-6),
      activation: 'silu',
      rope: { theta: num(file, cfg, 'rope_theta', 10000), layout: 'half', rotaryDim: headDim },
      learnedPositions: false,
      tiedEmbeddings: bool(file, cfg, 'tie_word_embeddings', false),
      qkvBias: modelType === 'qwen2' || attentionBias,
      attnOutBias: attentionBias,
      mlpBias: bool(file, cfg, 'mlp_bias', false),
      bosTokenId,
      eosTokenIds,
    };
  }
  return out;
}

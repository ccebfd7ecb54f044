/**
 * A checkpoint's config normalized into one ModelConfig for every family. Each family's file parses
 * its own config.json fields (gpt2.ts, llama.ts, gemma.ts, phi3.ts, phi.ts; families.ts picks one by
 * model_type); GGUF metadata is read by gguf-config.ts. What differs between families is said here as
 * features (norm kind, rotary settings per layer, soft-capping...), which the forward pass turns into
 * ops: it never asks which family a model is.
 *
 *   V   vocabSize    C  hidden     L  layers     NH heads     NKV kvHeads
 *   HS  headDim      F  ffn        maxContext   positions the model was trained for
 */
import type { RopeConfig } from './rope';

export { parseConfig, SUPPORTED_MODEL_TYPES } from './families';
export type { RopeConfig, RopeScaling } from './rope';

/** How one layer attends. */
export interface LayerAttention {
  /** Its rotary settings; undefined: no positions at all (SmolLM3's NoPE layers). */
  rope?: RopeConfig;
  /** Keys it sees: the `window` most recent, its own included (0: all). */
  window: number;
}

export interface ModelConfig {
  /** The family whose tensor map the weights follow. */
  arch: 'gpt2' | 'llama' | 'gemma' | 'phi3' | 'phi';
  /** config.json's model_type as written (gpt2, llama, mistral, qwen2, qwen3, gemma2...). */
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
  /** The MLP's activation: of fc (GPT-2, Phi-2), or of the gate (SwiGLU 'silu', GeGLU 'gelu_tanh'). */
  activation: 'gelu_tanh' | 'gelu' | 'silu';
  /** Rotary settings of every layer unless `layerAttention` says otherwise. */
  rope?: RopeConfig;
  /** Per layer (length L): rotary settings and sliding window. Absent: `rope` everywhere, every key. */
  layerAttention?: LayerAttention[];
  learnedPositions: boolean;
  tiedEmbeddings: boolean;
  qkvBias: boolean;
  attnOutBias: boolean;
  mlpBias: boolean;
  /** Per-head RMSNorm of q and k before the rotary embedding (Qwen3, Gemma 3). */
  qkNorm?: boolean;
  /** Norms of the attention output and of the MLP output before each residual add (Gemma 2, 3). */
  sandwichNorms?: boolean;
  /** Attention and MLP read the same normed input and both add to the residual (Phi-2). */
  parallelBlock?: boolean;
  /** The unembedding has a bias (Phi-2). */
  lmHeadBias?: boolean;
  /** Added to every RMSNorm weight when the weights are read (Gemma's x * (1 + w)). */
  normOffset?: number;
  /** Factor of the token embedding (Gemma: sqrt(hidden)). */
  embedScale?: number;
  /** Attention score scale (default 1 / sqrt(headDim)). */
  attnScale?: number;
  /** Attention scores s -> c tanh(s / c) (Gemma 2). */
  attnSoftcap?: number;
  /** Logits z -> c tanh(z / c) (Gemma 2). */
  finalSoftcap?: number;
  bosTokenId?: number;
  eosTokenIds: number[];
}

/** How layer `l` attends: its own entry of `layerAttention`, else `rope` and every key. */
export function layerAttention(cfg: ModelConfig, l: number): LayerAttention {
  return cfg.layerAttention?.[l] ?? { rope: cfg.rope, window: 0 };
}

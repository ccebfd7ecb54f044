/**
 * The Llama family (Llama 1-3.x, Mistral, Qwen2, Qwen3, SmolLM 1-3, TinyLlama): RMSNorm, rotary
 * positions (Llama 3's and linear scaling), q, k, v stacked into one map, a SwiGLU MLP with gate and
 * up stacked; Qwen3 normalizes q and k per head, SmolLM3 leaves rotary out of some layers, Mistral
 * may attend through a sliding window. Hugging Face and GGUF differ only in names (GGUF's q and k
 * rows are permuted for adjacent-pair rotary, which the config's rope layout says).
 */
import { UnsupportedModelError } from '../errors';
import type { LayerAttention, ModelConfig } from './config';
import {
  bool,
  decoderSizes,
  type Json,
  num,
  oneOf,
  optionalNum,
  ropeOf,
  uniformLayers,
} from './config-fields';
import type { Family } from './families';
import {
  type LayerWeights,
  linearNK,
  type ModelWeights,
  matrix,
  type Names,
  norm,
  qkNorm,
  type Resolver,
  stackedNK,
  unembedding,
} from './weights';

type Part =
  | 'attnNorm'
  | 'q'
  | 'k'
  | 'v'
  | 'qNorm'
  | 'kNorm'
  | 'o'
  | 'mlpNorm'
  | 'postAttn'
  | 'preFfn'
  | 'postFfn'
  | 'gate'
  | 'up'
  | 'down';

interface LlamaNames {
  embed: Names;
  /** Prefixes of layer i's tensors. */
  layer(i: number, part: Part): Names;
  norm: Names;
  head: Names;
}

const HF_PARTS: Record<Part, string> = {
  attnNorm: 'input_layernorm',
  q: 'self_attn.q_proj',
  k: 'self_attn.k_proj',
  v: 'self_attn.v_proj',
  qNorm: 'self_attn.q_norm',
  kNorm: 'self_attn.k_norm',
  o: 'self_attn.o_proj',
  mlpNorm: 'post_attention_layernorm',
  // Sandwich norms (Gemma 2, 3): post_attention_layernorm normalizes the attention output, and the
  // MLP has its own pre and post norms.
  postAttn: 'post_attention_layernorm',
  preFfn: 'pre_feedforward_layernorm',
  postFfn: 'post_feedforward_layernorm',
  gate: 'mlp.gate_proj',
  up: 'mlp.up_proj',
  down: 'mlp.down_proj',
};

const GGUF_PARTS: Record<Part, string> = {
  attnNorm: 'attn_norm',
  q: 'attn_q',
  k: 'attn_k',
  v: 'attn_v',
  qNorm: 'attn_q_norm',
  kNorm: 'attn_k_norm',
  o: 'attn_output',
  mlpNorm: 'ffn_norm',
  postAttn: 'post_attention_norm',
  preFfn: 'ffn_norm',
  postFfn: 'post_ffw_norm',
  gate: 'ffn_gate',
  up: 'ffn_up',
  down: 'ffn_down',
};

const hf = (s: string) => [`model.${s}`, s];
export const LLAMA_HF: LlamaNames = {
  embed: hf('embed_tokens.weight'),
  layer: (i, part) => hf(`layers.${i}.${HF_PARTS[part]}`),
  norm: hf('norm'),
  head: ['lm_head.weight'],
};

export const LLAMA_GGUF: LlamaNames = {
  embed: ['token_embd.weight'],
  layer: (i, part) => [`blk.${i}.${GGUF_PARTS[part]}`],
  norm: ['output_norm'],
  head: ['output.weight'],
};

export async function llamaWeights(r: Resolver, cfg: ModelConfig, names: LlamaNames): Promise<ModelWeights> {
  const { vocabSize: V, hidden: C, ffn: F, heads: NH, kvHeads: NKV, headDim: HS } = cfg;
  const wte = matrix(r, names.embed, V, C);
  const layers: LayerWeights[] = [];
  const offset = cfg.normOffset ?? 0;
  const sandwich = cfg.sandwichNorms ?? false;
  for (let i = 0; i < cfg.layers; i++) {
    const l = (part: Part) => names.layer(i, part);
    const rms = (part: Part) => norm(r, l(part), C, false, offset);
    const mlpBias = cfg.mlpBias ? true : 'optional';
    layers.push({
      attnNorm: rms('attnNorm'),
      qkv: stackedNK(
        r,
        [
          { prefix: l('q'), N: NH * HS },
          { prefix: l('k'), N: NKV * HS },
          { prefix: l('v'), N: NKV * HS },
        ],
        C,
        cfg.qkvBias ? true : 'optional',
      ),
      qkNorm: cfg.qkNorm ? qkNorm(r, l('qNorm'), l('kNorm'), HS, offset) : undefined,
      o: linearNK(r, l('o'), C, NH * HS, cfg.attnOutBias ? true : 'optional'),
      postAttnNorm: sandwich ? rms('postAttn') : undefined,
      mlpNorm: rms(sandwich ? 'preFfn' : 'mlpNorm'),
      postMlpNorm: sandwich ? rms('postFfn') : undefined,
      gateUp: stackedNK(
        r,
        [
          { prefix: l('gate'), N: F },
          { prefix: l('up'), N: F },
        ],
        C,
        mlpBias,
      ),
      down: linearNK(r, l('down'), C, F, mlpBias),
    });
  }
  const finalNorm = norm(r, names.norm, C, false, offset);
  const lmHead = await unembedding(r, wte, names.head, cfg.tiedEmbeddings);
  return { wte, layers, finalNorm, lmHead };
}

/**
 * config.json of llama, mistral, qwen2, qwen3, smollm3 (transformers' LlamaConfig and kin): sizes,
 * rope_theta with rope_scaling (or v5 rope_parameters), biases, Qwen3's q/k norms, SmolLM3's
 * no_rope_layers, Mistral's sliding_window.
 */
export function llamaConfig(cfg: Json, file: string, modelType: string): ModelConfig {
  const sizes = decoderSizes(file, cfg, modelType);
  const attentionBias = bool(file, cfg, 'attention_bias', false);
  const rope = ropeOf(file, cfg, sizes.headDim);
  let layerAttention: LayerAttention[] | undefined;
  if (modelType === 'smollm3') {
    // no_rope_layers[i] is 1 where layer i uses rotary positions (SmolLM3Config's default: every
    // no_rope_layer_interval-th layer goes without).
    const interval = cfg.no_rope_layer_interval ?? 4;
    const flags = (cfg.no_rope_layers ??
      Array.from({ length: sizes.layers }, (_, i) =>
        Number((i + 1) % (interval as number) !== 0),
      )) as unknown;
    if (!Array.isArray(flags) || flags.length !== sizes.layers || flags.some((f) => f !== 0 && f !== 1)) {
      throw new UnsupportedModelError(
        `${file}: no_rope_layers must list 0 or 1 for each of the ${sizes.layers} layers`,
      );
    }
    layerAttention = flags.map((f) => ({ rope: f ? rope : undefined, window: 0 }));
  }
  if (
    (modelType === 'qwen2' || modelType === 'qwen3' || modelType === 'smollm3') &&
    cfg.use_sliding_window === true
  ) {
    throw new UnsupportedModelError(
      `${file}: use_sliding_window true is not supported (sliding windows on the layers past max_window_layers)`,
    );
  }
  if (modelType === 'mistral') {
    const window = optionalNum(file, cfg, 'sliding_window');
    if (window !== undefined) layerAttention = uniformLayers(sizes.layers, rope, window);
  }
  return {
    ...sizes,
    arch: 'llama',
    norm: 'rmsnorm',
    normEps: num(file, cfg, 'rms_norm_eps', 1e-6),
    activation: oneOf(file, cfg, ['hidden_act'], { silu: 'silu' as const }, 'silu'),
    rope,
    layerAttention,
    learnedPositions: false,
    tiedEmbeddings: bool(file, cfg, 'tie_word_embeddings', false),
    qkvBias: modelType === 'qwen2' || attentionBias,
    attnOutBias: attentionBias,
    mlpBias: bool(file, cfg, 'mlp_bias', false),
    qkNorm: modelType === 'qwen3',
  };
}

export const LLAMA: Family = {
  modelTypes: ['llama', 'mistral', 'qwen2', 'qwen3', 'smollm3'],
  config: llamaConfig,
  hfWeights: (r, cfg) => llamaWeights(r, cfg, LLAMA_HF),
};

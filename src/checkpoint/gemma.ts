/**
 * The Gemma family (transformers' modeling_gemma.py, modeling_gemma2.py, modeling_gemma3.py, text
 * models): Llama's tensor names, and
 * - RMSNorm as x * (1 + w): the 1 is added to every norm weight when it is read (normOffset);
 * - the embedding scaled by sqrt(hidden); tied embeddings; a GeGLU MLP (tanh gelu of the gate);
 * - Gemma 2 and 3: sandwich norms (the attention and the MLP outputs are normed before each residual
 *   add), scores scaled by query_pre_attn_scalar^-1/2, sliding-window layers (layer_types, or every
 *   other layer in Gemma 2, every sliding_window_pattern-th global in Gemma 3);
 * - Gemma 2: soft-capped attention scores and final logits;
 * - Gemma 3: per-head q/k norms, local (sliding) layers with their own rotary base
 *   rope_local_base_freq and no scaling, global layers with rope_theta and rope_scaling (v5:
 *   rope_parameters.{sliding_attention, full_attention}).
 */
import { ModelFormatError } from '../errors';
import type { LayerAttention, ModelConfig } from './config';
import {
  bool,
  decoderSizes,
  int,
  type Json,
  layerTypes,
  num,
  object,
  oneOf,
  optionalNum,
  ropeOf,
} from './config-fields';
import type { Family } from './families';
import { LLAMA_HF, llamaWeights } from './llama';

const ACTIVATIONS = {
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_new: 'gelu_tanh',
  gelu_tanh: 'gelu_tanh',
} as const;

function gemmaConfig(cfg: Json, file: string, modelType: string): ModelConfig {
  const sizes = decoderSizes(file, cfg, modelType);
  const later = modelType !== 'gemma';
  const params = object(file, cfg, 'rope_parameters');
  const perKind = params && ('full_attention' in params || 'sliding_attention' in params);
  const ropeIn = (entry: string) => {
    const p = object(file, params!, entry);
    if (!p) throw new ModelFormatError(file, `rope_parameters has no '${entry}' entry`);
    return ropeOf(file, cfg, sizes.headDim, p);
  };
  const globalRope = perKind ? ropeIn('full_attention') : ropeOf(file, cfg, sizes.headDim, params);
  let layerAttention: LayerAttention[] | undefined;
  if (later) {
    const window = int(file, cfg, 'sliding_window');
    let kinds = layerTypes(file, cfg, sizes.layers);
    if (!kinds) {
      // Gemma 2 alternates sliding and global layers, starting with a sliding one; Gemma 3 makes
      // every sliding_window_pattern-th layer global.
      const pattern = modelType === 'gemma2' ? 2 : int(file, cfg, 'sliding_window_pattern', 6);
      kinds = Array.from({ length: sizes.layers }, (_, i) => ((i + 1) % pattern ? 'sliding' : 'full'));
    }
    const localRope =
      modelType === 'gemma3_text'
        ? perKind
          ? ropeIn('sliding_attention')
          : { ...globalRope, theta: num(file, cfg, 'rope_local_base_freq', 10000), scaling: undefined }
        : globalRope;
    layerAttention = kinds.map((k) =>
      k === 'sliding' ? { rope: localRope, window } : { rope: globalRope, window: 0 },
    );
  }
  return {
    ...sizes,
    arch: 'gemma',
    norm: 'rmsnorm',
    normEps: num(file, cfg, 'rms_norm_eps', 1e-6),
    activation: oneOf(file, cfg, ['hidden_activation', 'hidden_act'], ACTIVATIONS, 'gelu_pytorch_tanh'),
    rope: globalRope,
    layerAttention,
    learnedPositions: false,
    tiedEmbeddings: bool(file, cfg, 'tie_word_embeddings', true),
    qkvBias: bool(file, cfg, 'attention_bias', false),
    attnOutBias: bool(file, cfg, 'attention_bias', false),
    mlpBias: false,
    qkNorm: modelType === 'gemma3_text',
    sandwichNorms: later,
    normOffset: 1,
    // transformers multiplies by sqrt(hidden) cast to the activations' dtype (f32 here).
    embedScale: Math.fround(Math.sqrt(sizes.hidden)),
    attnScale: later ? num(file, cfg, 'query_pre_attn_scalar') ** -0.5 : undefined,
    attnSoftcap: later ? optionalNum(file, cfg, 'attn_logit_softcapping') : undefined,
    finalSoftcap: later ? optionalNum(file, cfg, 'final_logit_softcapping') : undefined,
  };
}

export const GEMMA: Family = {
  modelTypes: ['gemma', 'gemma2', 'gemma3_text'],
  config: gemmaConfig,
  hfWeights: (r, cfg) => llamaWeights(r, cfg, LLAMA_HF),
};

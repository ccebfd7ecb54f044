/**
 * Phi-3 (transformers' modeling_phi3.py): a Llama with q, k and v stored as one `qkv_proj` and gate
 * and up as one `gate_up_proj` (gate rows first), optional partial rotary, and a sliding window on
 * every layer when the config names one. Long-context rope scalings (longrope, su) are refused.
 */
import type { ModelConfig } from './config';
import { type Json, num, optionalNum, ropeOf, uniformLayers } from './config-fields';
import type { Family } from './families';
import { llamaConfig } from './llama';
import {
  type LayerWeights,
  linearNK,
  type ModelWeights,
  matrix,
  norm,
  type Resolver,
  unembedding,
} from './weights';

/** Llama's config, plus partial rotary and a sliding window on every layer when the config names one. */
function phi3Config(cfg: Json, file: string, modelType: string): ModelConfig {
  const base = llamaConfig(cfg, file, modelType);
  const rope = ropeOf(file, cfg, base.headDim, undefined, 'partial_rotary_factor');
  const window = optionalNum(file, cfg, 'sliding_window');
  return {
    ...base,
    arch: 'phi3',
    normEps: num(file, cfg, 'rms_norm_eps', 1e-5),
    rope,
    layerAttention: window === undefined ? undefined : uniformLayers(base.layers, rope, window),
  };
}

async function phi3Weights(r: Resolver, cfg: ModelConfig): Promise<ModelWeights> {
  const { vocabSize: V, hidden: C, ffn: F, heads: NH, kvHeads: NKV, headDim: HS } = cfg;
  const wte = matrix(r, ['model.embed_tokens.weight'], V, C);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    const p = `model.layers.${i}`;
    layers.push({
      attnNorm: norm(r, [`${p}.input_layernorm`], C, false),
      qkv: linearNK(r, [`${p}.self_attn.qkv_proj`], (NH + 2 * NKV) * HS, C, 'optional'),
      o: linearNK(r, [`${p}.self_attn.o_proj`], C, NH * HS, 'optional'),
      mlpNorm: norm(r, [`${p}.post_attention_layernorm`], C, false),
      gateUp: linearNK(r, [`${p}.mlp.gate_up_proj`], 2 * F, C, 'optional'),
      down: linearNK(r, [`${p}.mlp.down_proj`], C, F, 'optional'),
    });
  }
  const finalNorm = norm(r, ['model.norm'], C, false);
  const lmHead = await unembedding(r, wte, ['lm_head.weight'], cfg.tiedEmbeddings);
  return { wte, layers, finalNorm, lmHead };
}

export const PHI3: Family = { modelTypes: ['phi3'], config: phi3Config, hfWeights: phi3Weights };

/**
 * Phi-1 / Phi-1.5 / Phi-2 (transformers' modeling_phi.py, model_type `phi`): one LayerNorm (with
 * bias) per layer whose output feeds both the attention and the MLP, which run in parallel and both
 * add to the residual; partial rotary (partial_rotary_factor of each head); biased q, k, v, `dense`
 * output, `fc1` / `fc2` gelu MLP; `final_layernorm`; an unembedding with a bias.
 */
import { UnsupportedModelError } from '../errors';
import type { ModelConfig } from './config';
import { bool, decoderSizes, type Json, num, oneOf, ropeOf } from './config-fields';
import type { Family } from './families';
import {
  type LayerWeights,
  linearNK,
  type ModelWeights,
  matrix,
  norm,
  type Resolver,
  stackedNK,
  unembedding,
} from './weights';

const ACTIVATIONS = { gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh', gelu: 'gelu' } as const;

function phiConfig(cfg: Json, file: string, modelType: string): ModelConfig {
  const sizes = decoderSizes(file, cfg, modelType);
  if (bool(file, cfg, 'qk_layernorm', false)) {
    throw new UnsupportedModelError(`${file}: qk_layernorm true is not supported`);
  }
  // partial_rotary_factor defaults to 0.5 in PhiConfig.
  const withDefault = { ...cfg, partial_rotary_factor: cfg.partial_rotary_factor ?? 0.5 };
  return {
    ...sizes,
    arch: 'phi',
    norm: 'layernorm',
    normEps: num(file, cfg, 'layer_norm_eps', 1e-5),
    activation: oneOf(file, cfg, ['hidden_act'], ACTIVATIONS, 'gelu_new'),
    rope: ropeOf(file, withDefault, sizes.headDim, undefined, 'partial_rotary_factor'),
    learnedPositions: false,
    tiedEmbeddings: bool(file, cfg, 'tie_word_embeddings', false),
    qkvBias: true,
    attnOutBias: true,
    mlpBias: true,
    parallelBlock: true,
    lmHeadBias: true,
  };
}

async function phiWeights(r: Resolver, cfg: ModelConfig): Promise<ModelWeights> {
  const { vocabSize: V, hidden: C, ffn: F, heads: NH, kvHeads: NKV, headDim: HS } = cfg;
  const wte = matrix(r, ['model.embed_tokens.weight'], V, C);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    const p = `model.layers.${i}`;
    layers.push({
      attnNorm: norm(r, [`${p}.input_layernorm`], C, true),
      qkv: stackedNK(
        r,
        [
          { prefix: [`${p}.self_attn.q_proj`], N: NH * HS },
          { prefix: [`${p}.self_attn.k_proj`], N: NKV * HS },
          { prefix: [`${p}.self_attn.v_proj`], N: NKV * HS },
        ],
        C,
        true,
      ),
      o: linearNK(r, [`${p}.self_attn.dense`], C, NH * HS, true),
      // No mlpNorm: the MLP reads the attention's normed input.
      fc: linearNK(r, [`${p}.mlp.fc1`], F, C, true),
      proj: linearNK(r, [`${p}.mlp.fc2`], C, F, true),
    });
  }
  const finalNorm = norm(r, ['model.final_layernorm'], C, true);
  const lmHead = await unembedding(r, wte, ['lm_head.weight'], cfg.tiedEmbeddings, ['lm_head.bias']);
  return { wte, layers, finalNorm, lmHead };
}

export const PHI: Family = { modelTypes: ['phi'], config: phiConfig, hfWeights: phiWeights };

/**
 * The Llama family's tensors (Llama, Mistral, Qwen2, SmolLM, TinyLlama): RMSNorm, rotary
 * positions, q, k, v stacked into one map, a SwiGLU MLP with gate and up stacked. Hugging Face and
 * GGUF differ only in names (GGUF's q and k rows are permuted for adjacent-pair rotary, which the
 * config's rope layout says).
 */
import type { ModelConfig } from './config';
import {
  type LayerWeights,
  linearNK,
  type ModelWeights,
  matrix,
  type Names,
  norm,
  type Resolver,
  stackedNK,
  unembedding,
} from './weights';

type Part = 'attnNorm' | 'q' | 'k' | 'v' | 'o' | 'mlpNorm' | 'gate' | 'up' | 'down';

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
  o: 'self_attn.o_proj',
  mlpNorm: 'post_attention_layernorm',
  gate: 'mlp.gate_proj',
  up: 'mlp.up_proj',
  down: 'mlp.down_proj',
};

const GGUF_PARTS: Record<Part, string> = {
  attnNorm: 'attn_norm',
  q: 'attn_q',
  k: 'attn_k',
  v: 'attn_v',
  o: 'attn_output',
  mlpNorm: 'ffn_norm',
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
  for (let i = 0; i < cfg.layers; i++) {
    const l = (part: Part) => names.layer(i, part);
    const mlpBias = cfg.mlpBias ? true : 'optional';
    layers.push({
      attnNorm: norm(r, l('attnNorm'), C, false),
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
      o: linearNK(r, l('o'), C, NH * HS, cfg.attnOutBias ? true : 'optional'),
      mlpNorm: norm(r, l('mlpNorm'), C, false),
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
  const finalNorm = norm(r, names.norm, C, false);
  const lmHead = await unembedding(r, wte, names.head, cfg.tiedEmbeddings);
  return { wte, layers, finalNorm, lmHead };
}

/**
 * Test-side conversion of a random Hugging Face model (src/model/testing.ts) into a GGUF file the
 * way llama.cpp's convert_hf_to_gguf.py writes one: llama.cpp tensor names, GPT-2's Conv1D weights
 * transposed to [N, K], Llama's q and k rows permuted for adjacent-pair rotary, a SentencePiece
 * style vocabulary, and each weight in the format `formatOf` picks (norms and biases stay f32).
 */
import { parseSafetensorsHeader, SAFETENSORS_FORMAT } from '../src/checkpoint/safetensors';
import { transpose } from '../src/formats/convert';
import type { StorageFormat } from '../src/formats/formats';
import { dequantize } from '../src/formats/quant';
import { type GgufEntry, type GgufWriteTensor, ggufTensor, meta, writeGguf } from './gguf-writer';

type Files = Record<string, Uint8Array | string>;

const LLAMA_PARTS: Record<string, string> = {
  input_layernorm: 'attn_norm',
  'self_attn.q_proj': 'attn_q',
  'self_attn.k_proj': 'attn_k',
  'self_attn.v_proj': 'attn_v',
  'self_attn.o_proj': 'attn_output',
  post_attention_layernorm: 'ffn_norm',
  'mlp.gate_proj': 'ffn_gate',
  'mlp.up_proj': 'ffn_up',
  'mlp.down_proj': 'ffn_down',
};

const GPT2_PARTS: Record<string, string> = {
  ln_1: 'attn_norm',
  'attn.c_attn': 'attn_qkv',
  'attn.c_proj': 'attn_output',
  ln_2: 'ffn_norm',
  'mlp.c_fc': 'ffn_up',
  'mlp.c_proj': 'ffn_down',
};

/** The llama.cpp name of a Hugging Face tensor name. */
export function ggufName(hf: string): string {
  const name = hf.replace(/^(model|transformer)\./, '');
  const fixed: Record<string, string> = {
    'embed_tokens.weight': 'token_embd.weight',
    'wte.weight': 'token_embd.weight',
    'wpe.weight': 'position_embd.weight',
    'norm.weight': 'output_norm.weight',
    'ln_f.weight': 'output_norm.weight',
    'ln_f.bias': 'output_norm.bias',
    'lm_head.weight': 'output.weight',
  };
  if (fixed[name]) return fixed[name];
  const m = /^(?:layers|h)\.(\d+)\.(.+)\.(weight|bias)$/.exec(name);
  const part = m && (LLAMA_PARTS[m[2]] ?? GPT2_PARTS[m[2]]);
  if (!m || !part) throw new Error(`no GGUF name for ${hf}`);
  return `blk.${m[1]}.${part}.${m[3]}`;
}

/** Rows of each head reordered from Hugging Face's half-split rotary layout to adjacent pairs. */
function permuteHeads(w: Float32Array, heads: number, rowLength: number): Float32Array {
  const rows = w.length / rowLength;
  const HS = rows / heads;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let p = 0; p < HS / 2; p++) {
      for (let half = 0; half < 2; half++) {
        const from = (h * HS + half * (HS / 2) + p) * rowLength;
        const to = (h * HS + 2 * p + half) * rowLength;
        out.set(w.subarray(from, from + rowLength), to);
      }
    }
  }
  return out;
}

/**
 * A SentencePiece-style vocabulary of V tokens ('<unk>', '<s>', '</s>', then '▁t3'...), for models
 * whose tests feed token ids.
 */
export function placeholderVocab(V: number): GgufEntry[] {
  return [
    meta.string('tokenizer.ggml.model', 'llama'),
    meta.strings(
      'tokenizer.ggml.tokens',
      Array.from({ length: V }, (_, i) => ['<unk>', '<s>', '</s>'][i] ?? `▁t${i}`),
    ),
    meta.f32s(
      'tokenizer.ggml.scores',
      Array.from({ length: V }, (_, i) => -i),
    ),
    meta.i32s(
      'tokenizer.ggml.token_type',
      Array.from({ length: V }, (_, i) => (i === 0 ? 2 : i < 3 ? 3 : 1)),
    ),
    meta.u32('tokenizer.ggml.bos_token_id', 1),
    meta.u32('tokenizer.ggml.eos_token_id', 2),
    meta.u32('tokenizer.ggml.unknown_token_id', 0),
  ];
}

/** A GGUF file of the same model as a random Hugging Face file map (config.json + model.safetensors). */
export function ggufFromHf(
  files: Files,
  /** A weight's format, or null to leave the tensor out. */
  formatOf: (name: string, dims: number[]) => StorageFormat | null = () => 'f32',
  /** Tensors written after the model's. */
  extra: GgufWriteTensor[] = [],
): Uint8Array {
  const cfg = JSON.parse(files['config.json'] as string);
  const gpt2 = cfg.model_type === 'gpt2';
  // llama.cpp's llama files rotate adjacent pairs (q, k permuted at conversion); qwen2's keep halves.
  const arch = gpt2 ? 'gpt2' : cfg.model_type === 'qwen2' ? 'qwen2' : 'llama';
  const permute = arch === 'llama';
  const st = files['model.safetensors'] as Uint8Array;
  const { tensors } = parseSafetensorsHeader('model.safetensors', st, st.length);
  const out = [];
  for (const t of tensors.sort((a, b) => a.name.localeCompare(b.name))) {
    const n = t.shape.reduce((a, d) => a * d, 1);
    let values = dequantize(SAFETENSORS_FORMAT[t.dtype], st.subarray(t.begin, t.end), n);
    let shape = t.shape;
    const name = ggufName(t.name);
    if (gpt2 && /\.(c_attn|c_proj|c_fc)\.weight$/.test(t.name)) {
      values = transpose(values, shape[0], shape[1]);
      shape = [shape[1], shape[0]];
    }
    if (permute && /attn_q\.(weight|bias)$/.test(name))
      values = permuteHeads(values, cfg.num_attention_heads, shape[1] ?? 1);
    if (permute && /attn_k\.(weight|bias)$/.test(name)) {
      values = permuteHeads(values, cfg.num_key_value_heads ?? cfg.num_attention_heads, shape[1] ?? 1);
    }
    const dims = [...shape].reverse();
    const format = formatOf(name, dims);
    if (format) out.push(ggufTensor(name, shape.length === 1 ? 'f32' : format, dims, values));
  }
  const V = cfg.vocab_size as number;
  const k = (s: string) => `${arch}.${s}`;
  const metadata: GgufEntry[] = [
    meta.string('general.architecture', arch),
    meta.string('general.name', 'random test model'),
    meta.u32(k('block_count'), gpt2 ? cfg.n_layer : cfg.num_hidden_layers),
    meta.u32(k('context_length'), gpt2 ? cfg.n_positions : cfg.max_position_embeddings),
    meta.u32(k('embedding_length'), gpt2 ? cfg.n_embd : cfg.hidden_size),
    meta.u32(k('feed_forward_length'), gpt2 ? (cfg.n_inner ?? 4 * cfg.n_embd) : cfg.intermediate_size),
    meta.u32(k('attention.head_count'), gpt2 ? cfg.n_head : cfg.num_attention_heads),
    ...(gpt2
      ? [meta.f32(k('attention.layer_norm_epsilon'), cfg.layer_norm_epsilon ?? 1e-5)]
      : [
          meta.u32(k('attention.head_count_kv'), cfg.num_key_value_heads ?? cfg.num_attention_heads),
          meta.f32(k('attention.layer_norm_rms_epsilon'), cfg.rms_norm_eps ?? 1e-6),
          meta.f32(k('rope.freq_base'), cfg.rope_theta ?? 10000),
          ...(cfg.head_dim
            ? [
                meta.u32(k('attention.key_length'), cfg.head_dim),
                meta.u32(k('attention.value_length'), cfg.head_dim),
              ]
            : []),
        ]),
    // Token ids are what the checks feed.
    ...placeholderVocab(V),
  ];
  return writeGguf({ version: 3, metadata, tensors: [...out, ...extra] });
}

/**
 * An independent reference forward for Hugging Face folders: logits [T, V] of every position,
 * computed in float64 by a plain transcription of the transformers modeling code of each family.
 * It reads config.json and model.safetensors itself and imports nothing from src/, so it can catch
 * the engine's mistakes (config parsing, tensor layout, op order) rather than repeat them.
 *
 * Transcribed from huggingface/transformers (src/transformers/...):
 * - models/gpt2/modeling_gpt2.py (GPT2Block, GPT2Attention, GPT2MLP; Conv1D weights [in, out])
 * - models/llama/modeling_llama.py (LlamaDecoderLayer, LlamaAttention, LlamaMLP, LlamaRMSNorm,
 *   rotate_half, apply_rotary_pos_emb, repeat_kv), and the families built on it:
 *   mistral, qwen2 (q/k/v biases), qwen3 (Qwen3Attention: q_norm/k_norm per head before RoPE),
 *   smollm3 (SmolLM3Attention: `use_rope = config.no_rope_layers[layer_idx]`),
 *   phi3 (Phi3Attention: fused qkv_proj split q | k | v; Phi3MLP: gate_up_proj chunked gate first)
 * - models/gemma/modeling_gemma.py (GemmaRMSNorm (1 + w), sqrt(hidden) embedding normalizer, GeGLU)
 * - models/gemma2/modeling_gemma2.py (Gemma2DecoderLayer sandwich norms, query_pre_attn_scalar,
 *   attention and final logit soft-capping, sliding layers)
 * - models/gemma3/modeling_gemma3.py (Gemma3Attention q_norm/k_norm, local/global rotary
 *   embeddings, Gemma3TextScaledWordEmbedding)
 * - models/phi/modeling_phi.py (PhiDecoderLayer: attention and MLP in parallel after one
 *   LayerNorm; PhiAttention partial rotary; lm_head with bias)
 * - modeling_rope_utils.py (_compute_default_rope_parameters, _compute_linear_scaling_rope_parameters,
 *   _compute_llama3_parameters; the v5 `rope_parameters` form)
 * - masking_utils.py (causal: kv <= q; sliding_window_overlay: q - kv < sliding_window)
 */

type Files = Record<string, Uint8Array | string>;
// biome-ignore lint/suspicious/noExplicitAny: config.json and safetensors headers, read as the transformers code reads them
type Json = any;
type Cfg = Record<string, Json>;

// ---------------------------------------------------------------------------------------------
// safetensors: 8-byte little-endian header size, JSON header, raw little-endian data.

interface Tensor {
  shape: number[];
  data: Float64Array;
}

function f16ToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function readSafetensors(bytes: Uint8Array): Map<string, Tensor> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  const base = 8 + n;
  const out = new Map<string, Tensor>();
  const f32 = new DataView(new ArrayBuffer(4));
  for (const [name, info] of Object.entries<Json>(header)) {
    if (name === '__metadata__') continue;
    const [begin, end] = info.data_offsets as [number, number];
    const count = (info.shape as number[]).reduce((a, d) => a * d, 1);
    const data = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      if (info.dtype === 'F32') data[i] = dv.getFloat32(base + begin + 4 * i, true);
      else if (info.dtype === 'F16') data[i] = f16ToNumber(dv.getUint16(base + begin + 2 * i, true));
      else if (info.dtype === 'BF16') {
        f32.setUint32(0, dv.getUint16(base + begin + 2 * i, true) << 16);
        data[i] = f32.getFloat32(0);
      } else throw new Error(`${name}: dtype ${info.dtype} not read by the reference`);
    }
    if (end - begin !== count * (info.dtype === 'F32' ? 4 : 2)) throw new Error(`${name}: size mismatch`);
    out.set(name, { shape: info.shape, data });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ops over row-major [T, N] Float64Arrays.

/** nn.Linear: y[t, o] = sum_i x[t, i] * W[o, i] + b[o]  (W stored [out, in]). */
function linear(x: Float64Array, T: number, w: Tensor, b?: Tensor): Float64Array {
  const [O, I] = w.shape;
  const y = new Float64Array(T * O);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < O; o++) {
      let s = b ? b.data[o] : 0;
      for (let i = 0; i < I; i++) s += x[t * I + i] * w.data[o * I + i];
      y[t * O + o] = s;
    }
  }
  return y;
}

/** transformers' Conv1D (GPT-2): y = x @ W + b with W stored [in, out]. */
function conv1d(x: Float64Array, T: number, w: Tensor, b: Tensor): Float64Array {
  const [I, O] = w.shape;
  const y = new Float64Array(T * O);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < O; o++) {
      let s = b.data[o];
      for (let i = 0; i < I; i++) s += x[t * I + i] * w.data[i * O + o];
      y[t * O + o] = s;
    }
  }
  return y;
}

/** LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) * w; GemmaRMSNorm uses (1 + w). Over rows of size N. */
function rmsnorm(x: Float64Array, w: Tensor, eps: number, gemma = false): Float64Array {
  const N = w.shape[0];
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / N; r++) {
    let ss = 0;
    for (let i = 0; i < N; i++) ss += x[r * N + i] ** 2;
    const inv = 1 / Math.sqrt(ss / N + eps);
    for (let i = 0; i < N; i++) y[r * N + i] = x[r * N + i] * inv * (gemma ? 1 + w.data[i] : w.data[i]);
  }
  return y;
}

/** nn.LayerNorm (biased variance). */
function layernorm(x: Float64Array, w: Tensor, b: Tensor, eps: number): Float64Array {
  const N = w.shape[0];
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / N; r++) {
    let mean = 0;
    for (let i = 0; i < N; i++) mean += x[r * N + i];
    mean /= N;
    let v = 0;
    for (let i = 0; i < N; i++) v += (x[r * N + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / N + eps);
    for (let i = 0; i < N; i++) y[r * N + i] = (x[r * N + i] - mean) * inv * w.data[i] + b.data[i];
  }
  return y;
}

const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const silu = (x: number) => x / (1 + Math.exp(-x));
const ACT: Record<string, (x: number) => number> = {
  silu,
  swish: silu,
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  gelu_fast: geluTanh,
};
function act(name: string): (x: number) => number {
  const f = ACT[name];
  if (!f) throw new Error(`activation ${name} not in the reference`);
  return f;
}

const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);

// ---------------------------------------------------------------------------------------------
// RoPE (modeling_rope_utils.py) and attention (eager_attention_forward + masking_utils).

interface Rope {
  /** inverse frequencies of the rotary dims, length rotaryDim / 2 */
  invFreq: Float64Array;
  rotaryDim: number;
}

/** The RoPE parameters of one layer kind: the v5 `rope_parameters` or rope_theta + rope_scaling. */
function ropeParams(cfg: Cfg, layerType: string): Record<string, Json> {
  const rp = cfg.rope_parameters;
  if (rp) {
    if (rp.full_attention || rp.sliding_attention) return rp[layerType] ?? rp.full_attention;
    return rp;
  }
  if (cfg.model_type === 'gemma3_text') {
    // Gemma3TextModel: rotary_emb (rope_theta, rope_scaling) for global layers, rotary_emb_local
    // (rope_local_base_freq, default rope) for sliding ones.
    if (layerType === 'sliding_attention')
      return { rope_type: 'default', rope_theta: cfg.rope_local_base_freq ?? 10000 };
    return { rope_type: 'default', ...(cfg.rope_scaling ?? {}), rope_theta: cfg.rope_theta ?? 1e6 };
  }
  return { rope_type: 'default', ...(cfg.rope_scaling ?? {}), rope_theta: cfg.rope_theta ?? 10000 };
}

function makeRope(cfg: Cfg, headDim: number, layerType: string): Rope {
  const p = ropeParams(cfg, layerType);
  const type = p.rope_type ?? p.type ?? 'default';
  const partial = p.partial_rotary_factor ?? cfg.partial_rotary_factor ?? 1;
  const dim = Math.floor(headDim * partial);
  const base = p.rope_theta;
  // _compute_default_rope_parameters: inv_freq = 1 / base^(arange(0, dim, 2) / dim)
  let invFreq = Float64Array.from({ length: dim / 2 }, (_, i) => 1 / base ** ((2 * i) / dim));
  if (type === 'linear') {
    // _compute_linear_scaling_rope_parameters: inv_freq /= factor
    invFreq = invFreq.map((f) => f / p.factor);
  } else if (type === 'llama3') {
    // _compute_llama3_parameters
    const factor = p.factor;
    const lowFreqFactor = p.low_freq_factor;
    const highFreqFactor = p.high_freq_factor;
    const oldContextLen = p.original_max_position_embeddings;
    const lowFreqWavelen = oldContextLen / lowFreqFactor;
    const highFreqWavelen = oldContextLen / highFreqFactor;
    invFreq = invFreq.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      // wavelen < high_freq_wavelen: do nothing; wavelen > low_freq_wavelen: divide by factor
      let llama = wavelen > lowFreqWavelen ? f / factor : f;
      // otherwise: interpolate between the two, using the smooth factor
      const smooth = (oldContextLen / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      const smoothed = ((1 - smooth) * llama) / factor + smooth * llama;
      const isMedium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
      if (isMedium) llama = smoothed;
      return llama;
    });
  } else if (type !== 'default') {
    throw new Error(`rope_type ${type} not in the reference`);
  }
  return { invFreq, rotaryDim: dim };
}

/**
 * apply_rotary_pos_emb on x [T, H, D] in place, over the first rotaryDim dims (Phi's partial
 * rotary: q_rot, q_pass split): x * cos + rotate_half(x) * sin with emb = cat(freqs, freqs) and
 * rotate_half(x) = cat(-x2, x1).
 */
function applyRope(x: Float64Array, T: number, H: number, D: number, rope: Rope, pos0 = 0) {
  const half = rope.rotaryDim / 2;
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < H; h++) {
      const o = (t * H + h) * D;
      for (let i = 0; i < half; i++) {
        const angle = (pos0 + t) * rope.invFreq[i];
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        const x1 = x[o + i];
        const x2 = x[o + i + half];
        x[o + i] = x1 * c - x2 * s;
        x[o + i + half] = x2 * c + x1 * s;
      }
    }
  }
}

interface AttnSpec {
  NH: number;
  NKV: number;
  D: number;
  scaling: number;
  softcap?: number | null;
  /** key window: kv allowed iff q - kv < window (and kv <= q) */
  window?: number | null;
}

/**
 * eager_attention_forward: softmax(q k^T * scaling [tanh soft-capped] + mask) v, with repeat_kv
 * (query head h reads kv head floor(h / (NH / NKV))). q [T, NH*D], k/v [T, NKV*D] -> [T, NH*D].
 */
function attention(q: Float64Array, k: Float64Array, v: Float64Array, T: number, a: AttnSpec): Float64Array {
  const { NH, NKV, D } = a;
  const rep = NH / NKV;
  const out = new Float64Array(T * NH * D);
  const scores = new Float64Array(T);
  for (let h = 0; h < NH; h++) {
    const kh = Math.floor(h / rep);
    for (let i = 0; i < T; i++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < T; j++) {
        const allowed = j <= i && (a.window == null || i - j < a.window);
        if (!allowed) {
          scores[j] = Number.NEGATIVE_INFINITY;
          continue;
        }
        let s = 0;
        for (let d = 0; d < D; d++) s += q[(i * NH + h) * D + d] * k[(j * NKV + kh) * D + d];
        s *= a.scaling;
        if (a.softcap) s = Math.tanh(s / a.softcap) * a.softcap;
        scores[j] = s;
        max = Math.max(max, s);
      }
      let sum = 0;
      for (let j = 0; j < T; j++) {
        scores[j] = Math.exp(scores[j] - max);
        sum += scores[j];
      }
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let j = 0; j <= i; j++) acc += scores[j] * v[(j * NKV + kh) * D + d];
        out[(i * NH + h) * D + d] = acc / sum;
      }
    }
  }
  return out;
}

function unembed(x: Float64Array, T: number, w: Tensor, b?: Tensor, softcap?: number | null): Float32Array {
  const logits = linear(x, T, w, b);
  if (softcap) for (let i = 0; i < logits.length; i++) logits[i] = Math.tanh(logits[i] / softcap) * softcap;
  return Float32Array.from(logits);
}

function embed(table: Tensor, ids: number[], scale = 1): Float64Array {
  const C = table.shape[1];
  const x = new Float64Array(ids.length * C);
  ids.forEach((id, t) => {
    for (let c = 0; c < C; c++) x[t * C + c] = table.data[id * C + c] * scale;
  });
  return x;
}

// ---------------------------------------------------------------------------------------------
// The families.

/**
 * The token embedding; with tied embeddings a file may hold only one of the two names (torch's
 * save_pretrained keeps one of the shared tensors: the embedded tinystories keeps lm_head.weight).
 */
function embeddingTable(tied: boolean, get: Get, maybe: Maybe): Tensor {
  const wte = maybe('model.embed_tokens.weight');
  if (wte) return wte;
  if (tied) return get('lm_head.weight');
  return get('model.embed_tokens.weight');
}

type Get = (name: string) => Tensor;
type Maybe = (name: string) => Tensor | undefined;

/** models/gpt2/modeling_gpt2.py: GPT2Model, GPT2Block (pre-LN), GPT2Attention, GPT2MLP. */
function gpt2(cfg: Cfg, getRaw: Get, maybe: Maybe, ids: number[]): Float32Array {
  // GPT2LMHeadModel files name tensors 'transformer.h.0...'; GPT2Model files (openai-community/gpt2) 'h.0...'.
  const get: Get = (name) => maybe(name) ?? getRaw(name.replace(/^transformer\./, ''));
  const T = ids.length;
  const C = cfg.n_embd;
  const NH = cfg.n_head;
  const D = C / NH;
  const eps = cfg.layer_norm_epsilon ?? 1e-5;
  const gelu = act(cfg.activation_function ?? 'gelu_new');
  const wte = get('transformer.wte.weight');
  const wpe = get('transformer.wpe.weight');
  let h: Float64Array = embed(wte, ids).map((v, i) => v + wpe.data[i]); // positions 0..T-1
  for (let l = 0; l < cfg.n_layer; l++) {
    const p = `transformer.h.${l}`;
    const x = layernorm(h, get(`${p}.ln_1.weight`), get(`${p}.ln_1.bias`), eps);
    const qkv = conv1d(x, T, get(`${p}.attn.c_attn.weight`), get(`${p}.attn.c_attn.bias`));
    const q = new Float64Array(T * C);
    const k = new Float64Array(T * C);
    const v = new Float64Array(T * C);
    for (let t = 0; t < T; t++) {
      q.set(qkv.subarray(t * 3 * C, t * 3 * C + C), t * C);
      k.set(qkv.subarray(t * 3 * C + C, t * 3 * C + 2 * C), t * C);
      v.set(qkv.subarray(t * 3 * C + 2 * C, t * 3 * C + 3 * C), t * C);
    }
    const att = attention(q, k, v, T, { NH, NKV: NH, D, scaling: 1 / Math.sqrt(D) });
    h = add(h, conv1d(att, T, get(`${p}.attn.c_proj.weight`), get(`${p}.attn.c_proj.bias`)));
    const x2 = layernorm(h, get(`${p}.ln_2.weight`), get(`${p}.ln_2.bias`), eps);
    const f = conv1d(x2, T, get(`${p}.mlp.c_fc.weight`), get(`${p}.mlp.c_fc.bias`)).map(gelu);
    h = add(h, conv1d(f, T, get(`${p}.mlp.c_proj.weight`), get(`${p}.mlp.c_proj.bias`)));
  }
  h = layernorm(h, get('transformer.ln_f.weight'), get('transformer.ln_f.bias'), eps);
  const tied = cfg.tie_word_embeddings ?? true;
  return unembed(h, T, tied ? wte : get('lm_head.weight'));
}

/** Sliding or full per layer: `layer_types` when given, else each family's rule. */
function layerType(cfg: Cfg, l: number): string {
  if (Array.isArray(cfg.layer_types)) return cfg.layer_types[l];
  switch (cfg.model_type) {
    case 'gemma2': // Gemma2DecoderLayer: is_sliding = not bool(layer_idx % 2)
      return l % 2 === 0 ? 'sliding_attention' : 'full_attention';
    case 'gemma3_text': // Gemma3DecoderLayer: is_sliding = bool((layer_idx + 1) % sliding_window_pattern)
      return (l + 1) % (cfg.sliding_window_pattern ?? 6) ? 'sliding_attention' : 'full_attention';
    case 'mistral':
    case 'phi3': // every layer when sliding_window is set
      return cfg.sliding_window != null ? 'sliding_attention' : 'full_attention';
    case 'qwen2':
    case 'qwen3':
    case 'smollm3': // use_sliding_window and layer_idx >= max_window_layers
      return cfg.use_sliding_window && cfg.sliding_window != null && l >= (cfg.max_window_layers ?? 0)
        ? 'sliding_attention'
        : 'full_attention';
    default:
      return 'full_attention';
  }
}

/**
 * models/llama/modeling_llama.py (LlamaModel, LlamaDecoderLayer, LlamaAttention, LlamaMLP) and the
 * families that are Llama with a twist: mistral (sliding window), qwen2 (q/k/v biases), qwen3
 * (Qwen3Attention: q_norm/k_norm [head_dim] on each head before RoPE), smollm3 (SmolLM3Attention:
 * RoPE only where no_rope_layers[layer] is 1), phi3 (Phi3Attention: qkv_proj rows q | k | v;
 * Phi3MLP: gate_up_proj chunk(2) -> up * act(gate)).
 */
function llama(cfg: Cfg, get: Get, maybe: Maybe, ids: number[]): Float32Array {
  const T = ids.length;
  const C = cfg.hidden_size;
  const NH = cfg.num_attention_heads;
  const NKV = cfg.num_key_value_heads ?? NH;
  const D = cfg.head_dim ?? C / NH;
  const eps = cfg.rms_norm_eps;
  const fn = act(cfg.hidden_act ?? 'silu');
  const tied = cfg.tie_word_embeddings ?? cfg.model_type === 'smollm3';
  const wte = embeddingTable(tied, get, maybe);
  let h: Float64Array = embed(wte, ids);
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const type = layerType(cfg, l);
    const x = rmsnorm(h, get(`${p}.input_layernorm.weight`), eps);
    let q: Float64Array;
    let k: Float64Array;
    let v: Float64Array;
    const fused = maybe(`${p}.self_attn.qkv_proj.weight`);
    if (fused) {
      const qkv = linear(x, T, fused);
      const W = (NH + 2 * NKV) * D;
      q = new Float64Array(T * NH * D);
      k = new Float64Array(T * NKV * D);
      v = new Float64Array(T * NKV * D);
      for (let t = 0; t < T; t++) {
        q.set(qkv.subarray(t * W, t * W + NH * D), t * NH * D);
        k.set(qkv.subarray(t * W + NH * D, t * W + (NH + NKV) * D), t * NKV * D);
        v.set(qkv.subarray(t * W + (NH + NKV) * D, (t + 1) * W), t * NKV * D);
      }
    } else {
      q = linear(x, T, get(`${p}.self_attn.q_proj.weight`), maybe(`${p}.self_attn.q_proj.bias`));
      k = linear(x, T, get(`${p}.self_attn.k_proj.weight`), maybe(`${p}.self_attn.k_proj.bias`));
      v = linear(x, T, get(`${p}.self_attn.v_proj.weight`), maybe(`${p}.self_attn.v_proj.bias`));
    }
    const qNorm = maybe(`${p}.self_attn.q_norm.weight`);
    const kNorm = maybe(`${p}.self_attn.k_norm.weight`);
    if (qNorm) q = rmsnorm(q, qNorm, eps);
    if (kNorm) k = rmsnorm(k, kNorm, eps);
    const useRope = cfg.model_type === 'smollm3' ? cfg.no_rope_layers?.[l] !== 0 : true;
    if (useRope) {
      const rope = makeRope(cfg, D, type);
      applyRope(q, T, NH, D, rope);
      applyRope(k, T, NKV, D, rope);
    }
    const window = type === 'sliding_attention' ? cfg.sliding_window : null;
    const att = attention(q, k, v, T, { NH, NKV, D, scaling: D ** -0.5, window });
    h = add(h, linear(att, T, get(`${p}.self_attn.o_proj.weight`), maybe(`${p}.self_attn.o_proj.bias`)));
    const x2 = rmsnorm(h, get(`${p}.post_attention_layernorm.weight`), eps);
    let g: Float64Array;
    const gateUp = maybe(`${p}.mlp.gate_up_proj.weight`);
    if (gateUp) {
      const F = gateUp.shape[0] / 2;
      const gu = linear(x2, T, gateUp);
      g = new Float64Array(T * F);
      for (let t = 0; t < T; t++)
        for (let i = 0; i < F; i++) g[t * F + i] = gu[t * 2 * F + F + i] * fn(gu[t * 2 * F + i]);
    } else {
      const gate = linear(x2, T, get(`${p}.mlp.gate_proj.weight`));
      const up = linear(x2, T, get(`${p}.mlp.up_proj.weight`));
      g = gate.map((a, i) => fn(a) * up[i]);
    }
    h = add(h, linear(g, T, get(`${p}.mlp.down_proj.weight`)));
  }
  h = rmsnorm(h, get('model.norm.weight'), eps);
  return unembed(h, T, tied ? wte : get('lm_head.weight'));
}

/**
 * models/gemma/modeling_gemma.py, models/gemma2/modeling_gemma2.py, models/gemma3/modeling_gemma3.py:
 * embeddings * sqrt(hidden) (the normalizer in the weights' dtype, f32 here), GemmaRMSNorm (1 + w),
 * GeGLU (hidden_activation), attention scaling query_pre_attn_scalar^-0.5 (Gemma 2/3) or
 * head_dim^-0.5 (Gemma), Gemma 2/3 sandwich norms (post_attention_layernorm on the attention output,
 * pre_/post_feedforward_layernorm around the MLP), Gemma 2 attention soft-capping, Gemma 3 q/k
 * norms and local (sliding) / global RoPE, final logit soft-capping, tied lm_head.
 */
function gemma(cfg: Cfg, get: Get, maybe: Maybe, ids: number[]): Float32Array {
  const T = ids.length;
  const C = cfg.hidden_size;
  const NH = cfg.num_attention_heads;
  const NKV = cfg.num_key_value_heads ?? NH;
  const D = cfg.head_dim ?? C / NH;
  const eps = cfg.rms_norm_eps ?? 1e-6;
  const v1 = cfg.model_type === 'gemma';
  const fn = act(cfg.hidden_activation ?? 'gelu_pytorch_tanh');
  const scaling = v1 ? D ** -0.5 : (cfg.query_pre_attn_scalar ?? D) ** -0.5;
  const tied = cfg.tie_word_embeddings ?? true;
  const wte = embeddingTable(tied, get, maybe);
  let h: Float64Array = embed(wte, ids, Math.fround(Math.sqrt(C)));
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const type = v1 ? 'full_attention' : layerType(cfg, l);
    const x = rmsnorm(h, get(`${p}.input_layernorm.weight`), eps, true);
    let q = linear(x, T, get(`${p}.self_attn.q_proj.weight`), maybe(`${p}.self_attn.q_proj.bias`));
    let k = linear(x, T, get(`${p}.self_attn.k_proj.weight`), maybe(`${p}.self_attn.k_proj.bias`));
    const v = linear(x, T, get(`${p}.self_attn.v_proj.weight`), maybe(`${p}.self_attn.v_proj.bias`));
    const qNorm = maybe(`${p}.self_attn.q_norm.weight`);
    const kNorm = maybe(`${p}.self_attn.k_norm.weight`);
    if (qNorm) q = rmsnorm(q, qNorm, eps, true);
    if (kNorm) k = rmsnorm(k, kNorm, eps, true);
    const rope = makeRope(cfg, D, type);
    applyRope(q, T, NH, D, rope);
    applyRope(k, T, NKV, D, rope);
    const window = type === 'sliding_attention' ? cfg.sliding_window : null;
    const softcap = v1 ? null : cfg.attn_logit_softcapping;
    let a = attention(q, k, v, T, { NH, NKV, D, scaling, softcap, window });
    a = linear(a, T, get(`${p}.self_attn.o_proj.weight`), maybe(`${p}.self_attn.o_proj.bias`));
    if (v1) {
      h = add(h, a);
      const x2 = rmsnorm(h, get(`${p}.post_attention_layernorm.weight`), eps, true);
      h = add(h, geglu(x2, T, p, get, fn));
    } else {
      h = add(h, rmsnorm(a, get(`${p}.post_attention_layernorm.weight`), eps, true));
      const x2 = rmsnorm(h, get(`${p}.pre_feedforward_layernorm.weight`), eps, true);
      const m = geglu(x2, T, p, get, fn);
      h = add(h, rmsnorm(m, get(`${p}.post_feedforward_layernorm.weight`), eps, true));
    }
  }
  h = rmsnorm(h, get('model.norm.weight'), eps, true);
  return unembed(
    h,
    T,
    tied ? wte : get('lm_head.weight'),
    undefined,
    v1 ? null : cfg.final_logit_softcapping,
  );
}

/** GemmaMLP: down_proj(act(gate_proj(x)) * up_proj(x)). */
function geglu(x: Float64Array, T: number, p: string, get: Get, fn: (x: number) => number): Float64Array {
  const gate = linear(x, T, get(`${p}.mlp.gate_proj.weight`));
  const up = linear(x, T, get(`${p}.mlp.up_proj.weight`));
  return linear(
    gate.map((g, i) => fn(g) * up[i]),
    T,
    get(`${p}.mlp.down_proj.weight`),
  );
}

/**
 * models/phi/modeling_phi.py (Phi-2): PhiDecoderLayer h = attn(ln(h)) + mlp(ln(h)) + h with one
 * LayerNorm; PhiAttention with biased q/k/v, RoPE over the first head_dim * partial_rotary_factor
 * dims, scaling head_dim^-0.5, output `dense`; PhiMLP fc2(gelu_new(fc1(x)));
 * final_layernorm; lm_head with bias.
 */
function phi(cfg: Cfg, get: Get, maybe: Maybe, ids: number[]): Float32Array {
  const T = ids.length;
  const C = cfg.hidden_size;
  const NH = cfg.num_attention_heads;
  const NKV = cfg.num_key_value_heads ?? NH;
  const D = C / NH;
  const eps = cfg.layer_norm_eps ?? 1e-5;
  const fn = act(cfg.hidden_act ?? 'gelu_new');
  if (cfg.qk_layernorm) throw new Error('phi qk_layernorm not in the reference');
  const wte = get('model.embed_tokens.weight');
  let h: Float64Array = embed(wte, ids);
  const rope = makeRope(cfg, D, 'full_attention');
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const x = layernorm(h, get(`${p}.input_layernorm.weight`), get(`${p}.input_layernorm.bias`), eps);
    const q = linear(x, T, get(`${p}.self_attn.q_proj.weight`), maybe(`${p}.self_attn.q_proj.bias`));
    const k = linear(x, T, get(`${p}.self_attn.k_proj.weight`), maybe(`${p}.self_attn.k_proj.bias`));
    const v = linear(x, T, get(`${p}.self_attn.v_proj.weight`), maybe(`${p}.self_attn.v_proj.bias`));
    applyRope(q, T, NH, D, rope);
    applyRope(k, T, NKV, D, rope);
    const att = attention(q, k, v, T, { NH, NKV, D, scaling: D ** -0.5 });
    const a = linear(att, T, get(`${p}.self_attn.dense.weight`), maybe(`${p}.self_attn.dense.bias`));
    const f = linear(x, T, get(`${p}.mlp.fc1.weight`), maybe(`${p}.mlp.fc1.bias`)).map(fn);
    const m = linear(f, T, get(`${p}.mlp.fc2.weight`), maybe(`${p}.mlp.fc2.bias`));
    h = h.map((r, i) => a[i] + m[i] + r);
  }
  h = layernorm(h, get('model.final_layernorm.weight'), get('model.final_layernorm.bias'), eps);
  const tied = cfg.tie_word_embeddings ?? false;
  return tied ? unembed(h, T, wte) : unembed(h, T, get('lm_head.weight'), maybe('lm_head.bias'));
}

const FAMILIES: Record<string, (cfg: Cfg, get: Get, maybe: Maybe, ids: number[]) => Float32Array> = {
  gpt2,
  llama,
  mistral: llama,
  qwen2: llama,
  qwen3: llama,
  smollm3: llama,
  phi3: llama,
  gemma,
  gemma2: gemma,
  gemma3_text: gemma,
  phi,
};

/**
 * Logits [ids.length, vocab] of every position of a Hugging Face folder given as a file map
 * (config.json and a single model.safetensors), computed in float64 from the transformers code.
 */
export function hfReferenceLogits(files: Files, ids: number[]): Float32Array {
  const text = (f: Uint8Array | string) => (typeof f === 'string' ? f : new TextDecoder().decode(f));
  const cfg: Cfg = JSON.parse(text(files['config.json']));
  const st = files['model.safetensors'];
  if (!(st instanceof Uint8Array)) throw new Error('model.safetensors must be bytes');
  const tensors = readSafetensors(st);
  const maybe: Maybe = (name) => tensors.get(name);
  const get: Get = (name) => tensors.get(name) ?? fail(`tensor ${name} missing`);
  const family = FAMILIES[cfg.model_type] ?? fail(`model_type ${cfg.model_type} not in the reference`);
  return family(cfg, get, maybe, ids);
}

function fail(message: string): never {
  throw new Error(`hfReferenceLogits: ${message}`);
}

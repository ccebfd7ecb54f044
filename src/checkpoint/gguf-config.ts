/**
 * GGUF metadata (`general.*`, `<arch>.*`, `tokenizer.ggml.*`) normalized into the same ModelConfig
 * that config.ts builds from a Hugging Face config.json.
 *
 *   V   vocabSize    <arch>.vocab_size, else the length of tokenizer.ggml.tokens
 *   C   hidden       <arch>.embedding_length       L   layers   <arch>.block_count
 *   NH  heads        <arch>.attention.head_count   NKV kvHeads  <arch>.attention.head_count_kv (= NH)
 *   HS  headDim      <arch>.attention.key_length (= C / NH)
 *   F   ffn          <arch>.feed_forward_length    maxContext   <arch>.context_length
 *
 * RoPE layout follows llama.cpp's `llama_model_rope_type`: LLM_ARCH_LLAMA is LLAMA_ROPE_TYPE_NORM
 * (rotate adjacent pairs; convert_hf_to_gguf.py permutes the q/k rows so that this reproduces
 * Hugging Face's half-split rotation), LLM_ARCH_QWEN2 is LLAMA_ROPE_TYPE_NEOX (pairs offset by
 * n_rot/2, q/k stored unpermuted), LLM_ARCH_GPT2 has no RoPE.
 */
import { ModelFormatError, UnsupportedModelError } from '../errors';
import type { ModelConfig } from './config';
import type { GgufValue } from './gguf';

export type GgufMetadata = ReadonlyMap<string, GgufValue>;

/** `general.architecture` values wgpt implements. */
export const SUPPORTED_GGUF_ARCHITECTURES = ['llama', 'qwen2', 'gpt2'] as const;

/** GGUF writes an absent token id as -1 stored in a uint32. */
const NO_TOKEN = 0xffffffff;

function shown(v: GgufValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'bigint') return `${v}`;
  return JSON.stringify(v);
}

/** Typed reads of GGUF metadata keys; every failure is a ModelFormatError naming the file and key. */
export class GgufKeys {
  constructor(
    readonly metadata: GgufMetadata,
    readonly file: string,
  ) {}

  has(key: string): boolean {
    return this.metadata.has(key);
  }

  fail(key: string, expected: string): never {
    throw new ModelFormatError(
      this.file,
      `key '${key}' must be ${expected}, found ${shown(this.metadata.get(key))}`,
    );
  }

  /** An integer >= min (bigints within the safe range are accepted). */
  int(key: string, fallback?: number, min = 1): number {
    let v = this.metadata.get(key) ?? fallback;
    if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= 0n) v = Number(v);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      this.fail(key, min === 1 ? 'a positive integer' : `an integer >= ${min}`);
    }
    return v;
  }

  /** A per-model integer that some files store once per layer: every layer must agree. */
  uniformInt(key: string, fallback?: number): number {
    const v = this.metadata.get(key);
    if (!Array.isArray(v)) return this.int(key, fallback);
    if (v.length === 0 || v.some((x) => x !== v[0])) {
      throw new UnsupportedModelError(
        `${this.file}: '${key}' differs between layers, which is not supported`,
      );
    }
    return new GgufKeys(new Map([[key, v[0]]]), this.file).int(key);
  }

  /** A finite number > 0. */
  positive(key: string, fallback?: number): number {
    const v = this.metadata.get(key) ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(key, 'a positive number');
    return v;
  }

  str(key: string, fallback?: string): string {
    const v = this.metadata.get(key) ?? fallback;
    if (typeof v !== 'string') this.fail(key, 'a string');
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.metadata.get(key) ?? fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  strings(key: string): string[] {
    const v = this.metadata.get(key);
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.fail(key, 'an array of strings');
    return v as string[];
  }

  /** An array of numbers, `length` long when given. */
  numbers(key: string, length?: number): number[] {
    const v = this.metadata.get(key);
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) this.fail(key, 'an array of numbers');
    if (length !== undefined && v.length !== length) {
      this.fail(key, `an array of ${length} (one per token in tokenizer.ggml.tokens)`);
    }
    return v as number[];
  }

  /** An optional token id below `nTokens`; absent, -1 and 0xFFFFFFFF mean no such token. */
  tokenId(key: string, nTokens: number | undefined, fallback?: number): number | undefined {
    const v = this.metadata.get(key);
    if (v === undefined) return fallback !== undefined && (nTokens ?? 0) > fallback ? fallback : undefined;
    if (v === NO_TOKEN || v === -1) return undefined;
    const id = this.int(key, undefined, 0);
    if (nTokens !== undefined && id >= nTokens) {
      throw new ModelFormatError(
        this.file,
        `key '${key}' is ${id}, out of range for a vocabulary of ${nTokens} tokens`,
      );
    }
    return id;
  }
}

export interface GgufSpecialIds {
  bos?: number;
  eos?: number;
  unk?: number;
  pad?: number;
  /** End of turn / end of message: chat models stop on these as on EOS. */
  eot?: number;
  eom?: number;
}

/**
 * The special token ids of `tokenizer.ggml.*`. A SentencePiece ('llama') vocabulary without them
 * gets llama.cpp's defaults (BOS 1, EOS 2, UNK 0).
 */
export function ggufSpecialIds(keys: GgufKeys): GgufSpecialIds {
  const tokens = keys.metadata.get('tokenizer.ggml.tokens');
  const n = Array.isArray(tokens) ? tokens.length : undefined;
  const spm = keys.metadata.get('tokenizer.ggml.model') === 'llama';
  const id = (name: string, fallback?: number) =>
    keys.tokenId(`tokenizer.ggml.${name}_token_id`, n, spm ? fallback : undefined);
  return {
    bos: id('bos', 1),
    eos: id('eos', 2),
    unk: id('unknown', 0),
    pad: id('padding'),
    eot: id('eot'),
    eom: id('eom'),
  };
}

/** Normalizes GGUF metadata into a ModelConfig. Throws ModelFormatError / UnsupportedModelError. */
export function configFromGguf(metadata: GgufMetadata, file: string): ModelConfig {
  const keys = new GgufKeys(metadata, file);
  const arch = keys.str('general.architecture');
  if (!(SUPPORTED_GGUF_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new UnsupportedModelError(
      `${file}: general.architecture ${JSON.stringify(arch)} is not supported; supported: ${SUPPORTED_GGUF_ARCHITECTURES.join(', ')}`,
    );
  }
  const k = (name: string) => `${arch}.${name}`;
  const expertCount = metadata.has(k('expert_count')) ? keys.int(k('expert_count'), undefined, 0) : 0;
  if (expertCount > 0) {
    throw new UnsupportedModelError(
      `${file}: mixture-of-experts models (${k('expert_count')} = ${expertCount}) are not supported`,
    );
  }
  const scaling = metadata.get(k('rope.scaling.type'));
  if (scaling !== undefined && scaling !== 'none') {
    throw new UnsupportedModelError(
      `${file}: ${k('rope.scaling.type')} ${shown(scaling)} is not supported (only none)`,
    );
  }
  const factor = metadata.get(k('rope.scaling.factor'));
  if (scaling === undefined && factor !== undefined && factor !== 1 && factor !== 0) {
    throw new UnsupportedModelError(`${file}: ${k('rope.scaling.factor')} ${shown(factor)} is not supported`);
  }

  const tokens = metadata.get('tokenizer.ggml.tokens');
  const nTokens = Array.isArray(tokens) ? tokens.length : undefined;
  if (!metadata.has(k('vocab_size')) && nTokens === undefined) {
    throw new ModelFormatError(file, `neither '${k('vocab_size')}' nor 'tokenizer.ggml.tokens' is present`);
  }
  const vocabSize = keys.int(k('vocab_size'), nTokens);
  const hidden = keys.int(k('embedding_length'));
  const heads = keys.uniformInt(k('attention.head_count'));
  const kvHeads = keys.uniformInt(k('attention.head_count_kv'), heads);
  if (!metadata.has(k('attention.key_length')) && hidden % heads !== 0) {
    throw new ModelFormatError(
      file,
      `${k('embedding_length')} (${hidden}) is not a multiple of ${k('attention.head_count')} (${heads}) and no ${k('attention.key_length')} is given`,
    );
  }
  const headDim = keys.int(k('attention.key_length'), hidden / heads);
  if (metadata.has(k('attention.value_length')) && keys.int(k('attention.value_length')) !== headDim) {
    throw new UnsupportedModelError(
      `${file}: ${k('attention.value_length')} differs from the key length ${headDim}, which is not supported`,
    );
  }
  if (heads % kvHeads !== 0) {
    throw new ModelFormatError(
      file,
      `${k('attention.head_count_kv')} (${kvHeads}) must divide ${k('attention.head_count')} (${heads})`,
    );
  }
  const special = ggufSpecialIds(keys);
  const eosTokenIds = [...new Set([special.eos, special.eot, special.eom].filter((i) => i !== undefined))];
  const common = {
    modelType: arch,
    vocabSize,
    hidden,
    layers: keys.int(k('block_count')),
    heads,
    kvHeads,
    headDim,
    ffn: keys.uniformInt(k('feed_forward_length')),
    maxContext: keys.int(k('context_length')),
    // Decided by the loader from whether the file stores output.weight.
    tiedEmbeddings: false,
    bosTokenId: special.bos,
    eosTokenIds,
  };

  if (arch === 'gpt2') {
    if (headDim * heads !== hidden) {
      throw new ModelFormatError(
        file,
        `${k('embedding_length')} (${hidden}) is not ${heads} heads of ${headDim}`,
      );
    }
    return {
      ...common,
      arch: 'gpt2',
      norm: 'layernorm',
      normEps: keys.positive(k('attention.layer_norm_epsilon')),
      // ggml_gelu is the tanh approximation, as GPT-2's gelu_new.
      activation: 'gelu_tanh',
      learnedPositions: true,
      qkvBias: true,
      attnOutBias: true,
      mlpBias: true,
    };
  }

  const rotaryDim = keys.int(k('rope.dimension_count'), headDim);
  if (rotaryDim > headDim || rotaryDim % 2 !== 0) {
    throw new ModelFormatError(
      file,
      `${k('rope.dimension_count')} (${rotaryDim}) must be even and at most the head size ${headDim}`,
    );
  }
  return {
    ...common,
    arch: 'llama',
    norm: 'rmsnorm',
    normEps: keys.positive(k('attention.layer_norm_rms_epsilon')),
    activation: 'silu',
    rope: {
      theta: keys.positive(k('rope.freq_base'), 10000),
      layout: arch === 'qwen2' ? 'half' : 'pairs',
      rotaryDim,
    },
    learnedPositions: false,
    qkvBias: arch === 'qwen2',
    attnOutBias: false,
    mlpBias: false,
  };
}

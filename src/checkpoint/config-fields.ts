/**
 * Readers of config.json fields with typed errors, and the fields every Hugging Face decoder-only
 * config after GPT-2 shares (sizes, norms, rotary settings in both the v4 and the v5 form). Each
 * family's file (gpt2.ts, llama.ts, gemma.ts, phi3.ts, phi.ts) builds its ModelConfig from these.
 */
import { ModelFormatError, UnsupportedModelError } from '../errors';
import type { LayerAttention, ModelConfig } from './config';
import { parseRopeScaling, type RopeConfig } from './rope';
import type { FileSource } from './source';

export type Json = Record<string, unknown>;

/** A JSON file of the model (config.json, tokenizer.json...): text that is not JSON is a ModelFormatError naming it. */
export async function readJSONFile(files: FileSource, name: string): Promise<unknown> {
  const text = await files.readText(name);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(name, `not valid JSON (${files.describe}): ${(e as Error).message}`);
  }
}

const found = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

export function int(file: string, cfg: Json, field: string, fallback?: number): number {
  const v = cfg[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new ModelFormatError(file, `field '${field}' must be a positive integer, found ${found(v)}`);
  }
  return v;
}

export function num(file: string, cfg: Json, field: string, fallback?: number): number {
  const v = cfg[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ModelFormatError(file, `field '${field}' must be a positive number, found ${found(v)}`);
  }
  return v;
}

/** A positive number, or undefined when the field is absent or null. */
export function optionalNum(file: string, cfg: Json, field: string): number | undefined {
  return cfg[field] == null ? undefined : num(file, cfg, field);
}

export function bool(file: string, cfg: Json, field: string, fallback: boolean): boolean {
  const v = cfg[field] ?? fallback;
  if (typeof v !== 'boolean') {
    throw new ModelFormatError(file, `field '${field}' must be true or false, found ${JSON.stringify(v)}`);
  }
  return v;
}

export function tokenIds(file: string, cfg: Json, field: string): number[] {
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

/** A string field among `allowed` (mapped to the value wgpt uses), with the supported list on failure. */
export function oneOf<T>(
  file: string,
  cfg: Json,
  fields: string[],
  allowed: Record<string, T>,
  fallback: string,
): T {
  const field = fields.find((f) => cfg[f] != null) ?? fields[0];
  const v = cfg[field] ?? fallback;
  const out = typeof v === 'string' ? allowed[v] : undefined;
  if (out === undefined) {
    throw new UnsupportedModelError(
      `${file}: ${field} ${JSON.stringify(v)} is not supported; supported: ${Object.keys(allowed).join(', ')}`,
    );
  }
  return out;
}

/** The config's object field, or undefined when absent or null. */
export function object(file: string, cfg: Json, field: string): Json | undefined {
  const v = cfg[field];
  if (v == null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v))
    throw new ModelFormatError(file, `field '${field}' must be an object`);
  return v as Json;
}

/**
 * Rotary settings from `rope_theta` + `rope_scaling` (v4) or from one `rope_parameters` entry (v5:
 * { rope_type, rope_theta, factor, ..., partial_rotary_factor }). `partial` is the fraction of each
 * head that rotates, from the config when the family has one.
 */
export function ropeOf(
  file: string,
  cfg: Json,
  headDim: number,
  params: Json | undefined = object(file, cfg, 'rope_parameters'),
  partialField?: string,
): RopeConfig {
  const where = params ? 'rope_parameters' : 'rope_scaling';
  const theta = num(
    file,
    params ?? cfg,
    'rope_theta',
    params ? ((cfg.rope_theta as number | undefined) ?? 10000) : 10000,
  );
  const scaling = parseRopeScaling(file, where, params ?? cfg.rope_scaling);
  let rotaryDim = headDim;
  if (partialField) {
    const factor = num(file, params ?? cfg, partialField, (cfg[partialField] as number | undefined) ?? 1);
    rotaryDim = Math.floor(headDim * factor);
    if (rotaryDim < 2 || rotaryDim % 2 !== 0 || rotaryDim > headDim) {
      throw new ModelFormatError(
        file,
        `${partialField} (${factor}) of head_dim ${headDim} gives ${rotaryDim} rotary dimensions; it must be even, 2..${headDim}`,
      );
    }
  }
  return { theta, layout: 'half', rotaryDim, ...(scaling ? { scaling } : {}) };
}

/** `layer_types` ('full_attention' | 'sliding_attention' per layer) or undefined when absent. */
export function layerTypes(file: string, cfg: Json, layers: number): ('full' | 'sliding')[] | undefined {
  const v = cfg.layer_types;
  if (v == null) return undefined;
  if (!Array.isArray(v) || v.length !== layers) {
    throw new ModelFormatError(file, `field 'layer_types' must list ${layers} layer kinds`);
  }
  return v.map((t, i) => {
    if (t === 'full_attention') return 'full';
    if (t === 'sliding_attention') return 'sliding';
    throw new UnsupportedModelError(
      `${file}: layer_types[${i}] ${JSON.stringify(t)} is not supported; supported: full_attention, sliding_attention`,
    );
  });
}

/** Sizes and tokens every decoder-only config after GPT-2 names the same way. */
export function decoderSizes(file: string, cfg: Json, modelType: string) {
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
  return {
    modelType,
    vocabSize: int(file, cfg, 'vocab_size'),
    hidden,
    layers: int(file, cfg, 'num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    ffn: int(file, cfg, 'intermediate_size'),
    maxContext: int(file, cfg, 'max_position_embeddings'),
    bosTokenId: tokenIds(file, cfg, 'bos_token_id')[0],
    eosTokenIds: tokenIds(file, cfg, 'eos_token_id'),
  } satisfies Partial<ModelConfig>;
}

/** The same attention for every layer: `rope`, and a sliding window of `window` keys when given. */
export function uniformLayers(
  layers: number,
  rope: RopeConfig | undefined,
  window?: number,
): LayerAttention[] {
  return Array.from({ length: layers }, () => ({ rope, window: window ?? 0 }));
}

/**
 * The model families wgpt implements, by config.json model_type. Each family's file holds its
 * config parsing and its tensor map; adding an architecture is adding a file here (README: "Adding
 * an architecture").
 */
import { ModelFormatError, UnsupportedModelError } from '../errors';
import type { ModelConfig } from './config';
import type { Json } from './config-fields';
import { GEMMA } from './gemma';
import { GPT2 } from './gpt2';
import { LLAMA } from './llama';
import { PHI } from './phi';
import { PHI3 } from './phi3';
import type { ModelWeights, Resolver } from './weights';

export interface Family {
  /** config.json model_type values of the family. */
  modelTypes: readonly string[];
  /** Normalizes a config.json of one of `modelTypes`; throws ModelFormatError / UnsupportedModelError. */
  config(cfg: Json, file: string, modelType: string): ModelConfig;
  /** Finds and shape-checks the Hugging Face checkpoint's tensors. */
  hfWeights(r: Resolver, cfg: ModelConfig): Promise<ModelWeights>;
}

export const FAMILIES: readonly Family[] = [GPT2, LLAMA, GEMMA, PHI3, PHI];

/** model_type values wgpt implements. */
export const SUPPORTED_MODEL_TYPES: readonly string[] = FAMILIES.flatMap((f) => f.modelTypes);

export function familyOf(modelType: string): Family | undefined {
  return FAMILIES.find((f) => f.modelTypes.includes(modelType));
}

/** Normalizes a parsed Hugging Face config.json. Throws ModelFormatError / UnsupportedModelError. */
export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelFormatError(file, 'expected a JSON object');
  }
  const cfg = json as Json;
  const modelType = cfg.model_type;
  const family = typeof modelType === 'string' ? familyOf(modelType) : undefined;
  if (!family) {
    throw new UnsupportedModelError(
      `${file}: model_type ${JSON.stringify(modelType ?? null)} is not supported; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`,
    );
  }
  return family.config(cfg, file, modelType as string);
}

/** The tensors of a Hugging Face checkpoint of `cfg`'s family. */
export function hfWeights(r: Resolver, cfg: ModelConfig): Promise<ModelWeights> {
  const family = familyOf(cfg.modelType) ?? FAMILIES.find((f) => f.modelTypes.includes(cfg.arch));
  if (!family) throw new UnsupportedModelError(`model_type ${cfg.modelType} has no tensor map`);
  return family.hfWeights(r, cfg);
}

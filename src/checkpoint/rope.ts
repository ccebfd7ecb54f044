/**
 * Rotary position embedding settings: the frequency of each rotated pair, with the scalings
 * checkpoints ask for. One home for the math the rope kernel and its CPU twin consume as a table
 * (shaders/rope.wgsl reads invFreq[i]; it never computes a frequency itself).
 *
 *   inv_freq[i] = theta^(-2 i / rotaryDim)                          for pairs i < rotaryDim / 2
 *   linear:  inv_freq[i] / factor                                   (transformers' 'linear')
 *   llama3:  wavelengths longer than original / low_freq_factor are divided by factor, shorter
 *            than original / high_freq_factor kept, and those between blended smoothly
 *            (transformers' _compute_llama3_parameters)
 *   freqFactors (GGUF rope_freqs.weight): inv_freq[i] / freqFactors[i]  (llama.cpp)
 */
import { ModelFormatError, UnsupportedModelError } from '../errors';

export type RopeScaling =
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      /** original_max_position_embeddings */
      originalContext: number;
    };

export interface RopeConfig {
  theta: number;
  /** 'half': rotate (x[i], x[i + rotaryDim/2]) as Hugging Face does; 'pairs': (x[2i], x[2i+1]) as GGUF does. */
  layout: 'half' | 'pairs';
  /** Leading dimensions of each head that are rotated (the head size unless partial rotary). */
  rotaryDim: number;
  scaling?: RopeScaling;
  /** Per-pair divisors of the frequencies (a GGUF's rope_freqs.weight), rotaryDim / 2 of them. */
  freqFactors?: Float32Array;
}

/** rope_type values wgpt implements ('default' is no scaling). */
export const SUPPORTED_ROPE_TYPES = ['default', 'linear', 'llama3'] as const;

/** The frequency of each rotated pair, computed in f64 and rounded to f32 (as the kernel reads it). */
export function ropeFrequencies(rope: RopeConfig): Float32Array {
  const half = rope.rotaryDim / 2;
  const out = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    let f = rope.theta ** (-(2 * i) / rope.rotaryDim);
    const s = rope.scaling;
    if (s?.type === 'linear') f /= s.factor;
    else if (s?.type === 'llama3') {
      const wavelen = (2 * Math.PI) / f;
      const lowWavelen = s.originalContext / s.lowFreqFactor;
      const highWavelen = s.originalContext / s.highFreqFactor;
      if (wavelen > lowWavelen) f /= s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalContext / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        f = (1 - smooth) * (f / s.factor) + smooth * f;
      }
    }
    if (rope.freqFactors) f /= rope.freqFactors[i];
    out[i] = f;
  }
  return out;
}

type Json = Record<string, unknown>;

function positive(file: string, where: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new ModelFormatError(
      file,
      `${where} must be a positive number, found ${v === undefined ? 'nothing' : JSON.stringify(v)}`,
    );
  }
  return v;
}

/**
 * A config's rope scaling: `rope_scaling` (transformers v4) or the scaling fields of
 * `rope_parameters` (v5), both of the form { rope_type (or type), factor, ... }. Unknown kinds are
 * refused with the supported list: running without them would be silently wrong.
 */
export function parseRopeScaling(file: string, field: string, json: unknown): RopeScaling | undefined {
  if (json === undefined || json === null) return undefined;
  if (typeof json !== 'object' || Array.isArray(json)) {
    throw new ModelFormatError(file, `'${field}' must be an object or null`);
  }
  const s = json as Json;
  const kind = s.rope_type ?? s.type ?? 'default';
  if (kind === 'default') return undefined;
  const factor = () => positive(file, `${field}.factor`, s.factor);
  if (kind === 'linear') return { type: 'linear', factor: factor() };
  if (kind === 'llama3') {
    const r: RopeScaling = {
      type: 'llama3',
      factor: factor(),
      lowFreqFactor: positive(file, `${field}.low_freq_factor`, s.low_freq_factor),
      highFreqFactor: positive(file, `${field}.high_freq_factor`, s.high_freq_factor),
      originalContext: positive(
        file,
        `${field}.original_max_position_embeddings`,
        s.original_max_position_embeddings,
      ),
    };
    if (!(r.highFreqFactor > r.lowFreqFactor)) {
      throw new ModelFormatError(
        file,
        `${field}: high_freq_factor (${r.highFreqFactor}) must exceed low_freq_factor (${r.lowFreqFactor})`,
      );
    }
    return r;
  }
  throw new UnsupportedModelError(
    `${file}: ${field} type ${JSON.stringify(kind)} is not supported; supported: ${SUPPORTED_ROPE_TYPES.join(', ')}`,
  );
}

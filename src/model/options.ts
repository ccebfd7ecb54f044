/** Validation and defaults for the public options; each bad value is an InvalidOptionError naming it. */

import { InvalidOptionError } from '../errors';
import { DTYPES } from '../formats/convert';
import type { GenerateOptions, LoadOptions } from '../types';
import { TUNED_OPS } from './kernel-choice';

/** Generate options with every sampling default filled in. */
export interface NormalizedGenerateOptions {
  maxNewTokens: number;
  temperature: number;
  /** 0 = disabled. */
  topK: number;
  /** 1 = disabled. */
  topP: number;
  /** 0 = disabled. */
  minP: number;
  /** 1 = disabled. */
  repetitionPenalty: number;
  /** A fresh random seed when none is given. */
  seed: number;
  stop: string[];
  signal?: AbortSignal;
  onTopTokens?: GenerateOptions['onTopTokens'];
}

export const GENERATE_DEFAULTS = {
  maxNewTokens: 128,
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
} as const;

/** Every LoadOptions field. */
const LOAD_KEYS = [
  'device',
  'dtype',
  'maxContext',
  'fitContext',
  'memoryLimit',
  'onProgress',
  'signal',
  'fetch',
  'kvDtype',
  'tuning',
  'kernels',
  'tuningCache',
  'onTuningNote',
] as const satisfies readonly (keyof LoadOptions)[];

/** Every GenerateOptions field. */
const GENERATE_KEYS = [
  'maxNewTokens',
  'temperature',
  'topK',
  'topP',
  'minP',
  'repetitionPenalty',
  'seed',
  'stop',
  'signal',
  'onTopTokens',
] as const satisfies readonly (keyof GenerateOptions)[];

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), case-insensitive. */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The known name closest to `name`, when it is close enough to be a misspelling. */
export function suggest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const dist = distance(name, k);
    if (dist < bestD) [best, bestD] = [k, dist];
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Throws InvalidOptionError for a field not in `known`, suggesting the closest known one. */
export function checkKnownKeys(o: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    const near = suggest(key, known);
    throw new InvalidOptionError(
      key,
      `is not a ${what} option${near ? ` (did you mean '${near}'?)` : ''}; ${what} options: ${known.join(', ')}`,
    );
  }
}

const show = (v: unknown) => (typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v)));

function isNum(v: unknown): v is number {
  return typeof v === 'number' && !Number.isNaN(v);
}

/** Checks generate options and fills in defaults. */
export function validateGenerateOptions(o: GenerateOptions = {}): NormalizedGenerateOptions {
  if (typeof o !== 'object' || o === null) throw new InvalidOptionError('options', 'must be an object');
  checkKnownKeys(o, GENERATE_KEYS, 'generate');
  const d = GENERATE_DEFAULTS;
  const { temperature = d.temperature, topP = d.topP, topK = d.topK, minP = d.minP } = o;
  const { maxNewTokens = d.maxNewTokens, repetitionPenalty = d.repetitionPenalty } = o;
  if (!isNum(temperature) || !Number.isFinite(temperature) || temperature < 0) {
    throw new InvalidOptionError(
      'temperature',
      `must be a finite number >= 0 (0 = greedy), got ${show(temperature)}`,
    );
  }
  if (!isNum(topP) || !(topP > 0 && topP <= 1)) {
    throw new InvalidOptionError('topP', `must be in (0, 1], got ${show(topP)}`);
  }
  if (!Number.isInteger(topK) || topK < 0) {
    throw new InvalidOptionError('topK', `must be an integer >= 0 (0 = disabled), got ${show(topK)}`);
  }
  if (!isNum(minP) || !(minP >= 0 && minP <= 1)) {
    throw new InvalidOptionError('minP', `must be in [0, 1], got ${show(minP)}`);
  }
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
    throw new InvalidOptionError('maxNewTokens', `must be an integer >= 1, got ${show(maxNewTokens)}`);
  }
  if (!isNum(repetitionPenalty) || !Number.isFinite(repetitionPenalty) || repetitionPenalty <= 0) {
    throw new InvalidOptionError(
      'repetitionPenalty',
      `must be a finite number > 0, got ${show(repetitionPenalty)}`,
    );
  }
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) {
    throw new InvalidOptionError('seed', `must be an integer, got ${show(o.seed)}`);
  }
  const stop = o.stop ?? [];
  if (!Array.isArray(stop) || !stop.every((s) => typeof s === 'string')) {
    throw new InvalidOptionError('stop', `must be an array of strings, got ${show(stop)}`);
  }
  if (stop.some((s) => s.length === 0))
    throw new InvalidOptionError('stop', 'stop strings must not be empty');
  if (o.signal !== undefined && (typeof o.signal !== 'object' || typeof o.signal.aborted !== 'boolean')) {
    throw new InvalidOptionError('signal', 'must be an AbortSignal');
  }
  if (o.onTopTokens !== undefined && typeof o.onTopTokens !== 'function') {
    throw new InvalidOptionError('onTopTokens', 'must be a function');
  }
  return {
    maxNewTokens,
    temperature,
    topK,
    topP,
    minP,
    repetitionPenalty,
    seed: o.seed ?? Math.floor(Math.random() * 2 ** 32),
    stop: [...stop],
    signal: o.signal,
    onTopTokens: o.onTopTokens,
  };
}

/** Whether `d` looks like a GPUDevice (the class is not global everywhere, so its shape is checked). */
function isDevice(d: unknown): d is GPUDevice {
  const x = d as GPUDevice;
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof x.createBuffer === 'function' &&
    typeof x.createComputePipeline === 'function' &&
    typeof x.queue === 'object' &&
    x.lost instanceof Promise
  );
}

/** Checks load options (device, progress callback, signal and fetch are passed through); forced kernel names come back canonical. */
export function validateLoadOptions(
  o: LoadOptions = {},
): LoadOptions & Required<Pick<LoadOptions, 'kvDtype' | 'tuning' | 'kernels'>> {
  if (typeof o !== 'object' || o === null) throw new InvalidOptionError('options', 'must be an object');
  checkKnownKeys(o, LOAD_KEYS, 'load');
  if (o.device !== undefined && !isDevice(o.device)) {
    throw new InvalidOptionError('device', `must be a GPUDevice, got ${show(o.device)}`);
  }
  if (o.fitContext !== undefined && typeof o.fitContext !== 'boolean') {
    throw new InvalidOptionError('fitContext', `must be true or false, got ${show(o.fitContext)}`);
  }
  if (o.memoryLimit !== undefined && !(Number.isFinite(o.memoryLimit) && (o.memoryLimit as number) > 0)) {
    throw new InvalidOptionError(
      'memoryLimit',
      `must be a positive number of bytes, got ${show(o.memoryLimit)}`,
    );
  }
  const dtype = o.dtype;
  if (dtype !== undefined && !DTYPES.includes(dtype)) {
    throw new InvalidOptionError(
      'dtype',
      `must be one of ${DTYPES.map((d) => `'${d}'`).join(', ')}, got ${show(dtype)}`,
    );
  }
  if (o.maxContext !== undefined && (!Number.isInteger(o.maxContext) || o.maxContext < 1)) {
    throw new InvalidOptionError('maxContext', `must be a positive integer, got ${show(o.maxContext)}`);
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw new InvalidOptionError('onProgress', 'must be a function');
  }
  if (o.fetch !== undefined && typeof o.fetch !== 'function') {
    throw new InvalidOptionError('fetch', 'must be a function');
  }
  if (o.signal !== undefined && (typeof o.signal !== 'object' || typeof o.signal?.aborted !== 'boolean')) {
    throw new InvalidOptionError('signal', 'must be an AbortSignal');
  }
  const kvDtype = o.kvDtype ?? 'f32';
  if (kvDtype !== 'f32' && kvDtype !== 'f16') {
    throw new InvalidOptionError('kvDtype', `must be 'f32' or 'f16', got ${show(kvDtype)}`);
  }
  const tuning = o.tuning ?? 'auto';
  if (tuning !== 'auto' && tuning !== 'off' && tuning !== 'retune') {
    throw new InvalidOptionError('tuning', `must be 'auto', 'off' or 'retune', got ${show(tuning)}`);
  }
  const kernels: Record<string, string> = {};
  if (o.kernels !== undefined) {
    if (typeof o.kernels !== 'object' || o.kernels === null || Array.isArray(o.kernels)) {
      throw new InvalidOptionError('kernels', `must map op names to variant names, got ${show(o.kernels)}`);
    }
    for (const [op, name] of Object.entries(o.kernels)) {
      const canonical = TUNED_OPS[op];
      if (!canonical) {
        throw new InvalidOptionError(
          'kernels',
          `'${op}' has no kernel variants; ops with variants: ${Object.keys(TUNED_OPS).join(', ')}`,
        );
      }
      const named = typeof name === 'string' ? canonical(name) : null;
      if (named === null)
        throw new InvalidOptionError('kernels', `${show(name)} is not a ${op} variant name`);
      kernels[op] = named;
    }
  }
  if (o.tuningCache !== undefined && o.tuningCache !== false && typeof o.tuningCache !== 'string') {
    throw new InvalidOptionError(
      'tuningCache',
      `must be a path / database name or false, got ${show(o.tuningCache)}`,
    );
  }
  if (o.onTuningNote !== undefined && typeof o.onTuningNote !== 'function') {
    throw new InvalidOptionError('onTuningNote', 'must be a function');
  }
  return { ...o, dtype, kvDtype, tuning, kernels };
}

/** The engine worker's CPU parts: next-token probabilities and errors crossing the worker boundary. */
import { describe, expect, it } from 'vitest';
import { ContextLengthError, errorFromJSON, InvalidOptionError, ModelFormatError } from '../src/errors';
import { probabilities, topIds } from '../src/worker/probabilities';
import { serializeError } from '../src/worker/protocol';

describe('topIds', () => {
  it('returns the k largest, largest first, lower id first on ties', () => {
    expect(topIds([0.5, 3, -1, 3, 2, 7], 3)).toEqual([5, 1, 3]);
    expect(topIds([1, 2], 5)).toEqual([1, 0]);
    expect(topIds([4, 9, 1, 8], 2, 3)).toEqual([1, 0]);
  });
});

describe('probabilities', () => {
  const row = Float32Array.from([2, 1, 0, -1, 3]);
  it('is softmax(logits / T) over the whole row', () => {
    for (const T of [0.3, 1, 2, 10]) {
      const all = probabilities(row, [0, 1, 2, 3, 4], T);
      const z = [...row].map((l) => Math.exp(l / T)).reduce((a, b) => a + b, 0);
      for (const [i, p] of all.entries()) expect(p).toBeCloseTo(Math.exp(row[i] / T) / z, 12);
      expect(all.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
  });
  it('sharpens at low temperature and flattens at high', () => {
    const [cold] = probabilities(row, [4], 0.5);
    const [warm] = probabilities(row, [4], 2);
    expect(cold).toBeGreaterThan(warm);
  });
  it('puts everything on the top token at T = 0', () => {
    expect(probabilities(row, topIds(row, 3), 0)).toEqual([1, 0, 0]);
  });
  it('stays finite for large logits', () => {
    expect(probabilities([1000, 999], [0, 1], 1).every(Number.isFinite)).toBe(true);
  });
});

describe('errors across the worker boundary', () => {
  it('keep their class, message and fields', () => {
    const cases = [
      new ModelFormatError('model.safetensors', 'truncated', 'lm_head.weight'),
      new ContextLengthError(600, 512),
      new InvalidOptionError('topP', 'must be in (0, 1], got 1.5'),
    ];
    for (const original of cases) {
      const copy = errorFromJSON(structuredClone(serializeError(original)));
      expect(copy).toBeInstanceOf(original.constructor);
      expect(copy.message).toBe(original.message);
      expect(copy.name).toBe(original.name);
    }
    const format = errorFromJSON(serializeError(cases[0])) as ModelFormatError;
    expect(format.file).toBe('model.safetensors');
  });
  it('carries plain errors and aborts by name', () => {
    const abort = errorFromJSON(serializeError(new DOMException('The operation was aborted.', 'AbortError')));
    expect(abort.name).toBe('AbortError');
    expect(errorFromJSON(serializeError('boom')).message).toBe('boom');
  });
});

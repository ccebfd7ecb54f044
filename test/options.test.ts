import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors';
import { validateGenerateOptions, validateLoadOptions } from '../src/model/options';

function expectOption(fn: () => unknown, option: string) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidOptionError);
  expect((err as InvalidOptionError).option).toBe(option);
  expect((err as Error).message).toContain(`'${option}'`);
}

describe('validateGenerateOptions', () => {
  it('fills in defaults', () => {
    const o = validateGenerateOptions({ seed: 5 });
    expect(o).toMatchObject({
      maxNewTokens: 128,
      temperature: 1,
      topK: 0,
      topP: 1,
      minP: 0,
      repetitionPenalty: 1,
      seed: 5,
      stop: [],
    });
    expect(Number.isInteger(validateGenerateOptions().seed)).toBe(true);
    expect(validateGenerateOptions({ temperature: 0, topP: 1, minP: 1, topK: 0 }).temperature).toBe(0);
  });

  it.each([
    ['temperature', { temperature: -0.1 }],
    ['temperature', { temperature: Number.NaN }],
    ['temperature', { temperature: Number.POSITIVE_INFINITY }],
    ['topP', { topP: 0 }],
    ['topP', { topP: 1.01 }],
    ['topP', { topP: Number.NaN }],
    ['topK', { topK: 2.5 }],
    ['topK', { topK: -1 }],
    ['minP', { minP: -0.1 }],
    ['minP', { minP: 1.5 }],
    ['maxNewTokens', { maxNewTokens: 0 }],
    ['maxNewTokens', { maxNewTokens: 3.5 }],
    ['repetitionPenalty', { repetitionPenalty: 0 }],
    ['repetitionPenalty', { repetitionPenalty: Number.NaN }],
    ['seed', { seed: 1.5 }],
    ['stop', { stop: 'x' }],
    ['stop', { stop: ['a', 3] }],
  ])('rejects bad %s (%o)', (option, o) => {
    expectOption(() => validateGenerateOptions(o as never), option);
  });
});

describe('validateLoadOptions', () => {
  it('leaves dtype unset (weights as stored) and accepts every storage', () => {
    expect(validateLoadOptions({}).dtype).toBeUndefined();
    for (const dtype of ['f32', 'f16', 'q8', 'q4'] as const) {
      expect(validateLoadOptions({ dtype, maxContext: 32 })).toMatchObject({ dtype, maxContext: 32 });
    }
  });
  it('rejects a bad dtype or maxContext', () => {
    expectOption(() => validateLoadOptions({ dtype: 'f64' as never }), 'dtype');
    expectOption(() => validateLoadOptions({ maxContext: 0 }), 'maxContext');
    expectOption(() => validateLoadOptions({ maxContext: 2.5 }), 'maxContext');
  });
});

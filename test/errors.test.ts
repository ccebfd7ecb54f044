/**
 * Every error class survives serialization (as between the engine worker and the page): class,
 * code, message and every field. Fields are enumerated from the original error, so a field added
 * to a class later is checked without editing this test.
 */
import { describe, expect, it } from 'vitest';
import * as errors from '../src/errors';
import { errorFromJSON, WgptError } from '../src/errors';
import {
  errorExamples as examples,
  exportedErrors as exported,
  errorFields as fields,
} from './error-examples';

describe('errors across a JSON boundary', () => {
  it('has an example for every exported error class', () => {
    expect(exported.length).toBeGreaterThan(10);
    expect(Object.keys(examples).sort()).toEqual(exported.map(([name]) => name).sort());
  });

  for (const [name, cls] of exported) {
    it(`${name} keeps its class, code, message and every field`, () => {
      const original = examples[name]();
      expect(original).toBeInstanceOf(cls);
      const data = JSON.parse(JSON.stringify(original));
      const copy = errorFromJSON(data) as WgptError;
      expect(copy).toBeInstanceOf(cls);
      expect(copy).toBeInstanceOf(WgptError);
      expect(copy.constructor).toBe(original.constructor);
      expect(copy.name).toBe(name);
      expect(copy.code).toBe(original.code);
      expect(data.code).toBe(original.code);
      expect(copy.message).toBe(original.message);
      const own = fields(original);
      // Distinct values, so a field restored into another's place is caught.
      const values = Object.values(own);
      expect(new Set(values).size).toBe(values.length);
      for (const [key, value] of Object.entries(own)) {
        expect(value, key).not.toBeUndefined();
        expect(Object.hasOwn(copy, key), `${name}.${key} is an own property`).toBe(true);
        expect((copy as unknown as Record<string, unknown>)[key], `${name}.${key}`).toStrictEqual(value);
      }
      expect(fields(copy)).toStrictEqual(own);
    });
  }

  it('codes are distinct, so the code alone names the class', () => {
    const codes = exported.map(([name]) => examples[name]().code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('finds the class by code when the name is not a known class (a minified bundle)', () => {
    const data = JSON.parse(JSON.stringify(new errors.ContextLengthError(40, 32)));
    const copy = errorFromJSON({ ...data, name: 'e' }) as errors.ContextLengthError;
    expect(copy).toBeInstanceOf(errors.ContextLengthError);
    expect(copy.code).toBe('CONTEXT_LENGTH');
    expect([copy.tokens, copy.maxContext]).toEqual([40, 32]);
  });

  it('keeps an unknown error as an Error with its name, code and fields', () => {
    const copy = errorFromJSON({ name: 'AbortError', message: 'aborted', code: 'SOMETHING_NEW', extra: 3 });
    expect(copy).toBeInstanceOf(Error);
    expect(copy).not.toBeInstanceOf(WgptError);
    expect(copy.name).toBe('AbortError');
    expect(copy.message).toBe('aborted');
    expect(copy).toMatchObject({ code: 'SOMETHING_NEW', extra: 3 });
  });
});

/**
 * Seeded fuzz of the loading paths (see test/fuzz-harness.ts; `npm run fuzz` runs thousands):
 * every mutated safetensors or GGUF header, config.json or tokenizer.json either opens (and its
 * tokenizer then encodes and decodes) or fails with a typed wgpt error, never with a TypeError,
 * a RangeError or a hang.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/model/sampler';
import { fuzz, fuzzSeeds, mutate, seedsOpen } from './fuzz-harness';

const COUNT = 1000;

describe('fuzzed model files', () => {
  it('start from seeds that open', async () => {
    expect(await seedsOpen()).toEqual([]);
  });

  it('mutations are reproducible from the seed', () => {
    const seeds = fuzzSeeds();
    const a = new Rng(7);
    const b = new Rng(7);
    for (let i = 0; i < 20; i++) {
      expect(mutate(seeds[i % 4], a).describe).toBe(mutate(seeds[i % 4], b).describe);
    }
  });

  it(`${COUNT} mutations: each opens or fails with a typed error`, async () => {
    const summary = await fuzz(COUNT, 11);
    const failures = summary.failures.map((f) => {
      const o = f.outcome;
      return `[${f.seed}] ${f.describe}: ${o.kind === 'untyped' ? `${o.error}: ${o.message}` : o.kind}`;
    });
    expect(failures).toEqual([]);
    // The mutations reach both outcomes, and more than one kind of error.
    expect(summary.ok).toBeGreaterThan(COUNT / 50);
    expect(summary.typed.ModelFormatError).toBeGreaterThan(COUNT / 2);
    expect(Object.keys(summary.typed).length).toBeGreaterThan(1);
  }, 60_000);
});

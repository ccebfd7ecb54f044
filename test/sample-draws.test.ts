/**
 * The GPU sampler over 2000 draws (Node, Dawn): the same id as the CPU rule for the same r except
 * on a float boundary, and the empirical distribution within the stated total-variation bound of
 * filterDistribution (test/sample-draws.ts explains the bound). Chromium: e2e/sample-draws.spec.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gpu } from '../src/gpu/gpu';
import { type DrawStats, runDraws } from './sample-draws';

let gpu: Gpu;

beforeAll(async () => {
  // No adapter means failure, never a skip.
  gpu = await Gpu.create();
});
afterAll(() => gpu?.destroy());

describe.each(['steep', 'flat'] as const)('GPU sampler, 2000 draws, %s head', (head) => {
  let stats: DrawStats;
  beforeAll(async () => {
    stats = await runDraws(gpu, head);
  });

  it('never draws a filtered id', () => {
    expect(stats.filtered).toBe(0);
    expect(stats.support).toBeGreaterThan(3);
    expect(stats.support).toBeLessThan(40); // a filter cut inside the top-k
  });

  it('picks the CPU id for the same r, except within 1e-5 of a cumulative boundary', () => {
    expect(stats.agree).toBeGreaterThanOrEqual(stats.draws * 0.995);
    for (const d of stats.disagreements) expect(d.boundaryDistance).toBeLessThan(1e-5);
  });

  it('follows filterDistribution within the total-variation bound', () => {
    expect(stats.bound).toBeLessThan(0.15);
    expect(stats.tv).toBeLessThanOrEqual(stats.bound);
  });
});

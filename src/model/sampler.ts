/**
 * Next-token sampling on the CPU from one row of logits, with a seeded generator. The rule itself
 * (penalty, temperature, top-k, top-p, min-p, draw) lives in src/cpu/sample.ts, the CPU twin of the
 * GPU sampler shaders/sample.wgsl, so both pick the same id for the same uniform r.
 */
import { drawFrom, filterDistribution, type SampleOptions } from '../cpu/sample';

export { filterDistribution, type SampleOptions };

/** mulberry32: a small seeded PRNG; the same seed gives the same sequence everywhere. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/**
 * Draws the next token id: one `rng.next()` per call, none when greedy (temperature 0), so a GPU
 * sampler fed the same r values picks the same ids. `history` holds the ids the repetition penalty
 * applies to.
 */
export function sample(logits: Float32Array, opts: SampleOptions, rng: Rng, history: number[] = []): number {
  const p = filterDistribution(logits, opts, history);
  if (opts.temperature === 0) return p.indexOf(1);
  return drawFrom(p, rng.next());
}

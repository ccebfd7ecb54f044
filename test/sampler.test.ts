import { describe, expect, it } from 'vitest';
import { filterDistribution, Rng, sample } from '../src/model/sampler';

const logitsOf = (probs: number[]) => new Float32Array(probs.map(Math.log));
const close = (a: ArrayLike<number>, b: number[]) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i], 6);
};

describe('Rng', () => {
  it('reproduces a sequence from a seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(new Rng(43).next()).not.toBe(xs[0]);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('filterDistribution', () => {
  const p = [0.1, 0.4, 0.2, 0.3];
  it('is the softmax at temperature 1', () => {
    close(filterDistribution(logitsOf(p), { temperature: 1, validVocab: 4 }), p);
  });

  it('sharpens with temperature', () => {
    // p^(1/0.5) normalized: 0.01, 0.16, 0.04, 0.09 / 0.30
    close(filterDistribution(logitsOf(p), { temperature: 0.5, validVocab: 4 }), [
      1 / 30,
      16 / 30,
      4 / 30,
      9 / 30,
    ]);
  });

  it('top-k keeps the k most likely', () => {
    close(filterDistribution(logitsOf(p), { temperature: 1, topK: 2, validVocab: 4 }), [0, 4 / 7, 0, 3 / 7]);
  });

  it('top-p keeps the smallest set reaching p', () => {
    // sorted 0.4, 0.3, 0.2, 0.1: cumulative 0.4, 0.7 -> p=0.65 keeps two
    close(filterDistribution(logitsOf(p), { temperature: 1, topP: 0.65, validVocab: 4 }), [
      0,
      4 / 7,
      0,
      3 / 7,
    ]);
    // p=0.7 is reached exactly by two
    close(filterDistribution(logitsOf(p), { temperature: 1, topP: 0.7, validVocab: 4 }), [
      0,
      4 / 7,
      0,
      3 / 7,
    ]);
    // tiny p always keeps one
    close(filterDistribution(logitsOf(p), { temperature: 1, topP: 0.01, validVocab: 4 }), [0, 1, 0, 0]);
  });

  it('min-p drops ids below minP * pmax', () => {
    // pmax 0.4, minP 0.45 -> cut 0.18: keeps 0.4, 0.3, 0.2
    close(filterDistribution(logitsOf(p), { temperature: 1, minP: 0.45, validVocab: 4 }), [
      0,
      4 / 9,
      2 / 9,
      3 / 9,
    ]);
  });

  it('applies top-k, then top-p, then min-p', () => {
    // top-k 3: 0.4, 0.3, 0.2 -> /0.9; top-p 0.5: 0.444, 0.333 -> keep 2; min-p 0.8: cut 0.356 -> keep 1
    close(filterDistribution(logitsOf(p), { temperature: 1, topK: 3, topP: 0.5, validVocab: 4 }), [
      0,
      4 / 7,
      0,
      3 / 7,
    ]);
    close(
      filterDistribution(logitsOf(p), { temperature: 1, topK: 3, topP: 0.5, minP: 0.8, validVocab: 4 }),
      [0, 1, 0, 0],
    );
  });

  it('applies the repetition penalty as Hugging Face does', () => {
    const logits = new Float32Array([2, -1, 1, 0]);
    // id 0: 2/2 = 1; id 1: -1*2 = -2; id 3 (0) unchanged; repeated ids count once
    const got = filterDistribution(
      logits,
      { temperature: 1, repetitionPenalty: 2, validVocab: 4 },
      [0, 1, 1, 3],
    );
    const e = [1, -2, 1, 0].map(Math.exp);
    const s = e.reduce((a, b) => a + b);
    close(
      got,
      e.map((x) => x / s),
    );
  });

  it('never keeps ids at or past validVocab', () => {
    const got = filterDistribution(new Float32Array([0, 1, 50, 60]), { temperature: 1, validVocab: 2 });
    expect(got.length).toBe(2);
    expect(got[0] + got[1]).toBeCloseTo(1, 12);
  });
});

describe('sample', () => {
  it('temperature 0 is argmax, first on ties, within validVocab', () => {
    const rng = new Rng(1);
    expect(sample(new Float32Array([1, 3, 3, 2]), { temperature: 0, validVocab: 4 }, rng)).toBe(1);
    expect(sample(new Float32Array([1, 3, 3, 9]), { temperature: 0, validVocab: 3 }, rng)).toBe(1);
    expect(
      sample(
        new Float32Array([5, 3, 3, 2]),
        { temperature: 0, repetitionPenalty: 10, validVocab: 4 },
        rng,
        [0],
      ),
    ).toBe(1);
  });

  it('reproduces draws from a seed and follows the distribution', () => {
    const logits = logitsOf([0.1, 0.4, 0.2, 0.3]);
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 2000 }, () => sample(logits, { temperature: 1, validVocab: 4 }, rng));
    };
    const a = draw(7);
    expect(draw(7)).toEqual(a);
    const counts = [0, 1, 2, 3].map((i) => a.filter((x) => x === i).length / a.length);
    close(
      counts.map((c) => Math.round(c * 10) / 10),
      [0.1, 0.4, 0.2, 0.3],
    );
  });

  it('never draws an id past validVocab or one filtered out', () => {
    const logits = new Float32Array([0, 0, 0, 100, 100]);
    const rng = new Rng(3);
    for (let i = 0; i < 500; i++) {
      expect(sample(logits, { temperature: 2, validVocab: 3 }, rng)).toBeLessThan(3);
      expect(
        sample(logitsOf([0.1, 0.4, 0.2, 0.3]), { temperature: 1, topK: 2, validVocab: 4 }, rng),
      ).not.toBe(0);
    }
  });
});

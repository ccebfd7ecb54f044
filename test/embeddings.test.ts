/**
 * The embeddings API (issue 12): the shared checks on the GPU in Node (Dawn) against the CPU twin
 * (test/model/explain-checks.ts), and the CPU-only pieces: reading terms, top k, the PCA.
 */
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors';
import { readTerm, type TermTokenizer, topK } from '../src/model/embeddings';
import { projectPca } from '../src/model/pca';
import { embeddingChecks } from './model/explain-checks';

const paths = { tinystories: '', gpt2TinyRandom: '', stories260k: '' };

describe('embeddings on the GPU against the CPU twin', () => {
  for (const c of embeddingChecks) it(c.name, () => c.run(paths));
});

/** A tokenizer of fixed encodings (text -> ids), texts 't<id>'. */
function fakeTokenizer(encodings: Record<string, number[]>): TermTokenizer {
  return {
    encode: (text: string) => encodings[text] ?? [],
    tokenText: (id: number) => `t${id}`,
  } as TermTokenizer;
}

describe('readTerm', () => {
  it('reads signs and prefers the shorter of the word and the word after a space (spaced on a tie)', () => {
    const tok = fakeTokenizer({
      king: [1, 2],
      ' king': [3],
      man: [4],
      ' man': [5],
      woman: [6, 7],
      ' woman': [8, 9, 10],
    });
    expect(readTerm(tok, 'king', 0)).toEqual({
      term: 'king',
      sign: 1,
      tokenIds: [3],
      tokens: ['t3'],
      averaged: false,
    });
    expect(readTerm(tok, ' - man ', 1)).toMatchObject({ sign: -1, tokenIds: [5], averaged: false });
    expect(readTerm(tok, '+woman', 2)).toMatchObject({
      sign: 1,
      tokenIds: [6, 7],
      tokens: ['t6', 't7'],
      averaged: true,
    });
  });

  it('refuses a term without a word or whose word encodes to nothing, naming terms', () => {
    const tok = fakeTokenizer({ a: [1] });
    for (const t of ['', '-', ' + ', 'zzz']) {
      expect(() => readTerm(tok, t, 0)).toThrow(InvalidOptionError);
      expect(() => readTerm(tok, t, 0)).toThrow("'terms'");
    }
    expect(() => readTerm(tok, 5 as unknown as string, 0)).toThrow("'terms'");
  });
});

describe('topK', () => {
  it('takes the k largest, largest first, ties to the lower index', () => {
    const v = Float32Array.from([0.5, 0.9, -1, 0.9, 0.1, 0.5]);
    expect(topK(v, 3)).toEqual([1, 3, 0]);
    expect(topK(v, 1)).toEqual([1]);
    expect(topK(v, 10)).toEqual([1, 3, 0, 5, 4, 2]);
  });

  it('gives what a full sort gives, for small and large k', () => {
    const v = Float32Array.from({ length: 2000 }, (_, i) => Math.round(Math.sin(i * 7.1) * 50) / 50);
    const sorted = Array.from(v.keys()).sort((a, b) => v[b] - v[a] || a - b);
    for (const k of [1, 5, 100, 256, 257, 1999, 2000]) expect(topK(v, k)).toEqual(sorted.slice(0, k));
  });
});

describe('projectPca', () => {
  it('recovers points on a line and on a plane, centred, with their variance shares', () => {
    // Points (x, 0) on a line: one component holds everything.
    const line = [0, 1, 2, 6].map((x) => [x, 2 * x, 5]);
    const p = projectPca(line, 3);
    expect(p.explained[0]).toBeCloseTo(1, 12);
    expect(p.explained[1]).toBeCloseTo(0, 12);
    const xs = p.points.map((q) => q[0]);
    expect(xs.reduce((a, b) => a + b)).toBeCloseTo(0, 12);
    expect(xs[3] - xs[0]).toBeCloseTo(6 * Math.sqrt(5), 10);
    // An anisotropic cloud in 3-D: the shares are the covariance's eigenvalues' shares.
    const cloud = [
      [2, 0, 0],
      [-2, 0, 0],
      [0, 1, 0],
      [0, -1, 0],
      [0, 0, 0.5],
      [0, 0, -0.5],
    ];
    const q = projectPca(cloud, 3);
    const total = 8 + 2 + 0.5;
    expect(q.explained[0]).toBeCloseTo(8 / total, 10);
    expect(q.explained[1]).toBeCloseTo(2 / total, 10);
    expect(Math.abs(q.points[0][0])).toBeCloseTo(2, 10);
    expect(Math.abs(q.points[2][1])).toBeCloseTo(1, 10);
  });

  it('handles equal leading eigenvalues, a rank-1 pair and identical items', () => {
    const square = [
      [1, 0],
      [0, 1],
      [-1, 0],
      [0, -1],
    ];
    const s = projectPca(square, 2);
    expect(s.explained[0]).toBeCloseTo(0.5, 10);
    expect(s.explained[1]).toBeCloseTo(0.5, 10);
    for (const pt of s.points) expect(Math.hypot(...pt)).toBeCloseTo(1, 10);
    const two = projectPca(
      [
        [1, 2, 3],
        [3, 2, 1],
      ],
      3,
    );
    expect(two.explained[0]).toBeCloseTo(1, 12);
    expect(two.explained[1]).toBeCloseTo(0, 12);
    expect(Math.abs(two.points[0][0] - two.points[1][0])).toBeCloseTo(Math.sqrt(8), 10);
    expect(
      projectPca(
        [
          [1, 1],
          [1, 1],
        ],
        2,
      ),
    ).toEqual({
      points: [
        [0, 0],
        [0, 0],
      ],
      explained: [0, 0],
    });
  });
});

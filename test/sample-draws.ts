/**
 * Many draws of the GPU sampler (shaders/sample.wgsl) against the CPU rule, shared by the Node test
 * (test/sample-draws.test.ts) and the Chromium page (e2e/sample-draws.html).
 *
 * Hand-made logits (1000 ids, a Zipf-like head over a noisy tail, some of the head in the history)
 * at temperature 0.7, topK 40, topP 0.9, minP 0.05, penalty 1.3. Only the tightest filter decides
 * the cut, so there are two heads: a steep one where min-p cuts (about 8 ids left) and a flat one
 * where top-p does (about 30). Draw k uses r = the first value of Rng(k + 1), as a generation
 * seeded with k + 1 would. For each r the GPU id is compared with the CPU's
 * drawFrom(filterDistribution(...), r), and the empirical distribution of the GPU ids with
 * filterDistribution by total variation.
 *
 * Bound on the total variation: with n draws over a support of k ids,
 * E[TV] = 1/2 sum_i E|phat_i - p_i| <= 1/2 sum_i sqrt(p_i / n) <= 1/2 sqrt(k / n) (Jensen, then
 * Cauchy-Schwarz), and one draw moves TV by at most 1/n, so P(TV > E[TV] + t) <= exp(-2 n t^2)
 * (McDiarmid). With t = sqrt(ln(1e4) / (2n)) a correct sampler stays under
 * 1/2 sqrt(k/n) + t except with probability 1e-4 (about 0.09 for k = 20, n = 2000).
 */
import type { SampleStep } from '../src/cpu/sample';
import { drawFrom, filterDistribution, seenBits } from '../src/cpu/sample';
import type { Gpu } from '../src/gpu/gpu';
import type { Dispatch } from '../src/kernels/dispatch';
import { sample, seenWords } from '../src/kernels/sample';
import { Rng } from '../src/model/sampler';
import { rng } from './kernels/harness';

export const V = 1000;
export const SETTINGS: Omit<SampleStep, 'r'> = {
  temperature: 0.7,
  topK: 40,
  topP: 0.9,
  minP: 0.05,
  repetitionPenalty: 1.3,
};

export type Head = 'steep' | 'flat';

/** Logits: id perm[j] gets 6 - slope ln(j + 1) plus noise (a Zipf-like head), slope 1.2 or 0.4. */
export function drawLogits(head: Head): { logits: Float32Array; history: number[] } {
  const slope = head === 'steep' ? 1.2 : 0.4;
  const g = rng(2024);
  const perm = Array.from({ length: V }, (_, i) => i);
  for (let i = V - 1; i > 0; i--) {
    const j = Math.floor(g() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const logits = new Float32Array(V);
  for (let j = 0; j < V; j++) logits[perm[j]] = 6 - slope * Math.log(j + 1) + 0.3 * (g() - 0.5);
  // Ranks 0, 2, 5, 9 and 30 have been generated before: the penalty reorders the head.
  return { logits, history: [0, 2, 5, 9, 30].map((j) => perm[j]) };
}

export interface DrawStats {
  head: Head;
  draws: number;
  /** Ids with probability > 0 after the filters. */
  support: number;
  tv: number;
  bound: number;
  /** Draws where the GPU and CPU chose the same id. */
  agree: number;
  /** The others, with the distance of r to the nearest CPU cumulative boundary. */
  disagreements: { r: number; gpu: number; cpu: number; boundaryDistance: number }[];
  /** GPU ids that the filters removed (must be 0). */
  filtered: number;
  adapter: string;
}

/** `count` draws, `batch` dispatches (own uniform and output slot each) per submission. */
export async function runDraws(gpu: Gpu, head: Head, count = 2000, batch = 100): Promise<DrawStats> {
  const { logits, history } = drawLogits(head);
  const p = filterDistribution(logits, { ...SETTINGS, validVocab: V }, history);
  const rs = Array.from({ length: count }, (_, k) => new Rng(k + 1).next());
  const SLOT = 64; // u32s: one 256-byte aligned output per dispatch
  const logitsBuf = await gpu.upload('draws logits', logits);
  const seenBuf = await gpu.upload('draws seen', seenBits(history, V));
  const outBuf = await gpu.createBuffer('draws out', batch * SLOT * 4);
  const dispatches: Dispatch<SampleStep>[] = [];
  const picks: number[] = [];
  try {
    for (let b = 0; b < batch; b++) {
      const out = { buffer: outBuf, offset: b * SLOT * 4, size: 4 };
      const seen = { buffer: seenBuf, offset: 0, size: seenWords(V) * 4 };
      dispatches.push(
        await sample(gpu, out, null, seen, logitsBuf, V, V, { ...SETTINGS, r: 0 }, { markSeen: false }),
      );
    }
    for (let start = 0; start < count; start += batch) {
      const m = Math.min(batch, count - start);
      for (let b = 0; b < m; b++) dispatches[b].update({ ...SETTINGS, r: rs[start + b] });
      gpu.submit('draws', (pass) => {
        for (let b = 0; b < m; b++) dispatches[b].encode(pass);
      });
      const got = new Uint32Array(await gpu.read(outBuf, m * SLOT * 4));
      for (let b = 0; b < m; b++) picks.push(got[b * SLOT]);
    }
  } finally {
    for (const d of dispatches) d.destroy();
    for (const buf of [logitsBuf, seenBuf, outBuf]) buf.destroy();
  }

  const boundaries: number[] = [];
  let cum = 0;
  for (const q of p) if (q > 0) boundaries.push((cum += q));
  const hist = new Float64Array(V);
  const stats: DrawStats = {
    head,
    draws: count,
    support: boundaries.length,
    tv: 0,
    bound: 0.5 * Math.sqrt(boundaries.length / count) + Math.sqrt(Math.log(1e4) / (2 * count)),
    agree: 0,
    disagreements: [],
    filtered: 0,
    adapter: gpu.adapter.architecture,
  };
  picks.forEach((id, k) => {
    hist[id] += 1 / count;
    if (!(p[id] > 0)) stats.filtered++;
    const cpu = drawFrom(p, rs[k]);
    if (cpu === id) stats.agree++;
    else {
      const boundaryDistance = Math.min(...boundaries.map((c) => Math.abs(c - rs[k])));
      stats.disagreements.push({ r: rs[k], gpu: id, cpu, boundaryDistance });
    }
  });
  for (let i = 0; i < V; i++) stats.tv += Math.abs(hist[i] - p[i]) / 2;
  return stats;
}

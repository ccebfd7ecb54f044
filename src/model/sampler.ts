/**
 * Next-token sampling on the CPU from one row of logits.
 * Order (as Hugging Face): repetition penalty, temperature, top-k, softmax, top-p, min-p,
 * renormalize, draw with a seeded generator. Temperature 0 is argmax (first index on ties).
 */

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

export interface SampleOptions {
  /** 0 = greedy. */
  temperature: number;
  /** Keep the k most likely ids; 0 or undefined = off. */
  topK?: number;
  /** Keep the smallest set whose probability reaches p; 1 or undefined = off. */
  topP?: number;
  /** Drop ids with probability below minP * (max probability); 0 or undefined = off. */
  minP?: number;
  /** HF repetition penalty for ids in history: positive logits divided, negative multiplied; 1 = off. */
  repetitionPenalty?: number;
  /** Ids >= this are never chosen (a vocabulary padded past the tokenizer's). */
  validVocab: number;
}

/** Index of the largest finite value in [0, n), first on ties; -1 when there is none. */
function argmax(x: Float64Array | Float32Array, n: number): number {
  let best = -1;
  let bestV = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    if (x[i] > bestV || (best < 0 && x[i] === bestV)) {
      best = i;
      bestV = x[i];
    }
  }
  return best;
}

/**
 * The distribution that `sample` draws from: probabilities for ids [0, validVocab) after every
 * filter, summing to 1 (zeros for filtered ids). Temperature 0 gives a one-hot at the argmax.
 */
export function filterDistribution(
  logits: Float32Array,
  opts: SampleOptions,
  history: number[] = [],
): Float64Array {
  const n = Math.min(opts.validVocab, logits.length);
  if (!(n > 0)) throw new RangeError(`validVocab must be >= 1, got ${opts.validVocab}`);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = Number.isNaN(logits[i]) ? Number.NEGATIVE_INFINITY : logits[i];

  const penalty = opts.repetitionPenalty ?? 1;
  if (penalty !== 1) {
    for (const id of new Set(history)) {
      if (id >= 0 && id < n) x[id] = x[id] > 0 ? x[id] / penalty : x[id] * penalty;
    }
  }

  const p = new Float64Array(n);
  if (opts.temperature === 0) {
    const best = argmax(x, n);
    p[Math.max(best, 0)] = 1;
    return p;
  }
  for (let i = 0; i < n; i++) x[i] /= opts.temperature;

  // Candidates sorted by logit, descending (stable: lower id first on ties).
  let order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => x[b] - x[a] || a - b);
  const k = opts.topK ?? 0;
  if (k > 0 && k < n) order = order.slice(0, k);

  const max = x[order[0]];
  let sum = 0;
  for (const i of order) sum += p[i] = Math.exp(x[i] - max);
  if (!(sum > 0) || !Number.isFinite(sum)) {
    // Every logit -inf (or inf): fall back to the argmax.
    const best = argmax(x, n);
    p.fill(0);
    p[Math.max(best, 0)] = 1;
    return p;
  }
  for (const i of order) p[i] /= sum;

  const topP = opts.topP ?? 1;
  if (topP < 1) {
    let cum = 0;
    let keep = 0;
    while (keep < order.length) {
      cum += p[order[keep++]];
      if (cum >= topP) break;
    }
    for (const i of order.slice(keep)) p[i] = 0;
    order = order.slice(0, keep);
  }

  const minP = opts.minP ?? 0;
  if (minP > 0) {
    const cut = minP * p[order[0]];
    order = order.filter((i) => {
      if (p[i] >= cut) return true;
      p[i] = 0;
      return false;
    });
  }

  let total = 0;
  for (const i of order) total += p[i];
  for (const i of order) p[i] /= total;
  return p;
}

/** Draws the next token id. `history` holds the ids the repetition penalty applies to. */
export function sample(logits: Float32Array, opts: SampleOptions, rng: Rng, history: number[] = []): number {
  const p = filterDistribution(logits, opts, history);
  if (opts.temperature === 0) return p.indexOf(1);
  const r = rng.next();
  let cum = 0;
  let last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    cum += p[i];
    last = i;
    if (r < cum) return i;
  }
  // Rounding left the sum a hair under r: the last candidate.
  return last;
}

/**
 * Next-token sampling on the CPU, the rule both samplers follow, and the CPU twin of
 * shaders/sample.wgsl. Order (as Hugging Face): repetition penalty, temperature, top-k, softmax,
 * top-p, min-p, renormalize, draw with a uniform r in [0, 1): the first id, in increasing id order,
 * where r < cumulative probability. Temperature 0 is argmax (first index on ties). NaN logits count
 * as -inf; ids >= validVocab are never chosen.
 */

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

/** Index of the largest value in [0, n), first on ties (all -inf gives 0); -1 when n is 0. */
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
  history: ArrayLike<number> = [],
): Float64Array {
  const n = Math.min(opts.validVocab, logits.length);
  if (!(n > 0)) throw new RangeError(`validVocab must be >= 1, got ${opts.validVocab}`);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = Number.isNaN(logits[i]) ? Number.NEGATIVE_INFINITY : logits[i];

  const penalty = opts.repetitionPenalty ?? 1;
  if (penalty !== 1) {
    for (const id of new Set(Array.from(history))) {
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

/**
 * The id a uniform r in [0, 1) picks from p: the first id, in increasing order, where r < the
 * cumulative probability; the last candidate when rounding leaves the sum a hair under r.
 */
export function drawFrom(p: Float64Array, r: number): number {
  let cum = 0;
  let last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    cum += p[i];
    last = i;
    if (r < cum) return i;
  }
  return last;
}

/** One step's sampling settings (as `SampleOptions`, less validVocab) and its uniform r in [0, 1). */
export interface SampleStep {
  temperature: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  r: number;
}

export interface SampleKernelOptions {
  /** Entries of the top-N list (0..64); needs the `top` output. Default 0. */
  topN?: number;
  /** Set the chosen id's bit in `seen` (default true). */
  markSeen?: boolean;
}

/** The `seen` bitset of a history: bit i%32 of word i/32 for each id i < V. */
export function seenBits(ids: ArrayLike<number>, V: number): Uint32Array {
  const words = new Uint32Array(Math.ceil(V / 32));
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (id >= 0 && id < V) words[id >>> 5] |= 1 << (id & 31);
  }
  return words;
}

/** NaN as -inf: how both samplers read a logit. */
const clean = (v: number) => (Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v);

/**
 * CPU twin of shaders/sample.wgsl. out[0] = the id drawn from logits[0, V) by `step` (history =
 * the ids set in `seen`), and its bit set in `seen` unless markSeen is false. With topN > 0:
 * out[1..1+topN) = the ids of the topN largest logits of the valid ids (largest first, lower id on
 * ties; 0xffffffff past validVocab), top[1..1+topN) = those logits (NaN as -inf; -inf past),
 * top[0] = log sum_{i < validVocab} exp(logits[i] / T), T = temperature (1 when 0).
 */
export function sample(
  out: Uint32Array,
  top: Float32Array | null,
  seen: Uint32Array,
  logits: Float32Array,
  V: number,
  validVocab: number,
  step: SampleStep,
  opts: SampleKernelOptions = {},
): void {
  const n = Math.min(validVocab, V);
  const history: number[] = [];
  for (let i = 0; i < n; i++) if ((seen[i >>> 5] >>> (i & 31)) & 1) history.push(i);
  const row = logits.subarray(0, V);
  const p = filterDistribution(row, { ...step, validVocab }, history);
  const id = step.temperature === 0 ? p.indexOf(1) : drawFrom(p, step.r);
  out[0] = id;
  if (opts.markSeen ?? true) seen[id >>> 5] |= 1 << (id & 31);

  const topN = opts.topN ?? 0;
  if (!topN) return;
  if (!top) throw new Error('sample: topN > 0 needs the top output');
  const T = step.temperature > 0 ? step.temperature : 1;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) max = Math.max(max, clean(row[i]));
  let sum = 0;
  if (Number.isFinite(max)) for (let i = 0; i < n; i++) sum += Math.exp((clean(row[i]) - max) / T);
  top[0] = Number.isFinite(max) ? max / T + Math.log(sum) : max;
  const ids = Array.from({ length: n }, (_, i) => i);
  ids.sort((a, b) => clean(row[b]) - clean(row[a]) || a - b);
  for (let j = 0; j < topN; j++) {
    out[1 + j] = j < n ? ids[j] : 0xffffffff;
    top[1 + j] = j < n ? clean(row[ids[j]]) : Number.NEGATIVE_INFINITY;
  }
}

/**
 * `inspect`: what the model does with a prompt, captured from the generation's own GPU path
 * (runner.inspect), and its CPU reference (the same forward over CpuOps), both turned into an
 * InspectResult here. Types: src/inspect-types.ts.
 *
 *   T positions   L layers   NH heads   C hidden   V vocabulary
 */
import type { ModelConfig } from '../checkpoint/config';
import { InvalidOptionError } from '../errors';
import type { InspectOptions, InspectResult, LensToken } from '../inspect-types';
import { type CpuKinds, CpuOps, cpuActivations } from './cpu-ops';
import { forward, type Weights } from './forward';
import { checkKnownKeys } from './options';

/** What one inspection pass captured (runner.inspect, or cpuInspectRaw). */
export interface InspectRaw {
  /** [2L + 1, T, C]: the residual stream after the embedding, then per layer after its attention update and after the block. */
  snapshots: Float32Array;
  /** Layer l's attention probabilities [NH, T, T] start at float l * probStride. */
  probs: Float32Array;
  probStride: number;
  /** [L, V]: the last position's logits through each layer's stream. */
  lens: Float32Array;
}

const INSPECT_KEYS = ['attention', 'logitLens', 'residual', 'layers', 'heads', 'topK'] as const;

/** Checks inspect's options against the model; fills the defaults. */
export function validateInspectOptions(o: InspectOptions, cfg: ModelConfig): Required<InspectOptions> {
  if (typeof o !== 'object' || o === null) throw new InvalidOptionError('options', 'must be an object');
  checkKnownKeys(o, INSPECT_KEYS, 'inspect');
  for (const key of ['attention', 'logitLens', 'residual'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean') {
      throw new InvalidOptionError(key, `must be true or false, got ${JSON.stringify(o[key])}`);
    }
  }
  const list = (key: 'layers' | 'heads', n: number): number[] => {
    const v = o[key] ?? Array.from({ length: n }, (_, i) => i);
    if (!Array.isArray(v) || v.length === 0 || v.some((i) => !Number.isInteger(i) || i < 0 || i >= n)) {
      throw new InvalidOptionError(
        key,
        `must be a non-empty list of integers in [0, ${n}), got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const topK = o.topK ?? 5;
  if (!Number.isInteger(topK) || topK < 1) {
    throw new InvalidOptionError('topK', `must be an integer >= 1, got ${JSON.stringify(o.topK)}`);
  }
  return {
    attention: o.attention ?? false,
    logitLens: o.logitLens ?? false,
    residual: o.residual ?? false,
    layers: list('layers', cfg.layers),
    heads: list('heads', cfg.heads),
    topK,
  };
}

function norm(a: Float32Array, at: number, C: number, minus?: Float32Array, minusAt = 0): number {
  let s = 0;
  for (let c = 0; c < C; c++) {
    const v = a[at + c] - (minus ? minus[minusAt + c] : 0);
    s += v * v;
  }
  return Math.sqrt(s);
}

/** The InspectResult of a capture: attention slices, residual norms, logit-lens top tokens. */
export function assembleInspection(
  cfg: ModelConfig,
  ids: number[],
  raw: InspectRaw,
  o: Required<InspectOptions>,
  /** How many leading vocabulary entries are real tokens (the softmax and top-k run over them). */
  validVocab: number,
  text: (id: number) => string,
): InspectResult {
  const { hidden: C, layers: L, vocabSize: V } = cfg;
  const T = ids.length;
  const out: InspectResult = { ids: [...ids], tokens: ids.map(text), layers: o.layers, heads: o.heads };
  if (o.attention) {
    out.attention = o.layers.map((l) =>
      o.heads.map((h) =>
        raw.probs.slice(l * raw.probStride + h * T * T, l * raw.probStride + (h + 1) * T * T),
      ),
    );
  }
  if (o.residual) {
    const S = raw.snapshots;
    const at = (k: number, t: number) => (k * T + t) * C;
    const stream = new Float32Array((L + 1) * T);
    const attention = new Float32Array(L * T);
    const mlp = new Float32Array(L * T);
    for (let t = 0; t < T; t++) {
      stream[t] = norm(S, at(0, t), C);
      for (let l = 0; l < L; l++) {
        const before = l === 0 ? 0 : 2 * l;
        stream[(l + 1) * T + t] = norm(S, at(2 + 2 * l, t), C);
        attention[l * T + t] = norm(S, at(1 + 2 * l, t), C, S, at(before, t));
        mlp[l * T + t] = norm(S, at(2 + 2 * l, t), C, S, at(1 + 2 * l, t));
      }
    }
    out.residual = { stream, attention, mlp };
  }
  if (o.logitLens) {
    const n = Math.min(validVocab, V);
    out.logitLens = Array.from({ length: L }, (_, l) => {
      const row = raw.lens.subarray(l * V, l * V + n);
      let max = Number.NEGATIVE_INFINITY;
      for (const v of row) if (v > max) max = v;
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      const lse = max + Math.log(sum);
      const top: LensToken[] = [];
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => row[b] - row[a] || a - b);
      for (const i of order.slice(0, o.topK)) {
        top.push({ tokenId: i, text: text(i), logit: row[i], probability: Math.exp(row[i] - lse) });
      }
      return top;
    });
  }
  return out;
}

/** The CPU reference of runner.inspect: the same captures from the forward over CpuOps. */
export async function cpuInspectRaw(
  cfg: ModelConfig,
  w: Weights<CpuKinds>,
  ids: number[],
): Promise<InspectRaw> {
  const { hidden: C, layers: L, heads: NH, vocabSize: V } = cfg;
  const T = ids.length;
  const probStride = NH * T * T;
  const probs = new Float32Array(L * probStride);
  const ops = new CpuOps(cfg, T, false, (l) => probs.subarray(l * probStride, (l + 1) * probStride));
  const act = cpuActivations(cfg, T);
  act.ids.set(ids);
  const snapshots = new Float32Array((2 * L + 1) * T * C);
  const lensX = new Float32Array(L * C);
  await forward(ops, cfg, w, act, T, 0, false, async (l, stage) => {
    const k = l < 0 ? 0 : 1 + 2 * l + (stage === 'block' ? 1 : 0);
    snapshots.set(act.x.subarray(0, T * C), k * T * C);
    if (l >= 0 && stage === 'block') lensX.set(act.x.subarray((T - 1) * C, T * C), l * C);
  });
  const lensOps = new CpuOps(cfg, L);
  const h = new Float32Array(L * C);
  const lens = new Float32Array(L * V);
  await lensOps.norm(h, lensX, w.finalNorm, L);
  await lensOps.unembed(lens, h, w.lmHead, L);
  if (cfg.finalSoftcap) await lensOps.softcap(lens, L);
  return { snapshots, probs, probStride, lens };
}

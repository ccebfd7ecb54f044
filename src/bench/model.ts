/**
 * Model-level figures of one model on one adapter, shared by `npm run bench:model`, `npm run bench`
 * and the bench page. The model runs on a GpuRunner of its own Gpu (so the tuner's choices listed
 * are this model's), greedy, and reports:
 *
 * - load: host weights built or read, upload, and choosing + compiling every kernel of the tapes
 *   (tuning, or reading the tuning cache);
 * - prefill tokens/s of the prompt, and the ms of a 4-token prefill (a decode step should never
 *   be slower than that);
 * - decode tokens/s and ms per token (mean and median), dispatches per token;
 * - the share of the bandwidth roofline: a step reads every weight at least once, so
 *   weightBytes / measured bandwidth is the fastest it can be;
 * - where a step's time goes: every dispatch of the decode tape timed on its own
 *   (GpuRunner.profileDecode), summed per op (layers and weight blocks merged);
 * - every kernel choice of the tuner: op, shape, variant, source, candidates' timings.
 */

import { openCheckpoint } from '../checkpoint/checkpoint';
import type { ModelConfig } from '../checkpoint/config';
import type { ModelWeights } from '../checkpoint/weights';
import { Gpu } from '../gpu/gpu';
import { median } from '../gpu/timing';
import type { TuningMode, TuningOptions } from '../gpu/tuning';
import { GpuRunner } from '../model/runner';
import type { ModelSource } from '../types';
import type { KernelChoiceRow, ModelRow, OpTime } from './schema';

export interface ModelBenchOptions {
  name: string;
  dtype: 'f32' | 'f16' | 'q8' | 'q4';
  kvDtype?: 'f32' | 'f16';
  promptTokens: number;
  decodeTokens: number;
  /** KV cache positions (default: prompt + decode + 1); attention kernels are tuned for it. */
  maxContext?: number;
  /** Measured bandwidth, GB/s (bench_copy); null leaves the roofline columns empty. */
  bandwidthGBps: number | null;
  /** Time every dispatch of a decode step (default true). */
  profile?: boolean;
  /** 4-token prefills to time (median); default 3. */
  prefill4Reps?: number;
  /** The model's Gpu's tuning: mode 'auto' (cache, then tune), 'retune' or 'off'; store, log. */
  tuning?: TuningOptions;
  /** ms spent building or reading the host weights, reported as load.buildMs. */
  buildMs?: number | null;
  /** Progress lines ('uploading', 'prefill'...). */
  onStatus?: (what: string) => void;
}

/** Opens a checkpoint's config and weights as stored (the host half of loadModel). */
export async function loadHostModel(
  source: ModelSource,
): Promise<{ cfg: ModelConfig; w: ModelWeights; buildMs: number }> {
  const t = performance.now();
  const ckpt = await openCheckpoint(source);
  return { cfg: ckpt.config, w: ckpt.weights, buildMs: performance.now() - t };
}

/** The op of a decode-tape key, with layer numbers and weight-block starts left out. */
export function opOfKey(key: string): string {
  return key
    .replace(/\b(model|transformer)\./g, '')
    .replace(/\.weight\b/g, '')
    .replace(/\b(layers|h)\.\d+\./g, '')
    .replace(/ \+ (?:\w+\.)*/g, '+')
    .replace(/ \d+( \+=)?$/, '$1');
}

/** A pipeline variant (the JSON of its defines and constants) in short: 'GEMV VEC4 BIAS wg64 r2'. */
export function variantLabel(variant: string): string {
  try {
    const v = JSON.parse(variant) as Record<string, unknown>;
    const on = Object.entries(v)
      .filter(([, x]) => x === true)
      .map(([k]) => k);
    const nums = Object.entries(v)
      .filter(([, x]) => typeof x === 'number')
      .map(([k, x]) => `${k.toLowerCase()}${x}`);
    return [...on, ...nums].join(' ') || '-';
  } catch {
    return variant;
  }
}

/**
 * Per-dispatch times summed per op, largest first, with each op's share of their sum. The profile
 * may also time the token choice this step does not use (the sampler beside the greedy argmax):
 * that goes to `others`, outside the step.
 */
export function opTimes(
  profile: { key: string; kernel: string; variant: string; ms: number }[],
  greedy = true,
): { stepMs: number; ops: OpTime[]; others: OpTime[] } {
  const unused = greedy && profile.some((p) => p.kernel === 'argmax') ? 'sample' : 'argmax';
  const sum = (entries: typeof profile) => {
    const byOp = new Map<string, OpTime>();
    for (const p of entries) {
      const op = opOfKey(p.key);
      let t = byOp.get(op);
      if (!t) {
        t = { op, kernel: p.kernel, variants: [], dispatches: 0, ms: 0, share: 0 };
        byOp.set(op, t);
      }
      const v = `${p.kernel !== t.kernel ? `${p.kernel} ` : ''}${variantLabel(p.variant)}`;
      if (!t.variants.includes(v)) t.variants.push(v);
      t.dispatches++;
      t.ms += p.ms;
    }
    return [...byOp.values()].sort((a, b) => b.ms - a.ms);
  };
  const step = profile.filter((p) => p.kernel !== unused);
  const stepMs = step.reduce((s, p) => s + p.ms, 0);
  const ops = sum(step);
  const others = sum(profile.filter((p) => p.kernel === unused));
  for (const t of [...ops, ...others]) t.share = stepMs > 0 ? t.ms / stepMs : 0;
  return { stepMs, ops, others };
}

/** Uploads the model to a Gpu of its own, measures it, and frees it. */
export async function benchModel(cfg: ModelConfig, w: ModelWeights, o: ModelBenchOptions): Promise<ModelRow> {
  const status = o.onStatus ?? (() => {});
  const V = cfg.vocabSize;
  const promptTokens = Math.max(4, o.promptTokens);
  const decodeTokens = Math.max(1, o.decodeTokens);
  const maxContext = Math.min(cfg.maxContext, Math.max(o.maxContext ?? 0, promptTokens + decodeTokens + 1));
  if (promptTokens + decodeTokens + 1 > maxContext) {
    throw new Error(
      `${o.name}: ${promptTokens} + ${decodeTokens} tokens exceed its context of ${maxContext}`,
    );
  }
  const tuningMode: TuningMode = o.tuning?.mode ?? 'auto';
  const gpu = await Gpu.create({ tuning: o.tuning });
  let runner: GpuRunner | undefined;
  try {
    status('uploading');
    const t0 = performance.now();
    let uploaded = t0;
    runner = await GpuRunner.create(gpu, cfg, w, {
      dtype: o.dtype,
      kvDtype: o.kvDtype,
      maxContext,
      validVocab: V,
      onUpload: () => {
        uploaded = performance.now();
      },
    });
    const loaded = performance.now();
    const choices = await gpu.tuning.choices();
    const ids = Array.from({ length: promptTokens }, (_, i) => (i * 7919 + 11) % V);

    status('warm-up');
    await runner.prefill(ids.slice(0, 4), true); // every pipeline of both tapes has run once
    await runner.step(1, 4, true);

    status('prefill of 4 tokens');
    const p4: number[] = [];
    for (let i = 0; i < Math.max(1, o.prefill4Reps ?? 3); i++) {
      const t = performance.now();
      await runner.prefill(ids.slice(0, 4), true);
      p4.push(performance.now() - t);
    }

    status(`prefill of ${promptTokens} tokens`);
    let t = performance.now();
    let next = (await runner.prefill(ids, true)) as number;
    const prefillMs = performance.now() - t;

    status(`decode of ${decodeTokens} tokens`);
    const steps: number[] = [];
    for (let i = 0; i < decodeTokens; i++) {
      t = performance.now();
      next = (await runner.step(next, promptTokens + i, true)) as number;
      steps.push(performance.now() - t);
    }
    const decodeMs = steps.reduce((a, b) => a + b, 0);
    const msPerToken = decodeMs / decodeTokens;

    let profile: ModelRow['profile'] = null;
    if (o.profile ?? true) {
      status('profiling a decode step');
      const pos = promptTokens + decodeTokens;
      profile = { position: pos, ...opTimes(await runner.profileDecode(pos)) };
    }

    const roofline = o.bandwidthGBps ? runner.weightBytes / (o.bandwidthGBps * 1e6) : null;
    const kernelChoices: KernelChoiceRow[] = choices.map((c) => ({
      op: c.op,
      shape: c.shape,
      name: c.name,
      source: c.source,
      ms: c.ms,
      candidates: c.candidates.map((r) => ({
        name: r.name,
        status: r.status,
        ms: r.ms,
        note: r.note ?? '',
      })),
    }));
    return {
      model: o.name,
      dtype: o.dtype,
      kvDtype: o.kvDtype ?? 'f32',
      arch: cfg.arch,
      dims: {
        L: cfg.layers,
        C: cfg.hidden,
        NH: cfg.heads,
        NKV: cfg.kvHeads,
        HS: cfg.headDim,
        F: cfg.ffn,
        V: cfg.vocabSize,
      },
      maxContext,
      weightBytes: runner.weightBytes,
      load: {
        buildMs: o.buildMs ?? null,
        uploadMs: uploaded - t0,
        kernelsMs: loaded - uploaded,
      },
      promptTokens,
      decodeTokens,
      prefillTokensPerSecond: promptTokens / (prefillMs / 1000),
      prefill4Ms: median(p4),
      decodeTokensPerSecond: decodeTokens / (decodeMs / 1000),
      msPerToken,
      medianMsPerToken: median(steps),
      dispatchesPerToken: runner.decodeDispatchCount(),
      rooflineMsPerToken: roofline,
      shareOfRoofline: roofline === null ? null : roofline / msPerToken,
      profile,
      tuningMode,
      kernelChoices,
    };
  } finally {
    runner?.destroy();
    gpu.destroy();
  }
}

/**
 * Model-level figures from a loaded Model: prefill and decode tokens/s from generate()'s summary,
 * ms per token, and the share of the memory-bandwidth roofline (a decode step reads every weight
 * at least once, so weightBytes / bandwidth is the fastest it can be).
 */
import type { Model } from '../model/model';
import type { GenerateSummary } from '../types';
import type { ModelRow } from './schema';

export interface ModelBenchOptions {
  name: string;
  dtype: 'f32' | 'f16';
  promptTokens: number;
  decodeTokens: number;
  /** Measured bandwidth, GB/s (bench_copy); null leaves the roofline columns empty. */
  bandwidthGBps: number | null;
}

async function summaryOf(model: Model, ids: number[], maxNewTokens: number): Promise<GenerateSummary> {
  for await (const e of model.generate({ ids }, { maxNewTokens, temperature: 0 })) {
    if ('done' in e) return e;
  }
  throw new Error('generate() ended without a summary');
}

export async function benchModel(model: Model, o: ModelBenchOptions): Promise<ModelRow> {
  const V = model.config.vocabSize;
  const room = model.maxContext - 1;
  const promptTokens = Math.max(1, Math.min(o.promptTokens, room - 1));
  const ids = Array.from({ length: promptTokens }, (_, i) => (i * 7919 + 11) % V);
  await summaryOf(model, ids.slice(0, 2), 2); // warm-up: builds the pipelines of both paths
  const s = await summaryOf(model, ids, Math.max(1, Math.min(o.decodeTokens, room - promptTokens)));
  const msPerToken = s.decodeTokensPerSecond > 0 ? 1000 / s.decodeTokensPerSecond : 0;
  const roofline = o.bandwidthGBps ? model.weightBytes / (o.bandwidthGBps * 1e6) : null;
  return {
    model: o.name,
    dtype: o.dtype,
    weightBytes: model.weightBytes,
    promptTokens: s.promptTokens,
    decodeTokens: s.generatedTokens,
    prefillTokensPerSecond: s.prefillTokensPerSecond,
    decodeTokensPerSecond: s.decodeTokensPerSecond,
    msPerToken,
    rooflineMsPerToken: roofline,
    shareOfRoofline: roofline !== null && msPerToken > 0 ? roofline / msPerToken : null,
  };
}

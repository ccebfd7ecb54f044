/**
 * What a model will allocate on the GPU, computed before any upload, and the check against the
 * device's limits: weights (as the uploader will store them), the KV cache, and the activations of
 * the largest prefill chunk. WebGPU reports no memory size, so the total is checked against the
 * caller's `memoryLimit` when given; per-buffer limits are always checked.
 */
import type { ModelConfig } from '../checkpoint/config';
import type { ModelWeights } from '../checkpoint/weights';
import { GpuOutOfMemoryError } from '../errors';
import type { Dtype } from '../formats/convert';
import { uploadBytes } from './gpu-weights';

/** Positions a prefill pass takes at most (the runner's default chunk). */
export const PREFILL_CHUNK = 128;

export interface MemoryPlan {
  weights: number;
  kvCache: number;
  activations: number;
  total: number;
  /** The largest single buffer the KV cache and activations need (a layer's K or V cache, or the logits). */
  largestBuffer: { bytes: number; what: string };
}

export function memoryPlan(
  cfg: ModelConfig,
  w: ModelWeights,
  dtype: Dtype | undefined,
  kvF16: boolean,
  maxContext: number,
): MemoryPlan {
  const { hidden: C, heads: NH, kvHeads: NKV, headDim: HS, ffn: F, vocabSize: V, layers: L } = cfg;
  const T = Math.min(PREFILL_CHUNK, maxContext);
  const kvRow = (kvF16 ? Math.ceil((NKV * HS) / 2) : NKV * HS) * 4;
  const kvLayer = maxContext * kvRow;
  const logits = T * V * 4;
  const activations = 4 * (T * (4 * C + (NH + 2 * NKV) * HS + NH * HS + 3 * F) + C) + logits;
  const weights = uploadBytes(w, dtype);
  const kvCache = 2 * L * kvLayer;
  const largestBuffer =
    kvLayer >= logits
      ? { bytes: kvLayer, what: `the K (and V) cache of a layer (${maxContext} positions)` }
      : { bytes: logits, what: `the logits of a ${T}-position prefill chunk` };
  return { weights, kvCache, activations, total: weights + kvCache + activations, largestBuffer };
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** Why `plan` cannot be allocated on a device with `limits` within `memoryLimit`, or undefined. */
export function memoryProblem(
  plan: MemoryPlan,
  limits: Pick<GPUSupportedLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>,
  memoryLimit?: number,
): string | undefined {
  const perBuffer = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  if (plan.largestBuffer.bytes > perBuffer) {
    return `${plan.largestBuffer.what} needs ${plan.largestBuffer.bytes} bytes (${mb(plan.largestBuffer.bytes)}) in one buffer; the device allows ${perBuffer} (${mb(perBuffer)})`;
  }
  if (memoryLimit !== undefined && plan.total > memoryLimit) {
    return `the model needs ${plan.total} bytes (${mb(plan.total)}: weights ${mb(plan.weights)}, KV cache ${mb(plan.kvCache)}, activations ${mb(plan.activations)}); memoryLimit allows ${memoryLimit} (${mb(memoryLimit)})`;
  }
  return undefined;
}

/**
 * The context to allocate: `maxContext` when it fits; with `fit`, the largest context that fits
 * (at least 1); otherwise a GpuOutOfMemoryError stating needed and available bytes.
 */
export function fitMemory(
  cfg: ModelConfig,
  w: ModelWeights,
  dtype: Dtype | undefined,
  kvF16: boolean,
  maxContext: number,
  limits: Pick<GPUSupportedLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>,
  memoryLimit: number | undefined,
  fit: boolean,
): number {
  const problem = (ctx: number) => memoryProblem(memoryPlan(cfg, w, dtype, kvF16, ctx), limits, memoryLimit);
  const first = problem(maxContext);
  if (!first) return maxContext;
  if (fit) {
    // The needs grow with the context: the largest fitting one by bisection.
    let lo = 0;
    let hi = maxContext;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (problem(mid)) hi = mid - 1;
      else lo = mid;
    }
    if (lo >= 1) return lo;
  }
  throw new GpuOutOfMemoryError(
    `${first}${fit ? '; no context length fits' : '; pass fitContext: true to lower the context until it fits'}`,
  );
}

/** GPU wrapper of shaders/sample.wgsl; CPU twin src/cpu/sample.ts. */
import { type SampleKernelOptions, type SampleStep, seenBits } from '../cpu/sample';
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { Dispatch } from './dispatch';

export type { SampleKernelOptions, SampleStep };

export interface SampleGpuOptions extends SampleKernelOptions {
  /**
   * Invocations of the one workgroup (a multiple of 16). Default 256, and 64 on a software adapter,
   * where every barrier switches between all the invocation groups (SwiftShader: 4 lanes each).
   */
  workgroupSize?: number;
}

/** Workgroup memory of the shader besides its four WG-sized arrays: counters and state. */
const FIXED_WORKGROUP_BYTES = 128;
/**
 * The shader's Scratch struct (binding 5): two histogram sets of 256 counts and 256 64-bit masses,
 * 1024 candidate ids, 64 top-N ids. In storage rather than workgroup memory, which SwiftShader
 * compiles slowly (shaders/sample.wgsl, "Compile time").
 */
const SCRATCH_BYTES = (2 * 3 * 256 + 1024 + 64) * 4;
/** The most entries the top-N list holds. */
export const MAX_TOP_N = 64;
/** Ids travel in 24 bits of the rank key. */
const MAX_V = 2 ** 24 - 1;
/** minP = 0 (off) as log(minP): below every z, and finite for the uniform. */
const LOG_MIN_P_OFF = -3.4e38;
/** The largest f32 below 1: r must stay < 1 after rounding to f32. */
const R_MAX = 1 - 2 ** -24;

/** Words of the `seen` bitset for a vocabulary of V. */
export const seenWords = (V: number): number => Math.ceil(V / 32);

/**
 * Sets the `seen` bitset (the ids the repetition penalty applies to) to exactly `ids`, e.g. the
 * prompt at prefill: one queue write of ceil(V/32) words, ordered before the next submit. The
 * sampler then adds each id it picks.
 */
export function writeSeen(gpu: Gpu, seen: BufferRef, ids: ArrayLike<number>, V: number): void {
  const s = sliceOf(seen);
  if (s.size < seenWords(V) * 4)
    throw new Error(`sample: seen holds fewer than ceil(V/32) = ${seenWords(V)} u32s`);
  gpu.write(s.buffer, seenBits(ids, V), s.offset);
}

function checkStep(step: SampleStep): void {
  const { temperature: t, topK = 0, topP = 1, minP = 0, repetitionPenalty: rp = 1, r } = step;
  const bad = (what: string, v: unknown) => {
    throw new Error(`sample: ${what}, got ${v}`);
  };
  if (!(t >= 0) || !Number.isFinite(t)) bad('temperature must be a finite number >= 0', t);
  if (!Number.isInteger(topK) || topK < 0) bad('topK must be an integer >= 0', topK);
  if (!(topP > 0 && topP <= 1)) bad('topP must be in (0, 1]', topP);
  if (!(minP >= 0 && minP <= 1)) bad('minP must be in [0, 1]', minP);
  if (!(rp > 0) || !Number.isFinite(rp)) bad('repetitionPenalty must be a finite number > 0', rp);
  if (!(r >= 0 && r < 1)) bad('r must be in [0, 1)', r);
}

/**
 * Draws the next token id from one logits row on the GPU, by the rule of the CPU sampler
 * (src/cpu/sample.ts): the same r and settings give the same id, except where float rounding puts
 * r on a boundary. One workgroup; no sort (radix select for top-k/top-p, chunk sums for the draw).
 * Each dispatch gets its own 10 KiB scratch buffer (histograms and candidate ids).
 *
 * - `out` (u32): out[0] = the chosen id; with topN, out[1..1+topN) the top-N ids.
 * - `top` (f32, only with topN > 0, else null): top[0] = log-sum-exp of the valid logits at the
 *   temperature (1 when greedy), top[1..1+topN) the top-N raw logits, largest first, so
 *   p(id) = exp(logit / T - top[0]).
 * - `seen` (u32 bits over V, read and written): the ids the repetition penalty applies to. Set it
 *   from the prompt with `writeSeen`; the kernel adds the id it picks (unless markSeen is false).
 * - `logits`: one row of V floats (bind it at its offset); ids >= validVocab are never chosen.
 *
 * Per step: `update({ temperature, topK, topP, minP, repetitionPenalty, r })` rewrites only the
 * uniform (r = the seeded Rng's next value, drawn only when temperature > 0, as the CPU sampler
 * does, so a seed gives the same tokens on either); encode the dispatch after the logits in the
 * same submission; copy out (and top) to a mapped buffer and read 4 bytes (or 8 + 8*topN).
 */
export async function sample(
  gpu: Gpu,
  out: BufferRef,
  top: BufferRef | null,
  seen: BufferRef,
  logits: BufferRef,
  V: number,
  validVocab: number,
  step: SampleStep,
  opts: SampleGpuOptions = {},
): Promise<Dispatch<SampleStep>> {
  const { topN = 0, markSeen = true } = opts;
  const WG = opts.workgroupSize ?? (gpu.adapter.isSoftware ? 64 : 256);
  const maxWG = Math.min(
    gpu.limits.maxComputeInvocationsPerWorkgroup,
    gpu.limits.maxComputeWorkgroupSizeX,
    Math.floor((gpu.limits.maxComputeWorkgroupStorageSize - FIXED_WORKGROUP_BYTES) / 16),
  );
  if (!Number.isInteger(WG) || WG < 16 || WG % 16 || WG > maxWG) {
    throw new Error(
      `sample: workgroupSize must be a multiple of 16 in [16, ${maxWG}] on this device, got ${WG}`,
    );
  }
  if (!Number.isInteger(V) || V < 1 || V > MAX_V)
    throw new Error(`sample: V must be in [1, ${MAX_V}], got ${V}`);
  if (!Number.isInteger(validVocab) || validVocab < 1) {
    throw new Error(`sample: validVocab must be an integer >= 1, got ${validVocab}`);
  }
  if (!Number.isInteger(topN) || topN < 0 || topN > MAX_TOP_N) {
    throw new Error(`sample: topN must be an integer in [0, ${MAX_TOP_N}], got ${topN}`);
  }
  if (topN > 0 !== (top !== null))
    throw new Error('sample: the top output goes with topN > 0, and only then');
  if (sliceOf(logits).size < V * 4) throw new Error(`sample: logits holds fewer than V = ${V} floats`);
  if (sliceOf(seen).size < seenWords(V) * 4) {
    throw new Error(`sample: seen holds fewer than ceil(V/32) = ${seenWords(V)} u32s`);
  }
  if (sliceOf(out).size < (1 + topN) * 4)
    throw new Error(`sample: out holds fewer than 1 + topN = ${1 + topN} u32s`);
  if (top && sliceOf(top).size < (1 + topN) * 4) {
    throw new Error(`sample: top holds fewer than 1 + topN = ${1 + topN} floats`);
  }
  checkStep(step);
  const n = Math.min(validVocab, V);
  const p = await gpu.pipeline('sample', { TOP_N: topN > 0 }, { WG });
  const scratch = await gpu.createBuffer('sample scratch', SCRATCH_BYTES);
  return Dispatch.create(
    gpu,
    p,
    { 1: out, 2: top ?? undefined, 3: seen, 4: logits, 5: scratch },
    (d, s) => {
      checkStep(s);
      const { topK = 0, topP = 1, minP = 0, repetitionPenalty = 1 } = s;
      d.set({
        n,
        temperature: s.temperature,
        topK: topK < n ? topK : 0,
        topP,
        logMinP: minP > 0 ? Math.log(minP) : LOG_MIN_P_OFF,
        penalty: repetitionPenalty,
        r: Math.min(s.r, R_MAX),
        mark: markSeen ? 1 : 0,
        topN,
      });
      d.grid(1);
    },
    step,
  );
}

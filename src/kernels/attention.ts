/**
 * GPU wrapper of shaders/attention.wgsl (split: with shaders/attention_merge.wgsl); CPU twin
 * src/cpu/attention.ts.
 */
import type { AttentionOptions } from '../cpu/attention';
import { InvalidOptionError } from '../errors';
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { attention_merge } from './attention_merge';
import { ceilDiv, Dispatch, DispatchChain, grid1d } from './dispatch';

export type { AttentionOptions } from '../cpu/attention';

const MAX_HS = 256;
/** Head dimensions one invocation of the subgroup kernel holds (MAX_SG_DIMS in the shader). */
const MAX_SG_DIMS = 64;
/** Dimensions one invocation of the online kernel holds (ACC in the shader). */
const ONLINE_ACC = 8;

/**
 * One configuration of the attention kernel, as a tuner times it and a user forces it by name
 * (`attentionKernelName` / `parseAttentionKernel`).
 */
export interface AttentionKernel {
  /**
   * 'online': a workgroup scores WG keys at a time through workgroup memory (two barriers per WG
   * keys). 'subgroup': one subgroup per (row, head), scores summed with subgroupAdd, no barriers;
   * needs the `subgroups` feature and WG <= the subgroup size.
   */
  method: 'online' | 'subgroup';
  /** Invocations per workgroup. */
  wg: number;
  /**
   * Flash-decoding: each (row, head, chunk of `chunk` keys) is its own workgroup, and a second
   * dispatch merges the chunks. Absent: one workgroup walks all of a row's keys.
   */
  chunk?: number;
}

/** What `attention` runs when no kernel is given: the online kernel, 64 invocations, no split. */
export const DEFAULT_ATTENTION_KERNEL: AttentionKernel = { method: 'online', wg: 64 };

/**
 * A stable name for a kernel configuration: 'online.wg64', 'split.c256.wg64' (online, split),
 * 'subgroup.wg32', 'subgroup.split.c256.wg32'.
 */
export function attentionKernelName(k: AttentionKernel): string {
  const split = k.chunk === undefined ? '' : `split.c${k.chunk}.`;
  if (k.method === 'subgroup') return `subgroup.${split}wg${k.wg}`;
  return `${split || 'online.'}wg${k.wg}`;
}

const NAME = /^(?:(online)|(subgroup)(?:\.split\.c(\d+))?|split\.c(\d+))\.wg(\d+)$/;

/** The configuration an `attentionKernelName` names; throws InvalidOptionError for any other string. */
export function parseAttentionKernel(name: string): AttentionKernel {
  const m = NAME.exec(name);
  if (!m) {
    throw new InvalidOptionError(
      'attentionKernel',
      `'${name}' is not an attention kernel name (online.wg64, split.c256.wg64, subgroup.wg32, subgroup.split.c256.wg32)`,
    );
  }
  const chunk = m[3] ?? m[4];
  const k: AttentionKernel = { method: m[2] ? 'subgroup' : 'online', wg: Number(m[5]) };
  if (chunk !== undefined) k.chunk = Number(chunk);
  return k;
}

/** The subgroup size every subgroup of this device has at least (4 when the device does not say). */
function minSubgroupSize(gpu: Gpu): number {
  const info = (gpu.device as { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo;
  return info?.subgroupMinSize || 4;
}

/** Why `k` cannot run for head size HS on this device, or undefined when it can. */
export function attentionKernelProblem(gpu: Gpu, k: AttentionKernel, HS: number): string | undefined {
  const maxWg = gpu.limits.maxComputeInvocationsPerWorkgroup;
  if (!(Number.isInteger(k.wg) && k.wg >= 1 && k.wg <= maxWg))
    return `wg must be in 1..${maxWg}, got ${k.wg}`;
  if (k.chunk !== undefined && !(Number.isInteger(k.chunk) && k.chunk >= 1)) {
    return `chunk must be an integer >= 1, got ${k.chunk}`;
  }
  if (k.method === 'online') {
    if (ceilDiv(HS, k.wg) > ONLINE_ACC)
      return `online needs wg >= HS / ${ONLINE_ACC} = ${ceilDiv(HS, ONLINE_ACC)}`;
    return undefined;
  }
  if (k.method !== 'subgroup') return `unknown method '${k.method}'`;
  if (!gpu.features.subgroups) return "subgroup needs the device feature 'subgroups'";
  const sg = minSubgroupSize(gpu);
  if (k.wg > sg) return `subgroup needs wg <= the subgroup size ${sg}, got ${k.wg}`;
  if (ceilDiv(HS, k.wg) > MAX_SG_DIMS) return `subgroup needs wg >= HS / ${MAX_SG_DIMS}`;
  return undefined;
}

/**
 * The configurations worth timing for one shape on this device: the online kernel at a few
 * workgroup sizes, and, when it can run, the barrier-free subgroup kernel; for decode-like blocks
 * (T <= 4) with a context longer than a chunk, both split over a few chunk sizes. `ctx` is the
 * longest context the dispatch will see (maxCtx). The first one is the default.
 */
export function attentionCandidates(
  gpu: Gpu,
  dims: { T: number; HS: number; ctx: number },
): AttentionKernel[] {
  const out: AttentionKernel[] = [DEFAULT_ATTENTION_KERNEL];
  for (const wg of [32, 128]) out.push({ method: 'online', wg });
  const sg = minSubgroupSize(gpu);
  out.push({ method: 'subgroup', wg: sg });
  if (dims.T <= 4) {
    for (const chunk of [64, 256, 1024]) {
      if (chunk >= dims.ctx) continue;
      out.push({ method: 'online', wg: 64, chunk });
      out.push({ method: 'subgroup', wg: sg, chunk });
    }
  }
  return out.filter((k) => attentionKernelProblem(gpu, k, dims.HS) === undefined);
}

export interface GpuAttentionOptions extends Omit<AttentionOptions, 'probs'> {
  /** The kernel configuration (default DEFAULT_ATTENTION_KERNEL); see attentionCandidates. */
  kernel?: AttentionKernel;
  /** Also write the probabilities [NH, T, T] here (a kernel without split, pos 0 only). */
  probs?: BufferRef;
}

/**
 * Causal grouped-query attention of q (rows at positions pos .. pos + T - 1, `qStride` floats
 * apart, default NH * HS) over the caches (after kv_append; [maxCtx, NKV * HS] f32, or packed
 * halves under `f16Cache`), into out[T, NH * HS]. `update({ T, pos })` retargets it to the next
 * block (prefill) or token (decode), up to the T it was created with. A split kernel returns a
 * DispatchChain (chunks, then their merge) that owns its partials buffer, sized for T rows at maxCtx.
 */
export async function attention(
  gpu: Gpu,
  out: BufferRef,
  q: BufferRef,
  kCache: BufferRef,
  vCache: BufferRef,
  T: number,
  NH: number,
  NKV: number,
  HS: number,
  opts: GpuAttentionOptions,
): Promise<Dispatch<{ T: number; pos: number }> | DispatchChain<{ T: number; pos: number }>> {
  if (!(HS >= 1 && HS <= MAX_HS)) throw new Error(`attention: HS must be in 1..${MAX_HS}, got ${HS}`);
  if (!(NKV >= 1 && NH >= NKV && NH % NKV === 0)) {
    throw new Error(`attention: NKV=${NKV} must divide NH=${NH}`);
  }
  const scale = opts.scale ?? 1 / Math.sqrt(HS);
  if (!Number.isFinite(scale)) throw new Error(`attention: scale must be finite, got ${scale}`);
  const qStride = opts.qStride ?? NH * HS;
  if (!(Number.isInteger(qStride) && qStride >= NH * HS)) {
    throw new Error(`attention: qStride must be an integer >= NH * HS = ${NH * HS}, got ${qStride}`);
  }
  const softcap = opts.softcap ?? 0;
  if (!(Number.isFinite(softcap) && softcap >= 0))
    throw new Error(`attention: softcap must be >= 0, got ${softcap}`);
  const window = opts.window ?? 0;
  if (!(Number.isInteger(window) && window >= 0)) {
    throw new Error(`attention: window must be an integer >= 0, got ${window}`);
  }
  const k = opts.kernel ?? DEFAULT_ATTENTION_KERNEL;
  const problem = attentionKernelProblem(gpu, k, HS);
  if (problem) throw new InvalidOptionError('attentionKernel', `${attentionKernelName(k)}: ${problem}`);
  const f16 = opts.f16Cache ?? false;
  const rowWords = f16 ? Math.ceil((NKV * HS) / 2) : NKV * HS;
  const maxCtx = Math.floor(Math.min(sliceOf(kCache).size, sliceOf(vCache).size) / (4 * rowWords));
  const qRows = Math.floor((Math.floor(sliceOf(q).size / 4) - NH * HS) / qStride) + 1;

  const subgroup = k.method === 'subgroup';
  const probs = opts.probs;
  if (probs && k.chunk !== undefined) {
    throw new Error(`attention: probabilities need a kernel without split, got ${attentionKernelName(k)}`);
  }
  const probFloats = probs ? Math.floor(sliceOf(probs).size / 4) : 0;
  const defines = { F16: f16, SPLIT: k.chunk !== undefined, SUBGROUP: subgroup, PROBS: !!probs };
  const constants: Record<string, number> = subgroup
    ? { WG: k.wg, SG_DIMS: ceilDiv(HS, k.wg) }
    : { WG: k.wg };
  const p = await gpu.pipeline('attention', defines, constants);
  const chunk = k.chunk ?? 0;
  const check = (dims: { T: number; pos: number }) => {
    if (!(dims.pos >= 0) || dims.pos + dims.T > maxCtx) {
      throw new Error(
        `attention: positions ${dims.pos}..${dims.pos + dims.T - 1} exceed the cache of ${maxCtx}`,
      );
    }
    if (dims.T > qRows) throw new Error(`attention: T=${dims.T} rows exceed q's ${qRows}`);
  };
  if (!chunk) {
    return Dispatch.create(
      gpu,
      p,
      { 1: out, 2: q, 3: kCache, 4: vCache, 5: probs },
      (d, dims) => {
        check(dims);
        if (probs && (dims.pos !== 0 || NH * dims.T * dims.T > probFloats)) {
          throw new Error(`attention: probabilities need pos 0 and NH * T * T <= ${probFloats} floats`);
        }
        d.set({
          T: dims.T,
          NH,
          NKV,
          HS,
          pos: dims.pos,
          scale,
          qStride,
          chunk: 0,
          chunks: 0,
          softcap,
          window,
        });
        grid1d(d, dims.T * NH);
      },
      { T, pos: opts.pos },
    );
  }

  // Flash-decoding: partials [T * NH, chunks, HS + 2] for up to ceil(maxCtx / chunk) chunks.
  const partialBytes = T * NH * ceilDiv(maxCtx, chunk) * (HS + 2) * 4;
  if (partialBytes > gpu.limits.maxStorageBufferBindingSize) {
    throw new InvalidOptionError(
      'attentionKernel',
      `${attentionKernelName(k)}: partials of ${partialBytes} bytes for T=${T} at maxCtx=${maxCtx} exceed maxStorageBufferBindingSize (${gpu.limits.maxStorageBufferBindingSize}); use a larger chunk or a smaller T`,
    );
  }
  const partials = await gpu.createBuffer('attention partials', partialBytes);
  let chunks: Dispatch<{ T: number; pos: number }> | undefined;
  try {
    chunks = await Dispatch.create(
      gpu,
      p,
      { 1: partials, 2: q, 3: kCache, 4: vCache },
      (d, dims: { T: number; pos: number }) => {
        check(dims);
        if (dims.T > T) throw new Error(`attention: T=${dims.T} exceeds the T=${T} it was created with`);
        const n = ceilDiv(dims.pos + dims.T, chunk);
        d.set({ T: dims.T, NH, NKV, HS, pos: dims.pos, scale, qStride, chunk, chunks: n, softcap, window });
        grid1d(d, dims.T * NH * n);
      },
      { T, pos: opts.pos },
    );
    const merge = await attention_merge(gpu, out, partials, T, NH, HS, { pos: opts.pos, chunk, window });
    return new DispatchChain([chunks, merge], [partials]);
  } catch (e) {
    chunks?.destroy();
    partials.destroy();
    throw e;
  }
}

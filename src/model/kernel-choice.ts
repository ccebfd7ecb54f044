/**
 * The ops whose kernel is chosen per adapter (src/gpu/tuning.ts), and for each the trial the tuner
 * runs: the candidates for one shape, a check of a candidate against the CPU twin on synthetic
 * inputs of that shape, and a build on the op's real buffers for timing.
 */
import { attention as attentionCpu } from '../cpu/attention';
import { type MatmulOptions, matmul as matmulCpu } from '../cpu/matmul';
import { packF16 } from '../formats/f16';
import { isQuant } from '../formats/formats';
import { randomBlocks } from '../formats/quant';
import {
  type CheckData,
  type Host,
  randomF16Words,
  resetOutputs,
  runAndCompare,
  type Uploaded,
  uniform,
  uploadCheckData,
} from '../gpu/check';
import type { BufferRef, Gpu } from '../gpu/gpu';
import type { Trial } from '../gpu/tuning';
import {
  type AttentionKernel,
  attention,
  attentionCandidates,
  attentionKernelName,
  DEFAULT_ATTENTION_KERNEL,
  parseAttentionKernel,
} from '../kernels/attention';
import type { AnyDispatch } from '../kernels/dispatch';
import {
  defaultMatmulKernel,
  type MatmulKernel,
  matmul,
  matmulCandidates,
  matmulKernelName,
  parseMatmulKernelName,
} from '../kernels/matmul';

/**
 * Ops with tuned kernels, and for each the canonical name of a user-given variant name (constants
 * left out take their defaults: 'gemv.r4' is 'gemv.wg64.r4'), or null when it names no variant.
 */
export const TUNED_OPS: Record<string, (name: string) => string | null> = {
  matmul: (name) => {
    const k = parseMatmulKernelName(name);
    return k && matmulKernelName(k);
  },
  attention: (name) => {
    try {
      return attentionKernelName(parseAttentionKernel(name));
    } catch {
      return null;
    }
  },
  layernorm: (name) => wgName(parseWg(name)),
  rmsnorm: (name) => wgName(parseWg(name)),
  argmax: (name) => wgName(parseWg(name)),
  row_norm: (name) => wgName(parseWg(name)),
};

/** Kernels for prefill blocks are timed on this many rows (a whole chunk takes too long on slow adapters). */
export const TIMED_ROWS = 16;

export interface MatmulShape extends MatmulOptions {
  M: number;
  K: number;
  N: number;
  bias: boolean;
}

/** The tuner's key of a matmul shape: every fact a kernel's speed or validity depends on. */
export function matmulShapeKey(s: MatmulShape): string {
  const format = s.format === 'f32' ? '' : ` ${s.format}`;
  return `M${s.M} K${s.K} N${s.N} ${s.wLayout}${format}${s.bias ? ' +b' : ''}${s.accumulate ? ' +=' : ''}`;
}

/** Rows and outputs a check computes on the CPU: the real K; N and M capped, their remainders kept. */
function checkDims(s: MatmulShape): { M: number; N: number } {
  const M = s.M > 9 ? 8 + (s.M % 4) + 1 : s.M;
  const N = s.N > 8192 ? 8192 + (s.N % 64) : s.N;
  return { M, N };
}

/**
 * The tuner's trial of one matmul: `real` builds a candidate on the op's own buffers (for timing,
 * at up to TIMED_ROWS rows).
 */
export function matmulTrial(
  gpu: Gpu,
  s: MatmulShape,
  real: (kernel: MatmulKernel) => Promise<AnyDispatch & { update(d: { M: number }): unknown }>,
): Trial {
  const kernels = matmulCandidates(gpu.features, s);
  const byName = new Map(kernels.map((k) => [matmulKernelName(k), k]));
  const { M, N } = checkDims(s);
  const K = s.K;
  const opts = { wLayout: s.wLayout, format: s.format, accumulate: s.accumulate };
  let data: (CheckData & { expected: Record<string, Host> }) | undefined;
  let up: Uploaded | undefined;
  const prepare = async () => {
    if (data && up) return { data, up };
    const [rows, cols] = s.wLayout === 'NK' ? [N, K] : [K, N];
    // Random weights in the shape's format: halves, valid ggml blocks (|x| <= ~1), or floats.
    const w =
      s.format === 'f16'
        ? randomF16Words(rows * Math.ceil(cols / 2), 2)
        : isQuant(s.format)
          ? randomBlocks(s.format, rows, cols, 2)
          : uniform(rows * cols, 2, 0.5);
    const x = uniform(M * K, 1);
    const bias = uniform(N, 3);
    const out = uniform(M * N, 4);
    const expected = out.slice();
    matmulCpu(expected, x, w, s.bias ? bias : null, M, K, N, opts);
    data = { inputs: { x, w, bias }, outputs: { out }, expected: { out: expected } };
    up = await uploadCheckData(gpu, 'matmul check', data);
    return { data, up };
  };
  return {
    candidates: [...byName.keys()],
    fallback: matmulKernelName(defaultMatmulKernel(s.M)),
    async check(name) {
      const { data: d, up: u } = await prepare();
      resetOutputs(gpu, u, d);
      const kernel = byName.get(name) ?? parseMatmulKernelName(name);
      if (!kernel) throw new Error(`'${name}' is not a matmul variant`);
      const bias = s.bias ? u.inp.bias : null;
      const dispatch = await matmul(gpu, u.out.out, u.inp.x, u.inp.w, bias, M, K, N, { ...opts, kernel });
      try {
        const tol = { atol: 2e-5 * Math.sqrt(K) * (s.accumulate ? 2 : 1), rtol: 1e-5 };
        return await runAndCompare(gpu, dispatch, u.out, d.expected, tol);
      } finally {
        dispatch.destroy();
      }
    },
    async build(name) {
      const d = await real(byName.get(name) ?? parseMatmulKernelName(name)!);
      d.update({ M: Math.min(TIMED_ROWS, s.M) });
      return d;
    },
    dispose() {
      up?.destroy();
    },
  };
}

/** The matmul kernel for a shape on this adapter: forced, cached, tuned, or the default. */
export async function chooseMatmul(
  gpu: Gpu,
  s: MatmulShape,
  bindings: { out: BufferRef; x: BufferRef; w: BufferRef; bias: BufferRef | null },
): Promise<MatmulKernel> {
  const real = (kernel: MatmulKernel) =>
    matmul(gpu, bindings.out, bindings.x, bindings.w, bindings.bias, s.M, s.K, s.N, { ...s, kernel });
  const name = await gpu.tuning.choose('matmul', matmulShapeKey(s), () => matmulTrial(gpu, s, real));
  return parseMatmulKernelName(name)!;
}

export interface AttentionShape {
  /** Rows (positions) per call: 1 for decode, the prefill chunk otherwise. */
  T: number;
  NH: number;
  NKV: number;
  HS: number;
  /** Positions the KV cache holds. */
  ctx: number;
  /** Floats between query rows (the fused qkv row). */
  qStride: number;
  f16Cache: boolean;
}

export function attentionShapeKey(s: AttentionShape): string {
  return `T${s.T} NH${s.NH} NKV${s.NKV} HS${s.HS} ctx${s.ctx}${s.f16Cache ? ' f16' : ''}`;
}

/**
 * The tuner's trial of one attention: checked on random caches at a position past the longest
 * chunk a candidate splits into (so merges of several chunks are compared), timed on the real
 * caches at mid-context.
 */
function attentionTrial(
  gpu: Gpu,
  s: AttentionShape,
  real: (k: AttentionKernel) => Promise<AnyDispatch & { update(d: { T: number; pos: number }): unknown }>,
): Trial {
  const kernels = attentionCandidates(gpu, { T: s.T, HS: s.HS, ctx: s.ctx });
  const byName = new Map(kernels.map((k) => [attentionKernelName(k), k]));
  // Checked with at most 4 rows over a cache of at most 1100 positions (several chunks of 256).
  const T = Math.min(s.T, 4);
  const ctx = Math.min(s.ctx, 1100);
  const pos = ctx - T;
  const D = s.NKV * s.HS;
  let up: Uploaded | undefined;
  let data: (CheckData & { expected: Record<string, Host> }) | undefined;
  const prepare = async () => {
    if (data && up) return { data, up };
    const q = uniform(T * s.qStride, 5);
    const kf = uniform(ctx * D, 6);
    const vf = uniform(ctx * D, 7);
    const [k, v] = s.f16Cache ? [packRows(kf, ctx, D), packRows(vf, ctx, D)] : [kf, vf];
    const out = new Float32Array(T * s.NH * s.HS);
    attentionCpu(out, q, k, v, T, s.NH, s.NKV, s.HS, { pos, qStride: s.qStride, f16Cache: s.f16Cache });
    data = { inputs: { q, k, v }, outputs: { out: out.length }, expected: { out } };
    up = await uploadCheckData(gpu, 'attention check', data);
    return { data, up };
  };
  return {
    candidates: [...byName.keys()],
    fallback: attentionKernelName(DEFAULT_ATTENTION_KERNEL),
    async check(name) {
      const { up: u, data: d } = await prepare();
      const kernel = byName.get(name) ?? parseAttentionKernel(name);
      const opts = { pos, qStride: s.qStride, f16Cache: s.f16Cache, kernel };
      const dispatch = await attention(gpu, u.out.out, u.inp.q, u.inp.k, u.inp.v, T, s.NH, s.NKV, s.HS, opts);
      try {
        return await runAndCompare(gpu, dispatch, u.out, d.expected, { atol: 2e-5, rtol: 1e-4 });
      } finally {
        dispatch.destroy();
      }
    },
    async build(name) {
      const d = await real(byName.get(name) ?? parseAttentionKernel(name));
      const T1 = Math.min(s.T, TIMED_ROWS);
      d.update({ T: T1, pos: Math.max(0, Math.floor(s.ctx / 2) - T1) });
      return d;
    },
    dispose() {
      up?.destroy();
    },
  };
}

/** Packs each of `rows` rows of `cols` floats into ceil(cols / 2) words (the f16 cache layout). */
function packRows(x: Float32Array, rows: number, cols: number): Uint32Array {
  const w = Math.ceil(cols / 2);
  const out = new Uint32Array(rows * w);
  for (let r = 0; r < rows; r++) out.set(packF16(x.subarray(r * cols, (r + 1) * cols)), r * w);
  return out;
}

/** The attention kernel for a shape on this adapter: forced, cached, tuned, or the default. */
export async function chooseAttention(
  gpu: Gpu,
  s: AttentionShape,
  bindings: { out: BufferRef; q: BufferRef; kCache: BufferRef; vCache: BufferRef },
): Promise<AttentionKernel> {
  const real = (kernel: AttentionKernel) =>
    attention(gpu, bindings.out, bindings.q, bindings.kCache, bindings.vCache, s.T, s.NH, s.NKV, s.HS, {
      pos: 0,
      qStride: s.qStride,
      f16Cache: s.f16Cache,
      kernel,
    });
  const name = await gpu.tuning.choose('attention', attentionShapeKey(s), () => attentionTrial(gpu, s, real));
  return parseAttentionKernel(name);
}

/**
 * Row reductions (layernorm, rmsnorm, argmax): one workgroup per row, a strided sum per invocation
 * then a tree in workgroup memory; their variants are the workgroup size, 'wg256' .. 'wg1' (one
 * invocation per row: no barrier at all, what a CPU adapter likes for short rows).
 */
const REDUCTION_WGS = [256, 64, 16, 4, 1];

const wgName = (wg: number | null): string | null => (wg === null ? null : `wg${wg}`);

function parseWg(name: string): number | null {
  const m = /^wg([1-9]\d{0,3})$/.exec(name);
  const wg = m ? Number(m[1]) : 0;
  return wg && (wg & (wg - 1)) === 0 ? wg : null;
}

export type ReductionOp = 'layernorm' | 'rmsnorm' | 'argmax' | 'row_norm';

/**
 * The workgroup size of a row reduction of R rows of C floats on this adapter. `check(wg, up)`
 * builds the kernel on the synthetic rows `data()` (uploaded as `up`) that are compared with the
 * twin's output; `real(wg)` builds it on the op's own buffers.
 */
export async function chooseReductionWg(
  gpu: Gpu,
  op: ReductionOp,
  shape: { R: number; C: number },
  check: (WG: number, up: Uploaded) => Promise<AnyDispatch>,
  data: () => CheckData & { expected: Record<string, Host> },
  real: (WG: number) => Promise<AnyDispatch>,
  exact = false,
): Promise<number> {
  const max = Math.min(gpu.limits.maxComputeInvocationsPerWorkgroup, gpu.limits.maxComputeWorkgroupSizeX);
  const wgs = REDUCTION_WGS.filter((wg) => wg <= max);
  let up: Uploaded | undefined;
  let d: (CheckData & { expected: Record<string, Host> }) | undefined;
  const name = await gpu.tuning.choose(op, `R${shape.R} C${shape.C}`, () => ({
    candidates: wgs.map((wg) => `wg${wg}`),
    fallback: `wg${wgs[0]}`,
    async check(n) {
      const wg = parseWg(n);
      if (wg === null) throw new Error(`'${n}' is not a ${op} variant`);
      d ??= data();
      up ??= await uploadCheckData(gpu, `${op} check`, d);
      const dispatch = await check(wg, up);
      try {
        return await runAndCompare(gpu, dispatch, up.out, d.expected, { atol: 1e-5, rtol: 1e-5 }, exact);
      } finally {
        dispatch.destroy();
      }
    },
    build: (n) => real(parseWg(n)!),
    dispose: () => up?.destroy(),
  }));
  return parseWg(name)!;
}

/** Synthetic rows for a norm's check: 3 rows of C floats with an offset, and the twin's output. */
export function normCheckData(
  C: number,
  twin: (out: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array, R: number) => void,
): CheckData & { expected: Record<string, Host> } {
  const R = 3;
  const x = uniform(R * C, 11, 2);
  for (let i = 0; i < x.length; i++) x[i] += 0.5;
  const w = uniform(C, 12);
  const b = uniform(C, 13);
  const out = new Float32Array(R * C);
  twin(out, x, w, b, R);
  return { inputs: { x, w, b }, outputs: { out: R * C }, expected: { out } };
}

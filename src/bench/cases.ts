/**
 * What the benchmark runs: for each kernel, variants over shapes from real models, with the FLOPs
 * and bytes of one call and a way to check the output against the CPU twin. Big outputs are checked
 * on their first rows only (every row of these kernels depends only on its own inputs), so the CPU
 * reference stays within a few seconds; the row's `checked` field says which.
 */

import { ropeFrequencies } from '../checkpoint/rope';
import { argmax as argmaxCpu } from '../cpu/argmax';
import { attention as attentionCpu } from '../cpu/attention';
import { bench_copy as benchCopyCpu } from '../cpu/bench_copy';
import { bench_fma as benchFmaCpu } from '../cpu/bench_fma';
import { embedding as embeddingCpu } from '../cpu/embedding';
import { gelu as geluCpu } from '../cpu/gelu';
import { glu as gluCpu } from '../cpu/glu';
import { kv_append as kvAppendCpu } from '../cpu/kv_append';
import { layernorm as layernormCpu } from '../cpu/layernorm';
import { matmul as matmulCpu } from '../cpu/matmul';
import { qk_norm as qkNormCpu } from '../cpu/qk_norm';
import { residual as residualCpu } from '../cpu/residual';
import { rmsnorm as rmsnormCpu } from '../cpu/rmsnorm';
import { rope as ropeCpu } from '../cpu/rope';
import { row_norm as rowNormCpu } from '../cpu/row_norm';
import { softcap as softcapCpu } from '../cpu/softcap';
import { softmax as softmaxCpu } from '../cpu/softmax';
import { type GpuWeightFormat, gpuRowBytes, isQuant, QUANT_FORMATS } from '../formats/formats';
import { randomBlocks } from '../formats/quant';
import type { CheckData, Host } from '../gpu/check';
import type { Gpu } from '../gpu/gpu';
import { argmax } from '../kernels/argmax';
import {
  type AttentionKernel,
  attention,
  attentionCandidates,
  attentionKernelName,
  DEFAULT_ATTENTION_KERNEL,
} from '../kernels/attention';
import { bench_copy } from '../kernels/bench_copy';
import { bench_fma } from '../kernels/bench_fma';
import type { AnyDispatch } from '../kernels/dispatch';
import { embedding } from '../kernels/embedding';
import { gelu } from '../kernels/gelu';
import { glu } from '../kernels/glu';
import { kv_append } from '../kernels/kv_append';
import { layernorm } from '../kernels/layernorm';
import { type MatmulKernel, matmul, matmulCandidates, matmulKernelName } from '../kernels/matmul';
import { qk_norm } from '../kernels/qk_norm';
import { residual } from '../kernels/residual';
import { rmsnorm } from '../kernels/rmsnorm';
import { rope } from '../kernels/rope';
import { row_norm } from '../kernels/row_norm';
import { softcap } from '../kernels/softcap';
import { softmax } from '../kernels/softmax';
import type { KernelRow } from './schema';
import {
  checkedLabel,
  GPT2_4X64,
  GPT2_MEDIUM,
  GPT2_SMALL,
  LLAMA_1B,
  type ModelShape,
  type Preset,
  projections,
  randomF16Words,
  rowsToCheck,
  TINYSTORIES,
  uniform,
} from './shapes';

export type { Host };

/** One case made concrete: host data, the GPU dispatch, and the reference of the checked part. */
export interface Prepared extends CheckData {
  gpu(gpu: Gpu, out: Record<string, GPUBuffer>, inp: Record<string, GPUBuffer>): Promise<AnyDispatch>;
  /** Expected values of the first expected.length elements of each output. */
  reference(): Record<string, Host>;
  checked: string;
  tol: { atol: number; rtol: number };
  exact?: boolean;
}

/** A row of the sweep before it runs: the report row's identity and work, plus how to set it up. */
export interface BenchCase
  extends Pick<KernelRow, 'kernel' | 'variant' | 'shape' | 'model' | 'dims' | 'flops' | 'bytes'> {
  /** One of the tuner's candidates for this kernel and shape (its row gets `chosen`). */
  tuned?: boolean;
  prepare(): Prepared;
}

/**
 * Host data of the candidates of one shape, made once: the last shape's only (one lm-head's
 * weights and reference are hundreds of MB), the sweep runs a shape's candidates one after another.
 */
let lastShared: { key: string; value: unknown } | undefined;
function shared<T>(key: string, make: () => T): T {
  if (lastShared?.key !== key) {
    lastShared = undefined; // the old one can be collected while the new one is made
    lastShared = { key, value: make() };
  }
  return lastShared.value as T;
}

const F = (n: number) => new Float32Array(n);

/**
 * One matmul of a model: rows M (1 in decode), weight [K -> N] in its checkpoint layout and storage
 * format (f32, packed f16, or ggml blocks: 'NK' only).
 */
export interface MatmulShape {
  m: ModelShape;
  what: string;
  M: number;
  K: number;
  N: number;
  wLayout: 'NK' | 'KN';
  format: GpuWeightFormat;
}

export const matmulShapeLabel = (s: MatmulShape): string =>
  `${s.m.name} ${s.what} M=${s.M} ${s.format} ${s.wLayout}`;

/**
 * A matmul's row: bytes are those moved by one call, the weight in its stored size (so GB/s of a
 * quantized or f16 weight counts the bytes it really reads), x and out in f32.
 */
function matmulCase(s: MatmulShape, kernel: MatmulKernel): BenchCase {
  const { M, K, N, wLayout, format } = s;
  const [rows, cols] = wLayout === 'NK' ? [N, K] : [K, N];
  const wBytes = rows * gpuRowBytes(format, cols);
  const shape = matmulShapeLabel(s);
  return {
    kernel: 'matmul',
    variant: matmulKernelName(kernel),
    shape,
    model: s.m.name,
    dims: { M, K, N },
    flops: 2 * M * K * N,
    bytes: 4 * (M * K + M * N) + wBytes,
    tuned: true,
    prepare() {
      const opts = { wLayout, format } as const;
      const Mc = rowsToCheck(M, K * N);
      const data = shared(`matmul ${shape}`, () => {
        const x = uniform(M * K, 1);
        const w =
          format === 'f16'
            ? randomF16Words(wBytes / 4, 2)
            : isQuant(format)
              ? randomBlocks(format, rows, cols, 2)
              : uniform(rows * cols, 2, 0.5);
        let out: Float32Array | undefined;
        const reference = () => {
          if (!out) {
            out = F(Mc * N);
            matmulCpu(out, x.subarray(0, Mc * K), w, null, Mc, K, N, opts);
          }
          return out;
        };
        return { x, w, reference };
      });
      return {
        inputs: { x: data.x, w: data.w },
        outputs: { out: M * N },
        gpu: (gpu, o, i) => matmul(gpu, o.out, i.x, i.w, null, M, K, N, { ...opts, kernel }),
        reference: () => ({ out: data.reference() }),
        checked: checkedLabel(Mc, M),
        tol: { atol: 2e-5 * Math.sqrt(K) * (format === 'f32' ? 1 : 2), rtol: 1e-5 },
      };
    },
  };
}

function attentionCase(
  m: ModelShape,
  L: number,
  mode: 'decode' | 'prefill',
  kernel: AttentionKernel,
): BenchCase {
  const { NH, NKV, HS } = m;
  const T = mode === 'decode' ? 1 : L;
  const pos = L - T;
  const keys = T * pos + (T * (T + 1)) / 2;
  const shape = `${m.name} ${mode} ctx=${L}`;
  return {
    kernel: 'attention',
    variant: attentionKernelName(kernel),
    shape,
    model: m.name,
    dims: { T, pos, NH, NKV, HS },
    flops: 4 * HS * NH * keys,
    bytes: 4 * (2 * T * NH * HS + 2 * L * NKV * HS),
    tuned: true,
    prepare() {
      const Tc = rowsToCheck(T, NH * L * HS * 4);
      const { q, k, v, reference } = shared(`attention ${shape}`, () => {
        const q = uniform(T * NH * HS, 1);
        const k = uniform(L * NKV * HS, 2);
        const v = uniform(L * NKV * HS, 3);
        let out: Float32Array | undefined;
        const reference = () => {
          if (!out) {
            out = F(Tc * NH * HS);
            attentionCpu(out, q.subarray(0, Tc * NH * HS), k, v, Tc, NH, NKV, HS, { pos });
          }
          return out;
        };
        return { q, k, v, reference };
      });
      return {
        inputs: { q, k, v },
        outputs: { out: T * NH * HS },
        gpu: (gpu, o, i) => attention(gpu, o.out, i.q, i.k, i.v, T, NH, NKV, HS, { pos, kernel }),
        reference: () => ({ out: reference() }),
        checked: checkedLabel(Tc, T),
        tol: { atol: 2e-5, rtol: 1e-4 },
      };
    },
  };
}

function ropeCase(m: ModelShape, T: number, layout: 'half' | 'pairs'): BenchCase {
  const { NH, HS } = m;
  const n = T * NH * HS;
  const pos = 100;
  return {
    kernel: 'rope',
    variant: layout,
    shape: `${m.name} q T=${T}`,
    model: m.name,
    dims: { T, NH, HS },
    flops: 3 * n,
    bytes: 8 * n,
    prepare() {
      const x = uniform(n, 1);
      const opts = { pos, layout };
      const invFreq = ropeFrequencies({ theta: 10000, layout, rotaryDim: HS });
      return {
        inputs: { invFreq },
        outputs: { x },
        gpu: (gpu, o, i) => rope(gpu, o.x, i.invFreq, T, NH, HS, opts),
        reference: () => {
          const out = x.slice();
          ropeCpu(out, invFreq, T, NH, HS, opts);
          return { x: out };
        },
        checked: 'all',
        tol: { atol: 2e-6 + (pos + T) * 3e-7, rtol: 2e-6 },
      };
    },
  };
}

function kvAppendCase(m: ModelShape, T: number): BenchCase {
  const D = m.NKV * m.HS;
  return {
    kernel: 'kv_append',
    variant: 'f32',
    shape: `${m.name} T=${T}`,
    model: m.name,
    dims: { T, D },
    flops: 0,
    bytes: 16 * T * D,
    prepare() {
      const k = uniform(T * D, 1);
      const v = uniform(T * D, 2);
      return {
        inputs: { k, v },
        outputs: { kCache: T * D, vCache: T * D },
        gpu: (gpu, o, i) => kv_append(gpu, o.kCache, o.vCache, i.k, i.v, T, D, { pos: 0 }),
        reference: () => {
          const kc = F(T * D);
          const vc = F(T * D);
          kvAppendCpu(kc, vc, k, v, T, D, { pos: 0 });
          return { kCache: kc, vCache: vc };
        },
        checked: 'all',
        tol: { atol: 0, rtol: 0 },
      };
    },
  };
}

type RowKernel = 'rmsnorm' | 'layernorm' | 'softmax' | 'argmax' | 'row_norm';

/**
 * Row-wise kernels over R rows of N: norms (N = C), the vocab-wide softmax and argmax, and the
 * Euclidean norms of the embedding's rows (row_norm: R = V rows of C).
 */
function rowCase(kernel: RowKernel, m: ModelShape, what: string, R: number, N: number): BenchCase {
  const flopsPer = { rmsnorm: 4, layernorm: 7, softmax: 5, argmax: 1, row_norm: 2 }[kernel];
  const paramBytes = { rmsnorm: 4 * N, layernorm: 8 * N, softmax: 0, argmax: 0, row_norm: 0 }[kernel];
  const outBytes = kernel === 'argmax' || kernel === 'row_norm' ? 4 * R : 4 * R * N;
  return {
    kernel,
    variant: 'f32',
    shape: `${m.name} ${what} R=${R}`,
    model: m.name,
    dims: { R, N },
    flops: flopsPer * R * N,
    bytes: 4 * R * N + paramBytes + outBytes,
    prepare() {
      const x = uniform(R * N, 1, kernel === 'softmax' ? 8 : 2);
      const weight = uniform(N, 2);
      const bias = uniform(N, 3);
      const Rc = rowsToCheck(R, 10 * N, 2e7);
      const xc = x.subarray(0, Rc * N);
      const eps = 1e-5;
      const base = { checked: checkedLabel(Rc, R), inputs: { x, weight, bias } };
      switch (kernel) {
        case 'rmsnorm':
          return {
            ...base,
            outputs: { out: R * N },
            gpu: (gpu, o, i) => rmsnorm(gpu, o.out, i.x, i.weight, R, N, { eps }),
            reference: () => ({ out: fill(Rc * N, (out) => rmsnormCpu(out, xc, weight, Rc, N, { eps })) }),
            tol: { atol: 1e-6, rtol: 1e-5 },
          };
        case 'layernorm':
          return {
            ...base,
            outputs: { out: R * N },
            gpu: (gpu, o, i) => layernorm(gpu, o.out, i.x, i.weight, i.bias, R, N, { eps }),
            reference: () => ({
              out: fill(Rc * N, (out) => layernormCpu(out, xc, weight, bias, Rc, N, { eps })),
            }),
            tol: { atol: 1e-5, rtol: 1e-5 },
          };
        case 'softmax':
          return {
            ...base,
            outputs: { out: R * N },
            gpu: (gpu, o, i) => softmax(gpu, o.out, i.x, R, N, { temperature: 1 }),
            reference: () => ({ out: fill(Rc * N, (out) => softmaxCpu(out, xc, Rc, N, { temperature: 1 })) }),
            tol: { atol: 1e-9, rtol: 1e-5 },
          };
        case 'row_norm':
          return {
            ...base,
            outputs: { out: R },
            gpu: (gpu, o, i) => row_norm(gpu, o.out, i.x, R, N),
            reference: () => ({ out: fill(Rc, (out) => rowNormCpu(out, xc, Rc, N)) }),
            tol: { atol: 1e-6, rtol: 1e-5 },
          };
        case 'argmax':
          return {
            ...base,
            outputs: { out: new Uint32Array(R) },
            gpu: (gpu, o, i) => argmax(gpu, o.out, i.x, R, N),
            reference: () => {
              const out = new Uint32Array(Rc);
              argmaxCpu(out, xc, Rc, N);
              return { out };
            },
            tol: { atol: 0, rtol: 0 },
            exact: true,
          };
      }
    },
  };
}

function fill(n: number, f: (out: Float32Array) => void): Float32Array {
  const out = F(n);
  f(out);
  return out;
}

type Elementwise = 'gelu' | 'glu' | 'residual' | 'softcap';

function elementwiseCase(
  kernel: Elementwise,
  variant: string,
  m: ModelShape,
  what: string,
  M: number,
  W: number,
) {
  const N = M * W;
  const inputs = kernel === 'gelu' || kernel === 'softcap' ? 1 : 2;
  const flopsPer = { gelu: variant === 'tanh' ? 8 : 5, glu: 4, residual: 1, softcap: 6 }[kernel];
  return {
    kernel,
    variant,
    shape: `${m.name} ${what} M=${M}`,
    model: m.name,
    dims: { N },
    flops: flopsPer * N,
    bytes: 4 * (inputs + 1) * N,
    prepare(): Prepared {
      const a = uniform(N, 1, 4);
      const b = uniform(N, 2, 4);
      if (kernel === 'gelu') {
        const opts = { approximate: variant as 'tanh' | 'none' };
        return {
          inputs: { x: a },
          outputs: { out: N },
          gpu: (gpu, o, i) => gelu(gpu, o.out, i.x, N, opts),
          reference: () => ({ out: fill(N, (out) => geluCpu(out, a, N, opts)) }),
          checked: 'all',
          tol: { atol: 2e-7, rtol: 4e-6 },
        };
      }
      if (kernel === 'glu') {
        // One row of a fused gate|up projection [1, 2N].
        const gateUp = new Float32Array(2 * N);
        gateUp.set(a);
        gateUp.set(b, N);
        return {
          inputs: { gateUp },
          outputs: { out: N },
          gpu: (gpu, o, i) => glu(gpu, o.out, i.gateUp, 1, N),
          reference: () => ({ out: fill(N, (out) => gluCpu(out, gateUp, 1, N)) }),
          checked: 'all',
          tol: { atol: 1e-6, rtol: 2e-6 },
        };
      }
      if (kernel === 'softcap') {
        // Gemma 2's final logits: cap 30 over logits of scale 40, so tanh saturates in part.
        const x = uniform(N, 3, 40);
        return {
          inputs: {},
          outputs: { x },
          gpu: (gpu, o) => softcap(gpu, o.x, N, 30),
          reference: () => {
            const out = x.slice();
            softcapCpu(out, N, 30);
            return { x: out };
          },
          checked: 'all',
          tol: { atol: 6e-6, rtol: 2e-6 },
        };
      }
      const inPlace = variant === 'in-place';
      return {
        inputs: inPlace ? { b } : { a, b },
        outputs: inPlace ? { a } : { out: N },
        gpu: (gpu, o, i) => (inPlace ? residual(gpu, o.a, o.a, i.b, N) : residual(gpu, o.out, i.a, i.b, N)),
        reference: (): Record<string, Host> => {
          const out = fill(N, (out) => residualCpu(out, a, b, N));
          return inPlace ? { a: out } : { out };
        },
        checked: 'all',
        tol: { atol: 1e-6, rtol: 1e-6 },
      };
    },
  } satisfies BenchCase;
}

/** Qwen3 / Gemma 3's per-head RMSNorm of the q and k heads of fused qkv rows, in place. */
function qkNormCase(m: ModelShape, T: number): BenchCase {
  const { NH, NKV, HS } = m;
  const rowStride = (NH + 2 * NKV) * HS;
  const n = T * (NH + NKV) * HS;
  return {
    kernel: 'qk_norm',
    variant: 'f32',
    shape: `${m.name} qkv T=${T}`,
    model: m.name,
    dims: { T, NH, NKV, HS },
    flops: 4 * n,
    bytes: 8 * n + 8 * HS,
    prepare() {
      const x = uniform(T * rowStride, 1, 2);
      const w = uniform(2 * HS, 2);
      const opts = { eps: 1e-6, rowStride };
      return {
        inputs: { w },
        outputs: { x },
        gpu: (gpu, o, i) => qk_norm(gpu, o.x, i.w, T, NH, NKV, HS, opts),
        reference: () => {
          const out = x.slice();
          qkNormCpu(out, w, T, NH, NKV, HS, opts);
          return { x: out };
        },
        checked: 'all',
        tol: { atol: 2e-6, rtol: 2e-5 },
      };
    },
  };
}

function embeddingCase(m: ModelShape, T: number, variant: 'f32' | 'f16', positions: boolean): BenchCase {
  const { C, V } = m;
  const f16 = variant === 'f16';
  const rowWords = f16 ? Math.ceil(C / 2) : C;
  return {
    kernel: 'embedding',
    variant,
    shape: `${m.name}${positions ? ' +wpe' : ''} T=${T}`,
    model: m.name,
    dims: { T, C, V },
    flops: positions ? T * C : 0,
    bytes: 4 * T + T * rowWords * 4 + (positions ? 4 * T * C : 0) + 4 * T * C,
    prepare(): Prepared {
      const ids = new Uint32Array(T).map((_, t) => (t * 7919 + 13) % V);
      const wte = f16 ? randomF16Words(V * rowWords, 1) : uniform(V * C, 1);
      const wpe = positions ? uniform(T * C, 2) : null;
      const opts = { pos: 0, format: variant };
      const inputs: Record<string, Host> = wpe ? { ids, wte, wpe } : { ids, wte };
      return {
        inputs,
        outputs: { out: T * C },
        gpu: (gpu, o, i) => embedding(gpu, o.out, i.ids, i.wte, i.wpe ?? null, T, C, opts),
        reference: () => ({ out: fill(T * C, (out) => embeddingCpu(out, ids, wte, wpe, T, C, opts)) }),
        checked: 'all',
        tol: { atol: 1e-6, rtol: 1e-6 },
      };
    },
  };
}

const PROBE = { name: 'probe', C: 0, NH: 0, NKV: 0, HS: 0, F: 0, V: 0 };

function copyCase(N: number): BenchCase {
  return {
    kernel: 'bench_copy',
    variant: 'vec4',
    shape: `N=${N >= 1 << 20 ? `${N / (1 << 20)}M` : N}`,
    model: PROBE.name,
    dims: { N },
    flops: 0,
    bytes: 8 * N,
    prepare() {
      const x = uniform(N, 1);
      return {
        inputs: { x },
        outputs: { out: N },
        gpu: (gpu, o, i) => bench_copy(gpu, o.out, i.x, N),
        reference: () => ({ out: fill(N, (out) => benchCopyCpu(out, x, N)) }),
        checked: 'all',
        tol: { atol: 0, rtol: 0 },
      };
    },
  };
}

function fmaCase(N: number, iters: number): BenchCase {
  const opts = { iters, a: 0.9, b: 0.1 };
  const Nc = rowsToCheck(N, 16 * iters, 1e7);
  return {
    kernel: 'bench_fma',
    variant: 'vec4x4',
    shape: `N=${N} iters=${iters}`,
    model: PROBE.name,
    dims: { N, iters },
    flops: 32 * iters * N,
    bytes: 4 * N,
    prepare: () => ({
      inputs: {},
      outputs: { out: N },
      gpu: (gpu, o) => bench_fma(gpu, o.out, N, opts),
      reference: () => ({ out: fill(Nc, (out) => benchFmaCpu(out, Nc, opts)) }),
      checked: checkedLabel(Nc, N, 'outputs'),
      tol: { atol: 1e-5, rtol: 2e-6 },
    }),
  };
}

/** The peak probes: the copy's best GB/s and the FMA kernel's best GFLOP/s are the peaks. */
export function peakCases(preset: Preset): BenchCase[] {
  return preset === 'quick'
    ? [copyCase(1 << 20), copyCase(4 << 20), fmaCase(1 << 14, 256)]
    : [
        copyCase(1 << 22),
        copyCase(1 << 24),
        copyCase(1 << 26),
        fmaCase(1 << 20, 1024),
        fmaCase(1 << 22, 1024),
      ];
}

/** Rows of the quantized-weight comparison: decode, and a prefill block. */
export const QUANT_BENCH_M = [1, 16];

/**
 * The matmuls the sweep times: decode (M = 1) and prefill shapes of real models, f32 and f16; and
 * quantized weights beside f32 and f16 at Llama shapes (K a multiple of 256) for M = 1 and 16.
 */
export function matmulShapes(preset: Preset): MatmulShape[] {
  const at = (m: ModelShape, what: string, M: number, format: GpuWeightFormat = 'f32'): MatmulShape => {
    const p = projections(m).find((x) => x.what.startsWith(`${what} `))!;
    return { m, what: p.what, M, K: p.K, N: p.N, wLayout: p.wLayout, format };
  };
  if (preset === 'quick') {
    const quant: GpuWeightFormat[] = ['f32', 'f16', 'q8_0', 'q4_0', 'q4_k', 'q6_k'];
    return [
      at(TINYSTORIES, 'lm-head', 1),
      at(GPT2_4X64, 'lm-head', 1),
      at(GPT2_SMALL, 'mlp-up', 1),
      at(GPT2_SMALL, 'mlp-up', 1, 'f16'),
      at(GPT2_SMALL, 'lm-head', 1),
      at(TINYSTORIES, 'gate|up', 128),
      ...QUANT_BENCH_M.flatMap((M) => quant.map((f) => at(LLAMA_1B, 'attn-out', M, f))),
    ];
  }
  const out: MatmulShape[] = [];
  for (const format of ['f32', 'f16'] as const) {
    for (const m of [TINYSTORIES, GPT2_SMALL, GPT2_MEDIUM, LLAMA_1B]) {
      for (const M of [1, 128]) for (const p of projections(m)) out.push({ m, M, format, ...p });
    }
    out.push(at(GPT2_4X64, 'lm-head', 1, format));
    for (const p of projections(LLAMA_1B)) out.push({ m: LLAMA_1B, M: 16, format, ...p });
  }
  for (const format of QUANT_FORMATS) {
    for (const M of QUANT_BENCH_M)
      for (const p of projections(LLAMA_1B)) out.push({ m: LLAMA_1B, M, format, ...p });
  }
  return out;
}

/** Attention shapes: decode (one row at the end of the context) and prefill (the whole context). */
export function attentionShapes(preset: Preset): { m: ModelShape; L: number; mode: 'decode' | 'prefill' }[] {
  if (preset === 'quick') {
    return [
      { m: TINYSTORIES, L: 128, mode: 'decode' },
      { m: GPT2_SMALL, L: 1024, mode: 'decode' },
      { m: TINYSTORIES, L: 128, mode: 'prefill' },
    ];
  }
  return (['decode', 'prefill'] as const).flatMap((mode) =>
    [TINYSTORIES, GPT2_SMALL, LLAMA_1B].flatMap((m) => [128, 512, 2048].map((L) => ({ m, L, mode }))),
  );
}

/**
 * Every kernel's cases for a preset, in sweep order (peaks first). Matmul and attention get one
 * row per candidate the tuner would time for the shape on `gpu`'s adapter, side by side; without a
 * Gpu (listing cases), the candidates of an adapter without subgroups, and attention's default.
 */
export function benchCases(preset: Preset, gpu?: Gpu): BenchCase[] {
  const quick = preset === 'quick';
  const Ms = quick ? [1, 128] : [1, 128, 512];
  const models = [TINYSTORIES, GPT2_SMALL, GPT2_MEDIUM, LLAMA_1B];
  const cases: BenchCase[] = [...peakCases(preset)];

  for (const s of matmulShapes(preset)) {
    for (const k of matmulCandidates(gpu?.features ?? { subgroups: false }, s)) cases.push(matmulCase(s, k));
  }
  for (const { m, L, mode } of attentionShapes(preset)) {
    const T = mode === 'decode' ? 1 : L;
    const kernels = gpu ? attentionCandidates(gpu, { T, HS: m.HS, ctx: L }) : [DEFAULT_ATTENTION_KERNEL];
    for (const k of kernels) cases.push(attentionCase(m, L, mode, k));
  }

  const llamaLike = quick ? [TINYSTORIES] : [TINYSTORIES, LLAMA_1B];
  const gptLike = quick ? [GPT2_SMALL] : [GPT2_SMALL, GPT2_MEDIUM];
  for (const v of ['half', 'pairs'] as const)
    for (const m of llamaLike) for (const T of Ms) cases.push(ropeCase(m, T, v));
  for (const m of llamaLike) for (const T of Ms) cases.push(kvAppendCase(m, T));
  for (const m of llamaLike) for (const R of Ms) cases.push(rowCase('rmsnorm', m, `C=${m.C}`, R, m.C));
  for (const m of gptLike) for (const R of Ms) cases.push(rowCase('layernorm', m, `C=${m.C}`, R, m.C));
  const vocabs = quick ? [TINYSTORIES, GPT2_SMALL] : [TINYSTORIES, GPT2_SMALL, LLAMA_1B];
  for (const m of vocabs) cases.push(rowCase('softmax', m, `V=${m.V}`, 1, m.V));
  for (const m of vocabs) cases.push(rowCase('argmax', m, `V=${m.V}`, 1, m.V));
  for (const m of vocabs) cases.push(rowCase('row_norm', m, `embedding V=${m.V}`, m.V, m.C));
  for (const m of vocabs) cases.push(elementwiseCase('softcap', 'f32', m, `logits V=${m.V}`, 1, m.V));
  for (const m of llamaLike) for (const T of Ms) cases.push(qkNormCase(m, T));
  for (const v of ['tanh', 'none']) {
    for (const m of gptLike)
      for (const M of Ms) cases.push(elementwiseCase('gelu', v, m, `F=${m.F}`, M, m.F));
  }
  for (const m of llamaLike)
    for (const M of Ms) cases.push(elementwiseCase('glu', 'f32', m, `F=${m.F}`, M, m.F));
  for (const v of ['out-of-place', 'in-place']) {
    for (const m of quick ? [TINYSTORIES] : models) {
      for (const M of Ms) cases.push(elementwiseCase('residual', v, m, `C=${m.C}`, M, m.C));
    }
  }
  for (const v of ['f32', 'f16'] as const) {
    for (const T of Ms) cases.push(embeddingCase(TINYSTORIES, T, v, false));
    if (!quick) for (const T of Ms) cases.push(embeddingCase(GPT2_SMALL, T, v, true));
  }
  return cases;
}

/** Kernel names in sweep order. */
export function kernelNames(preset: Preset = 'full'): string[] {
  return [...new Set(benchCases(preset).map((c) => c.kernel))];
}

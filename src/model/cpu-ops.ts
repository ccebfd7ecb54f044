/**
 * The CPU implementation of `Ops`: the kernels' CPU twins over Float32Arrays. It is the reference
 * the GPU forward is tested against, and runs the same `forward` function.
 */

import { layerAttention, type ModelConfig } from '../checkpoint/config';
import { ropeFrequencies } from '../checkpoint/rope';
import { readF32 } from '../checkpoint/tensor';
import type { Linear, Matrix, ModelWeights, Norm } from '../checkpoint/weights';
import { attention } from '../cpu/attention';
import { embedding } from '../cpu/embedding';
import { gelu } from '../cpu/gelu';
import { glu } from '../cpu/glu';
import { kv_append } from '../cpu/kv_append';
import { layernorm } from '../cpu/layernorm';
import { matmul } from '../cpu/matmul';
import { qk_norm } from '../cpu/qk_norm';
import { residual } from '../cpu/residual';
import { rmsnorm } from '../cpu/rmsnorm';
import { rope } from '../cpu/rope';
import { softcap } from '../cpu/softcap';
import { type Dtype, encodeRows, gpuFormat, transpose } from '../formats/convert';
import { f16Round } from '../formats/f16';
import type { StorageFormat } from '../formats/formats';
import { dequantize } from '../formats/quant';
import { type Activations, forward, type Ops, type Weights } from './forward';

/** A table as f32 [rows, cols]. */
export interface CpuTable {
  data: Float32Array;
  rows: number;
  cols: number;
  name: string;
  /** A bias per row (an unembedding's). */
  bias?: Float32Array;
}

/** A linear layer as f32, in its checkpoint layout ('NK' [N, K] or 'KN' [K, N]), parts stacked. */
export interface CpuLinear {
  w: Float32Array;
  layout: 'NK' | 'KN';
  N: number;
  K: number;
  b?: Float32Array;
  name: string;
}

export interface CpuKinds {
  table: CpuTable;
  linear: CpuLinear;
  norm: Norm;
}

type Table = CpuTable;

/**
 * The reference's weights: every stored tensor decoded to f32 exactly, after the conversion the GPU
 * uploader applies under `dtype` (src/formats/convert.ts), so both compute with the same numbers.
 */
export async function cpuWeights(m: ModelWeights, dtype?: Dtype): Promise<Weights<CpuKinds>> {
  /** [rows, cols] values (rows along the format's blocks) as the GPU stores them. */
  const asStored = (f: Float32Array, stored: StorageFormat, rows: number, cols: number): Float32Array => {
    const format = gpuFormat(stored, dtype, cols);
    if (format === 'f32' || format === stored) return f;
    if (format === 'f16') return f.map(f16Round);
    return dequantize(format, encodeRows(f, rows, cols, format), f.length);
  };
  const table = async (t: Matrix, convert = true): Promise<CpuTable> => {
    const f = await readF32(t.tensor);
    const data = convert ? asStored(f, t.tensor.format, t.rows, t.cols) : f;
    return { data, rows: t.rows, cols: t.cols, name: t.name, bias: t.bias };
  };
  const linear = async (l: Linear | undefined): Promise<CpuLinear | undefined> => {
    if (!l) return undefined;
    const w = new Float32Array(l.N * l.K);
    let at = 0;
    for (const p of l.parts) {
      let f = await readF32(p);
      if (l.layout === 'NK') f = asStored(f, p.format, f.length / l.K, l.K);
      else f = transpose(asStored(transpose(f, l.K, l.N), p.format, l.N, l.K), l.N, l.K);
      w.set(f, at);
      at += f.length;
    }
    return { w, layout: l.layout, N: l.N, K: l.K, b: l.b, name: l.name };
  };
  const wte = await table(m.wte);
  const layers = [];
  for (const l of m.layers) {
    layers.push({
      attnNorm: l.attnNorm,
      qkv: (await linear(l.qkv))!,
      qkNorm: l.qkNorm,
      o: (await linear(l.o))!,
      postAttnNorm: l.postAttnNorm,
      mlpNorm: l.mlpNorm,
      postMlpNorm: l.postMlpNorm,
      fc: await linear(l.fc),
      proj: await linear(l.proj),
      gateUp: await linear(l.gateUp),
      down: await linear(l.down),
    });
  }
  return {
    wte,
    // Learned positions stay f32 on the GPU whatever the dtype.
    wpe: m.wpe && (await table(m.wpe, false)),
    layers,
    finalNorm: m.finalNorm,
    lmHead: m.lmHead === m.wte ? wte : await table(m.lmHead),
  };
}

export class CpuOps implements Ops<Float32Array, CpuKinds> {
  readonly k: (Float32Array | Uint32Array)[];
  readonly v: (Float32Array | Uint32Array)[];

  constructor(
    readonly cfg: ModelConfig,
    readonly maxContext: number,
    /** The KV cache holds packed halves, as the GPU's `kvDtype: 'f16'` stores it. */
    readonly kvF16 = false,
    /** Inspection: where layer l's attention probabilities [NH, T, T] go (pos 0 only). */
    readonly probs?: (layer: number) => Float32Array,
  ) {
    const D = cfg.kvHeads * cfg.headDim;
    const cache = () =>
      kvF16 ? new Uint32Array(maxContext * Math.ceil(D / 2)) : new Float32Array(maxContext * D);
    this.k = Array.from({ length: cfg.layers }, cache);
    this.v = Array.from({ length: cfg.layers }, cache);
  }

  async embed(
    out: Float32Array,
    ids: Float32Array,
    wte: Table,
    wpe: Table | undefined,
    T: number,
    pos: number,
  ) {
    const tokenIds = Uint32Array.from(ids.subarray(0, T));
    embedding(out, tokenIds, wte.data, wpe ? wpe.data : null, T, this.cfg.hidden, {
      pos,
      format: 'f32',
      scale: this.cfg.embedScale,
    });
  }

  async norm(out: Float32Array, x: Float32Array, w: Norm, T: number) {
    const eps = this.cfg.normEps;
    if (this.cfg.norm === 'layernorm') layernorm(out, x, w.w, w.b!, T, this.cfg.hidden, { eps });
    else rmsnorm(out, x, w.w, T, this.cfg.hidden, { eps });
  }

  async add(out: Float32Array, x: Float32Array, T: number) {
    residual(out, out, x, T * this.cfg.hidden);
  }

  async qkNorm(qkv: Float32Array, w: Norm, T: number) {
    const { heads: NH, kvHeads: NKV, headDim: HS, normEps: eps } = this.cfg;
    qk_norm(qkv, w.w, T, NH, NKV, HS, { eps, rowStride: (NH + 2 * NKV) * HS });
  }

  async linear(out: Float32Array, x: Float32Array, w: CpuLinear, T: number) {
    matmul(out, x, w.w, w.b ?? null, T, w.K, w.N, { wLayout: w.layout, format: 'f32' });
  }

  async linearAdd(out: Float32Array, x: Float32Array, w: CpuLinear, T: number) {
    matmul(out, x, w.w, w.b ?? null, T, w.K, w.N, { wLayout: w.layout, format: 'f32', accumulate: true });
  }

  async rope(qkv: Float32Array, layer: number, T: number, pos: number) {
    const { heads: NH, kvHeads: NKV, headDim: HS } = this.cfg;
    const r = layerAttention(this.cfg, layer).rope!;
    rope(qkv, ropeFrequencies(r), T, NH + NKV, HS, {
      pos,
      layout: r.layout,
      rotaryDim: r.rotaryDim,
      rowStride: (NH + 2 * NKV) * HS,
    });
  }

  async attention(out: Float32Array, qkv: Float32Array, layer: number, T: number, pos: number) {
    const { heads: NH, kvHeads: NKV, headDim: HS } = this.cfg;
    const D = NKV * HS;
    const S = (NH + 2 * NKV) * HS;
    kv_append(this.k[layer], this.v[layer], qkv, qkv, T, D, {
      pos,
      srcStride: S,
      kOffset: NH * HS,
      vOffset: NH * HS + D,
      f16Cache: this.kvF16,
    });
    attention(out, qkv, this.k[layer], this.v[layer], T, NH, NKV, HS, {
      pos,
      qStride: S,
      f16Cache: this.kvF16,
      scale: this.cfg.attnScale,
      softcap: this.cfg.attnSoftcap,
      window: layerAttention(this.cfg, layer).window,
      probs: this.probs?.(layer),
    });
  }

  async gelu(out: Float32Array, x: Float32Array, T: number) {
    gelu(out, x, T * this.cfg.ffn, { approximate: this.cfg.activation === 'gelu' ? 'none' : 'tanh' });
  }

  async glu(out: Float32Array, gateUp: Float32Array, T: number) {
    glu(out, gateUp, T, this.cfg.ffn, { activation: gluActivation(this.cfg) });
  }

  async lastRow(out: Float32Array, x: Float32Array, T: number) {
    const C = this.cfg.hidden;
    out.set(x.subarray((T - 1) * C, T * C));
  }

  async unembed(out: Float32Array, x: Float32Array, table: Table, T: number) {
    matmul(out, x, table.data, table.bias ?? null, T, table.cols, table.rows, {
      wLayout: 'NK',
      format: 'f32',
    });
  }

  async softcap(logits: Float32Array, T: number) {
    softcap(logits, T * this.cfg.vocabSize, this.cfg.finalSoftcap!);
  }
}

/** The gate activation of a gated MLP, as the glu kernel names it. */
export function gluActivation(cfg: ModelConfig): 'silu' | 'gelu_tanh' {
  if (cfg.activation === 'silu' || cfg.activation === 'gelu_tanh') return cfg.activation;
  throw new Error(`a gated MLP with activation '${cfg.activation}' has no kernel`);
}

/** Scratch activations for T positions. */
export function cpuActivations(cfg: ModelConfig, T: number): Activations<Float32Array> {
  const { hidden: C, heads: NH, kvHeads: NKV, headDim: HS, ffn: F, vocabSize: V } = cfg;
  return {
    ids: new Float32Array(T),
    x: new Float32Array(T * C),
    h: new Float32Array(T * C),
    y: new Float32Array(T * C),
    qkv: new Float32Array(T * (NH + 2 * NKV) * HS),
    att: new Float32Array(T * NH * HS),
    f: new Float32Array(T * 2 * F),
    g: new Float32Array(T * F),
    last: new Float32Array(C),
    logits: new Float32Array(T * V),
  };
}

/** The reference forward: logits [ids.length, V] of every position, computed on the CPU. */
export async function cpuLogits(
  cfg: ModelConfig,
  w: Weights<CpuKinds>,
  ids: number[],
  kvF16 = false,
): Promise<Float32Array> {
  const T = ids.length;
  const ops = new CpuOps(cfg, T, kvF16);
  const act = cpuActivations(cfg, T);
  act.ids.set(ids);
  await forward(ops, cfg, w, act, T, 0, true);
  return act.logits;
}

/**
 * Where the CPU reference first produces a non-finite number for `ids`: -1 for the embedding, a
 * layer index, or `layers` for the final norm and unembedding; undefined when all is finite.
 * Bisects a NumericalError the GPU reported (the same weights, in the GPU's storage dtype).
 */
export async function firstNonFiniteLayer(
  cfg: ModelConfig,
  m: ModelWeights,
  dtype: Dtype | undefined,
  ids: number[],
): Promise<number | undefined> {
  const w = await cpuWeights(m, dtype);
  const T = ids.length;
  const ops = new CpuOps(cfg, T);
  const act = cpuActivations(cfg, T);
  act.ids.set(ids);
  const finite = (a: Float32Array) => a.every(Number.isFinite);
  let bad: number | undefined;
  await forward(ops, cfg, w, act, T, 0, false, async (l, stage) => {
    if (stage === 'block' && bad === undefined && !finite(act.x)) bad = l;
  });
  if (bad === undefined && !finite(act.logits.subarray(0, cfg.vocabSize))) bad = cfg.layers;
  return bad;
}

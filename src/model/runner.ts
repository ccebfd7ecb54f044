/**
 * Runs a model on the GPU: weights, KV cache, activations, tapes (their kernels chosen per adapter)
 * and readback buffers are created once at load. A prompt is prefilled in chunks with the
 * matrix-matrix kernels; each decode step is one submission (write the token id, replay the decode
 * tape, pick the next token on the GPU, copy out its id).
 */

import type { ModelConfig } from '../checkpoint/config';
import type { ModelWeights } from '../checkpoint/weights';
import { argmax as argmaxCpu, NON_FINITE } from '../cpu/argmax';
import { uniform } from '../gpu/check';
import type { Gpu } from '../gpu/gpu';
import { timeDispatches } from '../gpu/timing';
import { argmax } from '../kernels/argmax';
import type { AnyDispatch, Dispatch } from '../kernels/dispatch';
import { type SampleStep, sample, seenWords, writeSeen } from '../kernels/sample';
import { type Activations, forward, type Weights } from './forward';
import { GpuOps, type KvCache } from './gpu-ops';
import { type Dtype, type GpuKinds, WeightUploader, weightBuffers } from './gpu-weights';
import { chooseReductionWg } from './kernel-choice';

/** What inspect records into: its tapes and capture buffers (all owned by the runner's buffer list). */
interface Inspection {
  ops: GpuOps;
  lensOps: GpuOps;
  probs: GPUBuffer;
  stride: number;
  snapshots: GPUBuffer;
  lensX: GPUBuffer;
  lensH: GPUBuffer;
  lensLogits: GPUBuffer;
  readSnapshots: GPUBuffer;
  readProbs: GPUBuffer;
  readLens: GPUBuffer;
}

export interface RunnerOptions {
  /** Weight storage on the GPU (unset: as stored). */
  dtype?: Dtype;
  /** KV cache storage (default 'f32'). */
  kvDtype?: 'f32' | 'f16';
  maxContext: number;
  /** Largest number of prompt positions per prefill submission. */
  prefillChunk?: number;
  /** Ids the sampler may choose: the tokenizer's vocabulary (config.vocab_size may be padded). */
  validVocab: number;
  /** Split weights into blocks of at most this many bytes (default: the binding limit). */
  maxBlockBytes?: number;
  /** Host bytes per upload step (default CHUNK_BYTES in gpu-weights.ts). */
  chunkBytes?: number;
  onUpload?: (bytes: number) => void;
}

/** Entries of the top-token list the sampler can report beside its pick (onTopTokens). */
export const TOP_TOKENS = 10;

/** A token drawn on the GPU: the settings of this step (r from the seeded Rng), and whether to report the top tokens. */
export interface SampleRequest {
  step: SampleStep;
  topN: boolean;
}

/** The sampler's pick; with topN, the top tokens' ids and raw logits and the row's log-sum-exp at the temperature. */
export interface Sampled {
  id: number;
  top?: { ids: number[]; logits: number[]; logSumExp: number };
}

type Read = 'argmax' | 'logits' | 'none' | SampleRequest;
const readOf = (r: boolean | SampleRequest): Read => (r === true ? 'argmax' : r === false ? 'logits' : r);

export class GpuRunner {
  private readonly buffers: GPUBuffer[] = [];
  /** The uploaded weights (read by inspect and embeddings; never written after load). */
  weights!: Weights<GpuKinds>;
  private act!: Activations<GPUBuffer>;
  private prefillAll!: GpuOps;
  private prefillLast!: GpuOps;
  private decode!: GpuOps;
  private argmaxOut!: GPUBuffer;
  private argmaxDispatch!: Dispatch<{ R: number }>;
  private readLogits!: GPUBuffer;
  private readArgmax!: GPUBuffer;
  /** The GPU sampler: ids the repetition penalty applies to, its outputs, and its two dispatches. */
  private seen!: GPUBuffer;
  private sampleOut!: GPUBuffer;
  private sampleTop!: GPUBuffer;
  private readSample!: GPUBuffer;
  /** The sampler without and with the top-token list, compiled in the background. */
  private samplers!: Promise<Dispatch<SampleStep>[]>;
  private destroyed = false;
  private kv!: KvCache;
  /** The inspection tapes and their buffers, made at the first inspect. */
  private inspection?: Promise<Inspection>;
  /** Where the last pass left the next-token logits row in act.logits (bytes). */
  private lastRowOffset = 0;
  readonly chunk: number;
  /** Bytes of weights on the GPU. */
  weightBytes = 0;

  private constructor(
    readonly gpu: Gpu,
    readonly cfg: ModelConfig,
    readonly opts: RunnerOptions,
  ) {
    this.chunk = Math.min(opts.prefillChunk ?? 128, opts.maxContext);
  }

  static async create(gpu: Gpu, cfg: ModelConfig, w: ModelWeights, opts: RunnerOptions): Promise<GpuRunner> {
    const r = new GpuRunner(gpu, cfg, opts);
    try {
      await r.init(w);
    } catch (e) {
      r.destroy();
      throw e;
    }
    return r;
  }

  private async buffer(label: string, bytes: number, usage?: number): Promise<GPUBuffer> {
    const b = await this.gpu.createBuffer(label, bytes, usage);
    this.buffers.push(b);
    return b;
  }

  private async init(w: ModelWeights): Promise<void> {
    const { gpu, cfg } = this;
    const { hidden: C, heads: NH, kvHeads: NKV, headDim: HS, ffn: F, vocabSize: V } = cfg;
    const T = this.chunk;
    const uploader = new WeightUploader(
      gpu,
      this.opts.dtype,
      this.opts.maxBlockBytes,
      this.opts.onUpload,
      this.opts.chunkBytes,
    );
    try {
      this.weights = await uploader.all(w);
    } finally {
      this.weightBytes = uploader.uploaded;
    }
    this.buffers.push(...weightBuffers(this.weights));

    const f16 = this.opts.kvDtype === 'f16';
    const kv = { k: [] as GPUBuffer[], v: [] as GPUBuffer[], maxContext: this.opts.maxContext, f16 };
    this.kv = kv;
    // [maxContext, NKV * HS] floats, or rows of packed halves.
    const rowBytes = (f16 ? Math.ceil((NKV * HS) / 2) : NKV * HS) * 4;
    for (let l = 0; l < cfg.layers; l++) {
      kv.k.push(await this.buffer(`kv.k[${l}]`, this.opts.maxContext * rowBytes));
      kv.v.push(await this.buffer(`kv.v[${l}]`, this.opts.maxContext * rowBytes));
    }
    const f32 = (n: number) => n * 4;
    this.act = {
      ids: await this.buffer('ids', f32(T)),
      x: await this.buffer('x', f32(T * C)),
      h: await this.buffer('h', f32(T * C)),
      // Only sandwich norms use y.
      y: await this.buffer('y', f32(cfg.sandwichNorms ? T * C : 1)),
      qkv: await this.buffer('qkv', f32(T * (NH + 2 * NKV) * HS)),
      att: await this.buffer('att', f32(T * NH * HS)),
      f: await this.buffer('f', f32(T * 2 * F)),
      g: await this.buffer('g', f32(T * F)),
      last: await this.buffer('last', f32(C)),
      logits: await this.buffer('logits', f32(T * V)),
    };
    this.argmaxOut = await this.buffer('argmax', 4);
    const N = this.opts.validVocab;
    const WG = await chooseReductionWg(
      gpu,
      'argmax',
      { R: 1, C: N },
      (wg, up) => argmax(gpu, up.out.out, up.inp.x, 1, N, { WG: wg }),
      () => {
        const x = uniform(N, 21);
        const expected = new Uint32Array(1);
        argmaxCpu(expected, x, 1, N);
        return { inputs: { x }, outputs: { out: 1 }, expected: { out: expected } };
      },
      (wg) => argmax(gpu, this.argmaxOut, this.act.logits, 1, N, { WG: wg }),
      true,
    );
    this.argmaxDispatch = await argmax(gpu, this.argmaxOut, this.act.logits, 1, N, { WG });
    const read = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    this.readLogits = await this.buffer('logits readback', f32(T * V), read);
    this.readArgmax = await this.buffer('argmax readback', 4, read);
    const valid = this.opts.validVocab;
    this.seen = await this.buffer('seen', seenWords(V) * 4);
    this.sampleOut = await this.buffer('sample ids', (1 + TOP_TOKENS) * 4);
    this.sampleTop = await this.buffer('sample top logits', (1 + TOP_TOKENS) * 4);
    // ids, top logits, then the argmax of the row (NON_FINITE flags logits without a finite max).
    this.readSample = await this.buffer('sample readback', (2 * (1 + TOP_TOKENS) + 1) * 4, read);

    this.prefillAll = new GpuOps(gpu, cfg, kv, T);
    this.prefillLast = new GpuOps(gpu, cfg, kv, T, false);
    this.decode = new GpuOps(gpu, cfg, kv, 1, false);
    // Record the decode and prefill tapes now: every kernel is chosen (tuned, or read from the
    // tuning cache) and compiled at load, not on the first token. What this writes to the KV
    // cache at position 0 is overwritten by the first prefill.
    await this.pass([0], 0, this.decode, false, 'none');
    await this.pass([0], 0, this.prefillLast, false, 'none');
    await gpu.finish();
    await gpu.tuning.flush();
    // The sampler's shader takes seconds to compile on a software adapter (where compiles run one
    // at a time): it compiles in the background after the tapes, and a sampled step waits for it.
    const make = (top: boolean) =>
      sample(
        gpu,
        this.sampleOut,
        top ? this.sampleTop : null,
        this.seen,
        this.act.logits,
        V,
        valid,
        { temperature: 0, r: 0 },
        {
          topN: top ? TOP_TOKENS : 0,
        },
      );
    this.samplers = Promise.all([make(false), make(true)]).then((made) => {
      if (this.destroyed) for (const d of made) d.destroy();
      return made;
    });
    this.samplers.catch(() => {}); // surfaces at the first sampled step
  }

  /** Runs ids at positions pos.. through one tape and submits, with what `read` asks to copy out. */
  private async pass(ids: number[], pos: number, ops: GpuOps, allRows: boolean, read: Read) {
    const T = ids.length;
    this.gpu.write(this.act.ids, Uint32Array.from(ids));
    ops.begin();
    await forward(ops, this.cfg, this.weights, this.act, T, pos, allRows);
    const [sampler, samplerTop] = typeof read === 'object' ? await this.samplers : [];
    const V = this.cfg.vocabSize;
    this.lastRowOffset = allRows ? (T - 1) * V * 4 : 0;
    ops.submit('forward', (encoder) => {
      if (read === 'argmax' || typeof read === 'object') {
        const d: AnyDispatch =
          read === 'argmax' ? this.argmaxDispatch : (read.topN ? samplerTop : sampler).update(read.step);
        const pass = encoder.beginComputePass();
        d.encode(pass);
        // A sampled step runs the argmax too: one more pass over the row that tells whether it is finite.
        if (read !== 'argmax') this.argmaxDispatch.encode(pass);
        pass.end();
        if (read !== 'argmax')
          encoder.copyBufferToBuffer(this.argmaxOut, 0, this.readSample, 2 * (1 + TOP_TOKENS) * 4, 4);
        const out = read === 'argmax' ? this.argmaxOut : this.sampleOut;
        const dst = read === 'argmax' ? this.readArgmax : this.readSample;
        encoder.copyBufferToBuffer(out, 0, dst, 0, read === 'argmax' ? 4 : (1 + TOP_TOKENS) * 4);
        if (typeof read === 'object' && read.topN) {
          encoder.copyBufferToBuffer(this.sampleTop, 0, dst, (1 + TOP_TOKENS) * 4, (1 + TOP_TOKENS) * 4);
        }
      } else if (read === 'logits') {
        encoder.copyBufferToBuffer(this.act.logits, 0, this.readLogits, 0, (allRows ? T : 1) * V * 4);
      }
    });
  }

  private async mapped(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    await Promise.race([
      buffer.mapAsync(GPUMapMode.READ, 0, bytes),
      this.gpu.lost.then((e) => Promise.reject(e)),
    ]);
    try {
      return buffer.getMappedRange(0, bytes).slice(0);
    } finally {
      buffer.unmap();
    }
  }

  /** Logits [ids.length, V] of every position, prefilling from position 0. */
  async logitsAll(ids: number[]): Promise<Float32Array> {
    const V = this.cfg.vocabSize;
    const out = new Float32Array(ids.length * V);
    for (let start = 0; start < ids.length; start += this.chunk) {
      const part = ids.slice(start, start + this.chunk);
      await this.pass(part, start, this.prefillAll, true, 'logits');
      out.set(new Float32Array(await this.mapped(this.readLogits, part.length * V * 4)), start * V);
    }
    return out;
  }

  /**
   * Prefills ids at positions from.. (default 0: a whole prompt; later, a suffix after K/V already
   * in the cache) and returns what `read` asks of the last position: its argmax (true), its logits
   * row (false), or a token drawn by the GPU sampler.
   */
  prefill(ids: number[], read: true, from?: number): Promise<number>;
  prefill(ids: number[], read: false, from?: number): Promise<Float32Array>;
  prefill(ids: number[], read: SampleRequest, from?: number): Promise<Sampled>;
  prefill(ids: number[], read: true | SampleRequest, from?: number): Promise<number | Sampled>;
  async prefill(
    ids: number[],
    read: boolean | SampleRequest,
    from = 0,
  ): Promise<number | Float32Array | Sampled> {
    const want = readOf(read);
    for (let start = 0; start < ids.length; start += this.chunk) {
      const part = ids.slice(start, start + this.chunk);
      const last = start + this.chunk >= ids.length;
      await this.pass(part, from + start, this.prefillLast, false, last ? want : 'none');
    }
    return this.readLast(want);
  }

  /** One decode step: token at position pos; returns what `read` asks of the next position (as prefill). */
  step(token: number, pos: number, read: true): Promise<number>;
  step(token: number, pos: number, read: false): Promise<Float32Array>;
  step(token: number, pos: number, read: SampleRequest): Promise<Sampled>;
  step(token: number, pos: number, read: true | SampleRequest): Promise<number | Sampled>;
  async step(
    token: number,
    pos: number,
    read: boolean | SampleRequest,
  ): Promise<number | Float32Array | Sampled> {
    const want = readOf(read);
    await this.pass([token], pos, this.decode, false, want);
    return this.readLast(want);
  }

  /** Sets the ids the sampler's repetition penalty applies to (the prompt, before prefill). */
  setSeen(ids: number[]): void {
    writeSeen(this.gpu, this.seen, ids, this.cfg.vocabSize);
  }

  /** The next-token logits row the last pass left on the GPU (read back on demand: for display). */
  async lastLogits(): Promise<Float32Array> {
    const V = this.cfg.vocabSize;
    return this.gpu.readF32({ buffer: this.act.logits, offset: this.lastRowOffset, size: V * 4 });
  }

  private async readLast(read: Read): Promise<number | Float32Array | Sampled> {
    if (read === 'argmax') return new Uint32Array(await this.mapped(this.readArgmax, 4))[0];
    if (read === 'logits')
      return new Float32Array(await this.mapped(this.readLogits, this.cfg.vocabSize * 4));
    if (read === 'none') throw new Error('nothing was read');
    const n = 1 + TOP_TOKENS;
    const bytes = await this.mapped(this.readSample, (2 * n + 1) * 4);
    const ids = new Uint32Array(bytes, 0, n);
    // The row had no finite maximum: whatever the sampler drew is meaningless.
    if (new Uint32Array(bytes, 2 * n * 4, 1)[0] === NON_FINITE) return { id: NON_FINITE };
    if (!read.topN) return { id: ids[0] };
    const top = new Float32Array(bytes, n * 4, n);
    const valid = [...ids.subarray(1)]
      .map((id, j) => ({ id, logit: top[1 + j] }))
      .filter((e) => e.id !== 0xffffffff);
    return {
      id: ids[0],
      top: { ids: valid.map((e) => e.id), logits: valid.map((e) => e.logit), logSumExp: top[0] },
    };
  }

  /** The most positions one inspect takes: a prefill chunk. */
  get inspectMax(): number {
    return this.chunk;
  }

  private async makeInspection(): Promise<Inspection> {
    const { gpu, cfg, chunk: T } = this;
    const { hidden: C, heads: NH, layers: L, vocabSize: V } = cfg;
    const read = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    const snapshotBytes = (2 * L + 1) * T * C * 4;
    // Layer l's probabilities [NH, T, T] at l * stride (storage offsets align to 256 bytes).
    const stride = Math.ceil((NH * T * T * 4) / 256) * 256;
    const probs = await this.buffer('inspect attention probabilities', L * stride);
    const snapshots = await this.buffer('inspect residual snapshots', snapshotBytes);
    const lensX = await this.buffer('logit lens inputs', L * C * 4);
    const lensH = await this.buffer('logit lens normed', L * C * 4);
    const lensLogits = await this.buffer('logit lens logits', L * V * 4);
    return {
      ops: new GpuOps(gpu, cfg, this.kv, T, false, { buffer: probs, stride }),
      lensOps: new GpuOps(gpu, cfg, this.kv, L, true),
      probs,
      stride,
      snapshots,
      lensX,
      lensH,
      lensLogits,
      readSnapshots: await this.buffer('inspect snapshots readback', snapshotBytes, read),
      readProbs: await this.buffer('inspect probabilities readback', L * stride, read),
      readLens: await this.buffer('logit lens readback', L * V * 4, read),
    };
  }

  /**
   * Runs ids (at most `inspectMax`) from position 0 through the generation's kernels, capturing
   * the residual stream after the embedding and after each layer's attention and whole block
   * (`snapshots` [2L + 1, T, C]: embedding, then per layer attention, block), every layer's
   * attention probabilities (`probs`: layer l's [NH, T, T] at float l * probStride) and the logits
   * of the last position had the stream after each layer gone straight to the final norm and the
   * unembedding (`lens` [L, V]). Overwrites the KV cache from position 0.
   */
  async inspect(
    ids: number[],
  ): Promise<{ snapshots: Float32Array; probs: Float32Array; probStride: number; lens: Float32Array }> {
    const T = ids.length;
    if (!(T >= 1 && T <= this.chunk)) throw new Error(`inspect: 1..${this.chunk} ids, got ${T}`);
    this.inspection ??= this.makeInspection();
    const ins = await this.inspection;
    const { cfg, act } = this;
    const { hidden: C, layers: L, vocabSize: V } = cfg;
    const rowBytes = C * 4;
    this.gpu.write(act.ids, Uint32Array.from(ids));
    ins.ops.begin();
    await forward(ins.ops, cfg, this.weights, act, T, 0, false, async (l, stage) => {
      const k = l < 0 ? 0 : 1 + 2 * l + (stage === 'block' ? 1 : 0);
      await ins.ops.copy(`snapshot ${k}`, act.x, 0, ins.snapshots, k * T * rowBytes, T * rowBytes);
      if (l >= 0 && stage === 'block') {
        await ins.ops.copy(`lens input ${l}`, act.x, (T - 1) * rowBytes, ins.lensX, l * rowBytes, rowBytes);
      }
    });
    ins.ops.submit('inspect', (encoder) => {
      encoder.copyBufferToBuffer(ins.snapshots, 0, ins.readSnapshots, 0, (2 * L + 1) * T * rowBytes);
      encoder.copyBufferToBuffer(ins.probs, 0, ins.readProbs, 0, L * ins.stride);
    });
    // The logit lens: the L captured rows as a batch of L positions through the final norm and unembedding.
    const lens = ins.lensOps;
    lens.begin();
    await lens.norm(ins.lensH, ins.lensX, this.weights.finalNorm, L);
    await lens.unembed(ins.lensLogits, ins.lensH, this.weights.lmHead, L);
    if (cfg.finalSoftcap) await lens.softcap(ins.lensLogits, L);
    lens.submit('logit lens', (encoder) =>
      encoder.copyBufferToBuffer(ins.lensLogits, 0, ins.readLens, 0, L * V * 4),
    );
    const snapshots = new Float32Array(await this.mapped(ins.readSnapshots, (2 * L + 1) * T * rowBytes));
    const probs = new Float32Array(await this.mapped(ins.readProbs, L * ins.stride));
    const lensRows = new Float32Array(await this.mapped(ins.readLens, L * V * 4));
    return { snapshots, probs, probStride: ins.stride / 4, lens: lensRows };
  }

  /** Dispatches one decode step encodes: the forward tape, plus the sampler (or the argmax). */
  decodeDispatchCount(): number {
    return this.decode.dispatches().length + 1;
  }

  /**
   * Each dispatch of the decode tape at position `pos` timed on its own (many calls of it back to
   * back, GPU timestamps when the adapter has them): where the time of a step goes.
   */
  async profileDecode(pos: number): Promise<{ key: string; kernel: string; variant: string; ms: number }[]> {
    await this.pass([0], pos, this.decode, false, 'none');
    await this.gpu.finish();
    const out = [];
    const opts = { targetPassMs: 10, reps: 3, warmup: 1, maxCallsPerPass: 50 };
    for (const { key, dispatch } of this.decode.dispatches()) {
      const t = await timeDispatches(this.gpu, [dispatch], opts);
      out.push({ key, kernel: dispatch.p.kernel, variant: dispatch.p.variant, ms: t.ms });
    }
    const [sampler] = await this.samplers;
    for (const [key, d] of [
      ['argmax (greedy)', this.argmaxDispatch],
      ['sample (temperature 1, top-p 0.95)', sampler.update({ temperature: 1, topP: 0.95, r: 0.5 })],
    ] as const) {
      const t = await timeDispatches(this.gpu, [d], opts);
      out.push({ key, kernel: d.p.kernel, variant: d.p.variant, ms: t.ms });
    }
    return out;
  }

  destroy(): void {
    this.inspection?.then(
      (ins) => {
        ins.ops.destroy();
        ins.lensOps.destroy();
      },
      () => {},
    );
    this.prefillAll?.destroy();
    this.prefillLast?.destroy();
    this.decode?.destroy();
    this.argmaxDispatch?.destroy();
    this.destroyed = true;
    this.samplers?.then(
      (made) => {
        for (const d of made) d.destroy();
      },
      () => {},
    );
    for (const b of this.buffers) b.destroy();
    this.buffers.length = 0;
  }
}

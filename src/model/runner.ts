/**
 * Runs a model on the GPU: weights, KV cache, activations, tapes and readback buffers are created
 * once at load. A prompt is prefilled in chunks with the matrix-matrix kernels; each decode step is
 * one submission (write the token id, replay the decode tape, copy out what sampling needs).
 */
import type { Gpu } from '../gpu/gpu';
import { timeDispatches } from '../gpu/timing';
import { argmax } from '../kernels/argmax';
import type { Dispatch } from '../kernels/dispatch';
import type { ModelConfig } from './config';
import { type Activations, forward, type Weights } from './forward';
import { GpuOps } from './gpu-ops';
import { type Dtype, type GpuKinds, WeightUploader, weightBuffers } from './gpu-weights';
import type { ModelWeights } from './weights';

export interface RunnerOptions {
  dtype: Dtype;
  /** KV cache storage (default 'f32'). */
  kvDtype?: Dtype;
  maxContext: number;
  /** Largest number of prompt positions per prefill submission. */
  prefillChunk?: number;
  /** Ids the sampler may choose: the tokenizer's vocabulary (config.vocab_size may be padded). */
  validVocab: number;
  /** Split weights into blocks of at most this many bytes (default: the binding limit). */
  maxBlockBytes?: number;
  onUpload?: (bytes: number) => void;
}

export class GpuRunner {
  private readonly buffers: GPUBuffer[] = [];
  private weights!: Weights<GpuKinds>;
  private act!: Activations<GPUBuffer>;
  private prefillAll!: GpuOps;
  private prefillLast!: GpuOps;
  private decode!: GpuOps;
  private argmaxOut!: GPUBuffer;
  private argmaxDispatch!: Dispatch<{ R: number }>;
  private readLogits!: GPUBuffer;
  private readArgmax!: GPUBuffer;
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
    const uploader = new WeightUploader(gpu, this.opts.dtype, this.opts.maxBlockBytes, this.opts.onUpload);
    try {
      this.weights = await uploader.all(w);
    } finally {
      this.weightBytes = uploader.uploaded;
    }
    this.buffers.push(...weightBuffers(this.weights));

    const f16 = this.opts.kvDtype === 'f16';
    const kv = { k: [] as GPUBuffer[], v: [] as GPUBuffer[], maxContext: this.opts.maxContext, f16 };
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
      qkv: await this.buffer('qkv', f32(T * (NH + 2 * NKV) * HS)),
      att: await this.buffer('att', f32(T * NH * HS)),
      f: await this.buffer('f', f32(T * 2 * F)),
      g: await this.buffer('g', f32(T * F)),
      last: await this.buffer('last', f32(C)),
      logits: await this.buffer('logits', f32(T * V)),
    };
    this.argmaxOut = await this.buffer('argmax', 4);
    this.argmaxDispatch = await argmax(gpu, this.argmaxOut, this.act.logits, 1, this.opts.validVocab);
    const read = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    this.readLogits = await this.buffer('logits readback', f32(T * V), read);
    this.readArgmax = await this.buffer('argmax readback', 4, read);

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
  }

  /** Runs ids at positions pos.. through one tape and submits, with an optional readback copy. */
  private async pass(
    ids: number[],
    pos: number,
    ops: GpuOps,
    allRows: boolean,
    read: 'logits' | 'argmax' | 'none',
  ) {
    const T = ids.length;
    this.gpu.write(this.act.ids, Uint32Array.from(ids));
    ops.begin();
    await forward(ops, this.cfg, this.weights, this.act, T, pos, allRows);
    const V = this.cfg.vocabSize;
    ops.submit('forward', (encoder) => {
      if (read === 'argmax') {
        const pass = encoder.beginComputePass();
        this.argmaxDispatch.encode(pass);
        pass.end();
        encoder.copyBufferToBuffer(this.argmaxOut, 0, this.readArgmax, 0, 4);
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
   * Prefills a prompt from position 0 and returns what sampling needs of the last position:
   * its logits row, or only its argmax when `greedy`.
   */
  async prefill(ids: number[], greedy: boolean): Promise<Float32Array | number> {
    for (let start = 0; start < ids.length; start += this.chunk) {
      const part = ids.slice(start, start + this.chunk);
      const last = start + this.chunk >= ids.length;
      await this.pass(part, start, this.prefillLast, false, last ? (greedy ? 'argmax' : 'logits') : 'none');
    }
    return this.readLast(greedy);
  }

  /** One decode step: token at position pos; returns the next logits row or its argmax. */
  async step(token: number, pos: number, greedy: boolean): Promise<Float32Array | number> {
    await this.pass([token], pos, this.decode, false, greedy ? 'argmax' : 'logits');
    return this.readLast(greedy);
  }

  private async readLast(greedy: boolean): Promise<Float32Array | number> {
    if (greedy) return new Uint32Array(await this.mapped(this.readArgmax, 4))[0];
    return new Float32Array(await this.mapped(this.readLogits, this.cfg.vocabSize * 4));
  }

  /** Dispatches one decode step encodes: the forward tape, plus the argmax of a greedy step. */
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
    const argmax = await timeDispatches(this.gpu, [this.argmaxDispatch], opts);
    out.push({ key: 'argmax', kernel: 'argmax', variant: this.argmaxDispatch.p.variant, ms: argmax.ms });
    return out;
  }

  destroy(): void {
    this.prefillAll?.destroy();
    this.prefillLast?.destroy();
    this.decode?.destroy();
    this.argmaxDispatch?.destroy();
    for (const b of this.buffers) b.destroy();
    this.buffers.length = 0;
  }
}

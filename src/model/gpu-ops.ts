/**
 * The GPU implementation of `Ops`. The first forward pass records one prepared Dispatch per op
 * (pipelines, bind groups and uniforms created once); every later pass replays the same tape,
 * rewriting only the small uniforms that carry T and pos, and is submitted as one command buffer.
 */

import { layerAttention, type ModelConfig } from '../checkpoint/config';
import { type RopeConfig, ropeFrequencies } from '../checkpoint/rope';
import { layernorm as layernormCpu } from '../cpu/layernorm';
import { rmsnorm as rmsnormCpu } from '../cpu/rmsnorm';
import type { BufferRef, Gpu } from '../gpu/gpu';
import { attention } from '../kernels/attention';
import { type AnyDispatch, type Dispatch, partsOf } from '../kernels/dispatch';
import { embedding } from '../kernels/embedding';
import { gelu } from '../kernels/gelu';
import { glu } from '../kernels/glu';
import { kv_append } from '../kernels/kv_append';
import { layernorm } from '../kernels/layernorm';
import { matmul } from '../kernels/matmul';
import { qk_norm } from '../kernels/qk_norm';
import { residual } from '../kernels/residual';
import { rmsnorm } from '../kernels/rmsnorm';
import { rope } from '../kernels/rope';
import { softcap } from '../kernels/softcap';
import { gluActivation } from './cpu-ops';
import type { Ops } from './forward';
import type { GpuKinds, GpuLinear, GpuNorm, GpuTable } from './gpu-weights';
import { chooseAttention, chooseMatmul, chooseReductionWg, normCheckData } from './kernel-choice';

/** A copy between buffers, recorded on the tape like a dispatch (it splits the compute pass). */
class Copy {
  constructor(
    readonly src: GPUBuffer,
    readonly dst: GPUBuffer,
    public srcOffset: number,
    public size: number,
    public dstOffset = 0,
  ) {}
}

type Step = { kind: 'dispatch'; d: AnyDispatch } | { kind: 'copy'; c: Copy };

export interface KvCache {
  k: GPUBuffer[];
  v: GPUBuffer[];
  maxContext: number;
  /** Packed halves (two per u32) instead of f32. */
  f16: boolean;
}

export class GpuOps implements Ops<GPUBuffer, GpuKinds> {
  private tape: { key: string; step: Step }[] = [];
  private at = 0;
  private recorded: { key: string; step: Step }[] = [];
  /** The rotary frequency table of each distinct rope setting, uploaded once. */
  private frequencies = new Map<RopeConfig, GPUBuffer>();

  constructor(
    readonly gpu: Gpu,
    readonly cfg: ModelConfig,
    readonly kv: KvCache,
    /** The largest T this tape runs; 1 selects the matrix-vector (decode) kernels. */
    readonly maxT: number,
    /** Whether the unembedding runs on every row (logits of every position) or only on the last. */
    readonly allRows = true,
    /**
     * Inspection: attention also writes its probabilities, layer l's [NH, T, T] at byte l * stride
     * of this buffer (the online kernel, whatever the tuning chose for generation).
     */
    readonly probs?: { buffer: GPUBuffer; stride: number },
  ) {}

  /** Starts recording or replaying one forward pass. */
  begin(): void {
    this.at = 0;
    this.recorded = [];
  }

  /** Encodes the pass into one command encoder and submits it. */
  submit(label: string, extra?: (encoder: GPUCommandEncoder) => void): void {
    const device = this.gpu.device;
    const encoder = device.createCommandEncoder({ label });
    let pass: GPUComputePassEncoder | undefined;
    for (const { step: s } of this.recorded) {
      if (s.kind === 'dispatch') {
        pass ??= encoder.beginComputePass({ label });
        s.d.encode(pass);
      } else {
        pass?.end();
        pass = undefined;
        encoder.copyBufferToBuffer(s.c.src, s.c.srcOffset, s.c.dst, s.c.dstOffset, s.c.size);
      }
    }
    pass?.end();
    extra?.(encoder);
    device.queue.submit([encoder.finish()]);
  }

  /**
   * The tape entry of the current op: created on the first pass (for T = maxT at position 0,
   * the dimensions it must serve), then reused and moved to this pass's dims.
   */
  private async use<D>(key: string, make: () => Promise<AnyDispatch>, dims: D): Promise<void> {
    let entry = this.tape[this.at];
    if (!entry) {
      entry = { key, step: { kind: 'dispatch', d: await make() } };
      this.tape[this.at] = entry;
    } else if (entry.key !== key) {
      throw new Error(`forward pass changed between calls: op ${this.at} was ${entry.key}, now ${key}`);
    }
    this.at++;
    if (entry.step.kind === 'dispatch') {
      entry.step.d.update(dims);
      this.recorded.push(entry);
    }
  }

  async embed(
    out: GPUBuffer,
    ids: GPUBuffer,
    wte: GpuTable,
    wpe: GpuTable | undefined,
    T: number,
    pos: number,
  ) {
    const C = this.cfg.hidden;
    for (const block of wte.blocks) {
      await this.use(
        `embed ${wte.name} ${block.start}`,
        () =>
          embedding(this.gpu, out, ids, block.w, wpe ? wpe.blocks[0].w : null, this.maxT, C, {
            pos: 0,
            rowStart: block.start,
            rows: block.rows,
            format: block.format,
            scale: this.cfg.embedScale,
          }),
        { T, pos },
      );
    }
  }

  async norm(out: GPUBuffer, x: GPUBuffer, w: GpuNorm, T: number) {
    const { gpu, maxT } = this;
    const C = this.cfg.hidden;
    const eps = this.cfg.normEps;
    const ln = this.cfg.norm === 'layernorm';
    type Bufs = { out: BufferRef; x: BufferRef; w: BufferRef; b?: BufferRef };
    const build = (WG: number, R: number, f: Bufs) =>
      ln
        ? layernorm(gpu, f.out, f.x, f.w, f.b!, R, C, { eps, WG })
        : rmsnorm(gpu, f.out, f.x, f.w, R, C, { eps, WG });
    await this.use(
      `${this.cfg.norm} ${w.name}`,
      async () => {
        const WG = await chooseReductionWg(
          gpu,
          this.cfg.norm,
          { R: maxT, C },
          (wg, up) => build(wg, 3, { out: up.out.out, x: up.inp.x, w: up.inp.w, b: up.inp.b }),
          () =>
            normCheckData(C, (o, xs, ws, bs, R) =>
              ln ? layernormCpu(o, xs, ws, bs, R, C, { eps }) : rmsnormCpu(o, xs, ws, R, C, { eps }),
            ),
          (wg) => build(wg, maxT, { out, x, w: w.w, b: w.b }),
        );
        return build(WG, maxT, { out, x, w: w.w, b: w.b });
      },
      { R: T },
    );
  }

  async add(out: GPUBuffer, x: GPUBuffer, T: number) {
    const C = this.cfg.hidden;
    await this.use('add', () => residual(this.gpu, out, out, x, this.maxT * C), { N: T * C });
  }

  async qkNorm(qkv: GPUBuffer, w: GpuNorm, T: number) {
    const { heads: NH, kvHeads: NKV, headDim: HS, normEps: eps } = this.cfg;
    await this.use(
      `qk_norm ${w.name}`,
      () => qk_norm(this.gpu, qkv, w.w, this.maxT, NH, NKV, HS, { eps, rowStride: (NH + 2 * NKV) * HS }),
      { T },
    );
  }

  async linear(out: GPUBuffer, x: GPUBuffer, w: GpuLinear, T: number) {
    await this.matmul(out, x, w, T, false, this.maxT);
  }

  async linearAdd(out: GPUBuffer, x: GPUBuffer, w: GpuLinear, T: number) {
    await this.matmul(out, x, w, T, true, this.maxT);
  }

  /** One dispatch per column block of the weight, each with the kernel tuned for its shape. */
  private async matmul(
    out: GPUBuffer,
    x: GPUBuffer,
    w: GpuLinear,
    T: number,
    accumulate: boolean,
    /** The most rows this op ever gets: its kernel is chosen and created for them. */
    maxRows: number,
  ) {
    for (const block of w.blocks) {
      await this.use(
        `matmul ${w.name} ${block.start}${accumulate ? ' +=' : ''}`,
        async () => {
          const shape = {
            M: maxRows,
            K: w.K,
            N: block.rows,
            wLayout: w.layout,
            format: block.format,
            bias: !!block.b,
            accumulate,
            outStride: w.N,
            outOffset: block.start,
          };
          const bindings = { out, x, w: block.w, bias: block.b ?? null };
          const kernel = await chooseMatmul(this.gpu, shape, bindings);
          return matmul(this.gpu, out, x, block.w, block.b ?? null, maxRows, w.K, block.rows, {
            ...shape,
            kernel,
          });
        },
        { M: T },
      );
    }
  }

  async rope(qkv: GPUBuffer, layer: number, T: number, pos: number) {
    const { heads: NH, kvHeads: NKV, headDim: HS } = this.cfg;
    const r = layerAttention(this.cfg, layer).rope!;
    await this.use(
      `rope ${layer}`,
      async () => {
        let invFreq = this.frequencies.get(r);
        if (!invFreq) {
          invFreq = await this.gpu.upload('rope frequencies', ropeFrequencies(r));
          this.frequencies.set(r, invFreq);
        }
        return rope(this.gpu, qkv, invFreq, this.maxT, NH + NKV, HS, {
          pos: 0,
          layout: r.layout,
          rotaryDim: r.rotaryDim,
          rowStride: (NH + 2 * NKV) * HS,
        });
      },
      { T, pos },
    );
  }

  async attention(out: GPUBuffer, qkv: GPUBuffer, layer: number, T: number, pos: number) {
    const { heads: NH, kvHeads: NKV, headDim: HS } = this.cfg;
    const D = NKV * HS;
    const S = (NH + 2 * NKV) * HS;
    const kc = this.kv.k[layer];
    const vc = this.kv.v[layer];
    await this.use(
      `kv_append ${layer}`,
      () =>
        kv_append(this.gpu, kc, vc, qkv, qkv, this.maxT, D, {
          pos: 0,
          srcStride: S,
          kOffset: NH * HS,
          vOffset: NH * HS + D,
          f16Cache: this.kv.f16,
        }),
      { T, pos },
    );
    await this.use(
      `attention ${layer}`,
      async () => {
        const shape = {
          T: this.maxT,
          NH,
          NKV,
          HS,
          ctx: this.kv.maxContext,
          qStride: S,
          f16Cache: this.kv.f16,
        };
        const probs = this.probs && {
          buffer: this.probs.buffer,
          offset: layer * this.probs.stride,
          size: NH * this.maxT * this.maxT * 4,
        };
        // With probabilities: the kernel tuned for this shape, without its split if it has one.
        const tuned = await chooseAttention(this.gpu, shape, { out, q: qkv, kCache: kc, vCache: vc });
        const kernel = probs && tuned.chunk !== undefined ? { method: tuned.method, wg: tuned.wg } : tuned;
        return attention(this.gpu, out, qkv, kc, vc, this.maxT, NH, NKV, HS, {
          probs,
          pos: 0,
          qStride: S,
          f16Cache: this.kv.f16,
          kernel,
          scale: this.cfg.attnScale,
          softcap: this.cfg.attnSoftcap,
          window: layerAttention(this.cfg, layer).window,
        });
      },
      { T, pos },
    );
  }

  async gelu(out: GPUBuffer, x: GPUBuffer, T: number) {
    const N = this.maxT * this.cfg.ffn;
    const approximate = this.cfg.activation === 'gelu' ? 'none' : 'tanh';
    await this.use('gelu', () => gelu(this.gpu, out, x, N, { approximate }), { N: T * this.cfg.ffn });
  }

  async glu(out: GPUBuffer, gateUp: GPUBuffer, T: number) {
    const activation = gluActivation(this.cfg);
    await this.use('glu', () => glu(this.gpu, out, gateUp, this.maxT, this.cfg.ffn, { activation }), {
      R: T,
    });
  }

  /** Records a copy at this point of the pass; its offsets and size may change from pass to pass. */
  async copy(
    key: string,
    src: GPUBuffer,
    srcOffset: number,
    dst: GPUBuffer,
    dstOffset: number,
    size: number,
  ) {
    let entry = this.tape[this.at];
    if (!entry) {
      entry = { key, step: { kind: 'copy', c: new Copy(src, dst, srcOffset, size, dstOffset) } };
      this.tape[this.at] = entry;
    }
    if (entry.key !== key || entry.step.kind !== 'copy') {
      throw new Error(`forward pass changed between calls: op ${this.at} was ${entry.key}, now ${key}`);
    }
    this.at++;
    Object.assign(entry.step.c, { srcOffset, dstOffset, size });
    this.recorded.push(entry);
  }

  async lastRow(out: GPUBuffer, x: GPUBuffer, T: number) {
    const bytes = this.cfg.hidden * 4;
    let entry = this.tape[this.at];
    if (!entry) {
      entry = { key: 'lastRow', step: { kind: 'copy', c: new Copy(x, out, 0, bytes) } };
      this.tape[this.at] = entry;
    }
    this.at++;
    if (entry.step.kind !== 'copy') throw new Error('forward pass changed between calls at lastRow');
    entry.step.c.srcOffset = (T - 1) * bytes;
    this.recorded.push(entry);
  }

  async unembed(out: GPUBuffer, x: GPUBuffer, table: GpuTable, T: number) {
    const w: GpuLinear = {
      ...table,
      name: `unembed ${table.name}`,
      layout: 'NK',
      N: table.rows,
      K: table.cols,
    };
    await this.matmul(out, x, w, T, false, this.allRows ? this.maxT : 1);
  }

  async softcap(logits: GPUBuffer, T: number) {
    const V = this.cfg.vocabSize;
    const rows = this.allRows ? this.maxT : 1;
    await this.use('softcap', () => softcap(this.gpu, logits, rows * V, this.cfg.finalSoftcap!), {
      N: T * V,
    });
  }

  /** The dispatches of the last pass, in order, each with its op's key (copies left out). */
  dispatches(): { key: string; dispatch: Dispatch<unknown> }[] {
    return this.recorded.flatMap(({ key, step }) =>
      step.kind === 'dispatch' ? partsOf(step.d).map((dispatch) => ({ key, dispatch })) : [],
    );
  }

  /** Frees the uniforms of every recorded dispatch. */
  destroy(): void {
    for (const e of this.tape) if (e.step.kind === 'dispatch') e.step.d.destroy();
    this.tape = [];
    for (const b of this.frequencies.values()) b.destroy();
    this.frequencies.clear();
  }
}

/**
 * The GPU implementation of `Ops`. The first forward pass records one prepared Dispatch per op
 * (pipelines, bind groups and uniforms created once); every later pass replays the same tape,
 * rewriting only the small uniforms that carry T and pos, and is submitted as one command buffer.
 */
import type { Gpu } from '../gpu/gpu';
import { attention } from '../kernels/attention';
import type { AnyDispatch } from '../kernels/dispatch';
import { embedding } from '../kernels/embedding';
import { gelu } from '../kernels/gelu';
import { kv_append } from '../kernels/kv_append';
import { layernorm } from '../kernels/layernorm';
import { matmul } from '../kernels/matmul';
import { residual } from '../kernels/residual';
import { rmsnorm } from '../kernels/rmsnorm';
import { rope } from '../kernels/rope';
import { silu_mul } from '../kernels/silu_mul';
import type { ModelConfig } from './config';
import type { Ops } from './forward';
import type { GpuKinds, GpuLinear, GpuNorm, GpuTable } from './gpu-weights';

/** A copy between buffers, recorded on the tape like a dispatch (it splits the compute pass). */
class Copy {
  constructor(
    readonly src: GPUBuffer,
    readonly dst: GPUBuffer,
    public srcOffset: number,
    readonly size: number,
  ) {}
}

type Step = { kind: 'dispatch'; d: AnyDispatch } | { kind: 'copy'; c: Copy };

export interface KvCache {
  k: GPUBuffer[];
  v: GPUBuffer[];
  maxContext: number;
}

export class GpuOps implements Ops<GPUBuffer, GpuKinds> {
  private tape: { key: string; step: Step }[] = [];
  private at = 0;
  private recorded: Step[] = [];

  constructor(
    readonly gpu: Gpu,
    readonly cfg: ModelConfig,
    readonly kv: KvCache,
    /** The largest T this tape runs; 1 selects the matrix-vector (decode) kernels. */
    readonly maxT: number,
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
    for (const s of this.recorded) {
      if (s.kind === 'dispatch') {
        pass ??= encoder.beginComputePass({ label });
        s.d.encode(pass);
      } else {
        pass?.end();
        pass = undefined;
        encoder.copyBufferToBuffer(s.c.src, s.c.srcOffset, s.c.dst, 0, s.c.size);
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
      this.recorded.push(entry.step);
    }
  }

  private get decode(): boolean {
    return this.maxT === 1;
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
            f16: wte.f16,
          }),
        { T, pos },
      );
    }
  }

  async norm(out: GPUBuffer, x: GPUBuffer, w: GpuNorm, T: number) {
    const C = this.cfg.hidden;
    const eps = this.cfg.normEps;
    if (this.cfg.norm === 'layernorm') {
      await this.use(
        `layernorm ${w.name}`,
        () => layernorm(this.gpu, out, x, w.w, w.b!, this.maxT, C, { eps }),
        {
          R: T,
        },
      );
    } else {
      await this.use(`rmsnorm ${w.name}`, () => rmsnorm(this.gpu, out, x, w.w, this.maxT, C, { eps }), {
        R: T,
      });
    }
  }

  async linear(out: GPUBuffer, x: GPUBuffer, w: GpuLinear, T: number) {
    for (const block of w.blocks) {
      await this.use(
        `matmul ${w.name} ${block.start}`,
        () =>
          matmul(this.gpu, out, x, block.w, block.b ?? null, this.maxT, w.K, block.rows, {
            wLayout: w.layout,
            f16: w.f16,
            outStride: w.N,
            outOffset: block.start,
            decode: this.decode,
          }),
        { M: T },
      );
    }
  }

  async rope(x: GPUBuffer, heads: number, T: number, pos: number) {
    const rope_ = this.cfg.rope!;
    await this.use(
      `rope ${heads}`,
      () =>
        rope(this.gpu, x, this.maxT, heads, this.cfg.headDim, {
          pos: 0,
          theta: rope_.theta,
          layout: rope_.layout,
          rotaryDim: rope_.rotaryDim,
        }),
      { T, pos },
    );
  }

  async attention(
    out: GPUBuffer,
    q: GPUBuffer,
    k: GPUBuffer,
    v: GPUBuffer,
    layer: number,
    T: number,
    pos: number,
  ) {
    const { heads, kvHeads, headDim } = this.cfg;
    const kc = this.kv.k[layer];
    const vc = this.kv.v[layer];
    await this.use(
      `kv_append ${layer}`,
      () => kv_append(this.gpu, kc, vc, k, v, this.maxT, kvHeads * headDim, { pos: 0 }),
      { T, pos },
    );
    await this.use(
      `attention ${layer}`,
      () => attention(this.gpu, out, q, kc, vc, this.maxT, heads, kvHeads, headDim, { pos: 0 }),
      { T, pos },
    );
  }

  async gelu(out: GPUBuffer, x: GPUBuffer, T: number) {
    const N = this.maxT * this.cfg.ffn;
    const approximate = this.cfg.activation === 'gelu' ? 'none' : 'tanh';
    await this.use('gelu', () => gelu(this.gpu, out, x, N, { approximate }), { N: T * this.cfg.ffn });
  }

  async siluMul(out: GPUBuffer, gate: GPUBuffer, up: GPUBuffer, T: number) {
    const N = this.maxT * this.cfg.ffn;
    await this.use('silu_mul', () => silu_mul(this.gpu, out, gate, up, N), { N: T * this.cfg.ffn });
  }

  async add(out: GPUBuffer, a: GPUBuffer, b: GPUBuffer, T: number) {
    const N = this.maxT * this.cfg.hidden;
    await this.use('residual', () => residual(this.gpu, out, a, b, N), { N: T * this.cfg.hidden });
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
    this.recorded.push(entry.step);
  }

  async unembed(out: GPUBuffer, x: GPUBuffer, table: GpuTable, T: number) {
    await this.linear(
      out,
      x,
      { ...table, name: `unembed ${table.name}`, layout: 'NK', N: table.rows, K: table.cols },
      T,
    );
  }

  /** Frees the uniforms of every recorded dispatch. */
  destroy(): void {
    for (const e of this.tape) if (e.step.kind === 'dispatch') e.step.d.destroy();
    this.tape = [];
  }
}

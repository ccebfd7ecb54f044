/**
 * Uploading the canonical weights (src/model/weights.ts) to the GPU once: f32, or f16 packed two
 * per u32 (each row packed on its own, so a row starts at a u32 boundary). A table or linear layer
 * larger than the device's storage-binding limit is split into blocks of output rows, each its own
 * buffer; the kernels write each block's slice of the output (matmul outOffset, embedding rowStart).
 */
import { packF16 } from '../formats/f16';
import type { Gpu } from '../gpu/gpu';
import type { Weights } from './forward';
import type { Linear, Matrix, ModelWeights, Norm } from './weights';

export type Dtype = 'f32' | 'f16';

/** A block of output rows [start, start + rows) of a table or linear layer. */
export interface GpuBlock {
  start: number;
  rows: number;
  w: GPUBuffer;
  b?: GPUBuffer;
}

/** A [rows, cols] table; rows are output units (tokens for embeddings, logits for the unembedding). */
export interface GpuTable {
  name: string;
  rows: number;
  cols: number;
  f16: boolean;
  blocks: GpuBlock[];
}

export interface GpuLinear {
  name: string;
  layout: 'NK' | 'KN';
  N: number;
  K: number;
  f16: boolean;
  blocks: GpuBlock[];
}

export interface GpuNorm {
  name: string;
  w: GPUBuffer;
  b?: GPUBuffer;
}

export interface GpuKinds {
  table: GpuTable;
  linear: GpuLinear;
  norm: GpuNorm;
}

/** Packs each of `rows` rows of `cols` floats separately into ceil(cols/2) u32s. */
export function packRowsF16(w: Float32Array, rows: number, cols: number): Uint32Array {
  const stride = Math.ceil(cols / 2);
  const out = new Uint32Array(rows * stride);
  for (let r = 0; r < rows; r++) out.set(packF16(w.subarray(r * cols, (r + 1) * cols)), r * stride);
  return out;
}

/** Copies columns [c0, c0 + n) of a [rows, cols] matrix. */
function columns(w: Float32Array, rows: number, cols: number, c0: number, n: number): Float32Array {
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) out.set(w.subarray(r * cols + c0, r * cols + c0 + n), r * n);
  return out;
}

export class WeightUploader {
  /** Bytes uploaded so far. */
  uploaded = 0;
  constructor(
    readonly gpu: Gpu,
    readonly dtype: Dtype,
    /** The largest buffer a block may take: the storage-binding limit unless a test forces a smaller one. */
    readonly maxBlockBytes: number = Math.min(
      gpu.limits.maxStorageBufferBindingSize,
      gpu.limits.maxBufferSize,
    ),
    readonly onBytes: (bytes: number) => void = () => {},
  ) {}

  private async put(name: string, data: Float32Array | Uint32Array): Promise<GPUBuffer> {
    const b = await this.gpu.upload(name, data);
    this.uploaded += data.byteLength;
    this.onBytes(data.byteLength);
    return b;
  }

  /** Output rows per block: the most that fit in one binding (even, so f16 pairs never split). */
  private rowsPerBlock(name: string, bytesPerRow: number, total: number): number {
    const fit = Math.floor(this.maxBlockBytes / bytesPerRow);
    const rows = Math.min(total, fit - (fit % 2));
    if (rows < 1) throw new Error(`${name}: one row of ${bytesPerRow} bytes exceeds the binding limit`);
    return rows;
  }

  /** A row-major [rows, cols] matrix whose rows are the output units, stored as-is or packed f16. */
  private async rowBlocks(
    name: string,
    data: Float32Array,
    rows: number,
    cols: number,
    bias?: Float32Array,
    f16 = this.dtype === 'f16',
  ) {
    const rowBytes = (f16 ? Math.ceil(cols / 2) : cols) * 4;
    const per = this.rowsPerBlock(name, rowBytes, rows);
    const blocks: GpuBlock[] = [];
    for (let start = 0; start < rows; start += per) {
      const n = Math.min(per, rows - start);
      const part = data.subarray(start * cols, (start + n) * cols);
      const w = await this.put(`${name}[${start}:]`, f16 ? packRowsF16(part, n, cols) : part);
      const b = bias ? await this.put(`${name}.bias[${start}:]`, bias.subarray(start, start + n)) : undefined;
      blocks.push({ start, rows: n, w, b });
    }
    return blocks;
  }

  /** A table; `f16` false keeps it f32 whatever the dtype (learned positions: the embedding kernel reads them as f32). */
  async table(t: Matrix, f16 = this.dtype === 'f16'): Promise<GpuTable> {
    const blocks = await this.rowBlocks(t.name, t.data, t.rows, t.cols, undefined, f16);
    return { name: t.name, rows: t.rows, cols: t.cols, f16, blocks };
  }

  async linear(l: Linear): Promise<GpuLinear> {
    const f16 = this.dtype === 'f16';
    if (l.layout === 'NK') {
      const blocks = await this.rowBlocks(l.name, l.w, l.N, l.K, l.b);
      return { name: l.name, layout: 'NK', N: l.N, K: l.K, f16, blocks };
    }
    // KN (GPT-2 Conv1D): output units are columns; a block is a column range, copied out.
    const bytesPerOut = l.K * 4;
    const per = this.rowsPerBlock(l.name, bytesPerOut, l.N);
    const blocks: GpuBlock[] = [];
    for (let start = 0; start < l.N; start += per) {
      const n = Math.min(per, l.N - start);
      const part = per >= l.N ? l.w : columns(l.w, l.K, l.N, start, n);
      const w = await this.put(`${l.name}[:, ${start}:]`, f16 ? packRowsF16(part, l.K, n) : part);
      const b = l.b ? await this.put(`${l.name}.bias[${start}:]`, l.b.subarray(start, start + n)) : undefined;
      blocks.push({ start, rows: n, w, b });
    }
    return { name: l.name, layout: 'KN', N: l.N, K: l.K, f16, blocks };
  }

  async norm(n: Norm): Promise<GpuNorm> {
    const w = await this.put(n.name, n.w);
    const b = n.b ? await this.put(`${n.name}.bias`, n.b) : undefined;
    return { name: n.name, w, b };
  }

  /** Uploads every weight; the tied unembedding shares the embedding's buffers. */
  async all(m: ModelWeights): Promise<Weights<GpuKinds>> {
    const wte = await this.table(m.wte);
    const wpe = m.wpe ? await this.table(m.wpe, false) : undefined;
    const layers = [];
    for (const l of m.layers) {
      layers.push({
        attnNorm: await this.norm(l.attnNorm),
        qkv: await this.linear(l.qkv),
        o: await this.linear(l.o),
        mlpNorm: await this.norm(l.mlpNorm),
        fc: l.fc && (await this.linear(l.fc)),
        proj: l.proj && (await this.linear(l.proj)),
        gateUp: l.gateUp && (await this.linear(l.gateUp)),
        down: l.down && (await this.linear(l.down)),
      });
    }
    const finalNorm = await this.norm(m.finalNorm);
    const lmHead = m.lmHead === m.wte ? wte : await this.table(m.lmHead);
    return { wte, wpe, layers, finalNorm, lmHead };
  }
}

/** Every buffer of an uploaded model, for dispose(). */
export function weightBuffers(w: Weights<GpuKinds>): GPUBuffer[] {
  const out = new Set<GPUBuffer>();
  const add = (x: { blocks?: GpuBlock[]; w?: GPUBuffer; b?: GPUBuffer } | undefined) => {
    if (!x) return;
    for (const b of x.blocks ?? []) {
      out.add(b.w);
      if (b.b) out.add(b.b);
    }
    if (x.w) out.add(x.w);
    if (x.b) out.add(x.b);
  };
  add(w.wte);
  add(w.wpe);
  add(w.finalNorm);
  add(w.lmHead);
  for (const l of w.layers) for (const x of Object.values(l)) add(x as GpuLinear);
  return [...out];
}

/**
 * Uploading the checkpoint's weights (src/checkpoint/weights.ts) to the GPU once, tensor by tensor
 * and block by block, reading each block's rows from the file only when it is uploaded. Each
 * weight takes the GPU format `gpuFormat` gives it: quantized tensors stay in their block layout,
 * float tensors become f32 or packed f16, or are quantized at load (dtype 'q8' / 'q4'). A table or
 * linear layer larger than the device's storage-binding limit is split into blocks of output rows,
 * each its own buffer; the kernels write each block's slice of the output (matmul outOffset,
 * embedding rowStart). Stacked parts of one linear (q, k, v) share a block when they share a format.
 */

import {
  matrixShape,
  memoryTensor,
  readF32,
  readRowsF32,
  rowBytes,
  type StoredTensor,
} from '../checkpoint/tensor';
import type { Linear, Matrix, ModelWeights, Norm } from '../checkpoint/weights';
import { type Dtype, encodeRows, gpuFormat, transpose } from '../formats/convert';
import { type GpuWeightFormat, gpuRowBytes, isQuant } from '../formats/formats';
import type { Gpu } from '../gpu/gpu';
import type { Weights } from './forward';

export type { Dtype } from '../formats/convert';

/** A block of output rows [start, start + rows) of a table or linear layer, in one format. */
export interface GpuBlock {
  start: number;
  rows: number;
  format: GpuWeightFormat;
  w: GPUBuffer;
  b?: GPUBuffer;
}

/** A [rows, cols] table; rows are output units (tokens for embeddings, logits for the unembedding). */
export interface GpuTable {
  name: string;
  rows: number;
  cols: number;
  blocks: GpuBlock[];
}

export interface GpuLinear {
  name: string;
  /** 'KN' only for f32 / f16 Conv1D weights; quantized weights are always 'NK'. */
  layout: 'NK' | 'KN';
  N: number;
  K: number;
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

/** Rows [r0, r1) of a [rows, cols] tensor in a GPU format: raw bytes when it is stored so, else converted. */
async function rowsIn(t: StoredTensor, r0: number, r1: number, format: GpuWeightFormat): Promise<Uint8Array> {
  const { cols } = matrixShape(t);
  const raw = t.format === format && (format !== 'f16' || cols % 2 === 0);
  if (raw) return t.read(r0 * rowBytes(t), r1 * rowBytes(t));
  return encodeRows(await readRowsF32(t, r0, r1), r1 - r0, cols, format);
}

/** Columns [c0, c0 + n) of a [rows, cols] matrix. */
function columns(w: Float32Array, rows: number, cols: number, c0: number, n: number): Float32Array {
  const out = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) out.set(w.subarray(r * cols + c0, r * cols + c0 + n), r * n);
  return out;
}

/** GPU bytes of every weight under a dtype: what the uploader will upload. */
export function uploadBytes(m: ModelWeights, dtype: Dtype | undefined): number {
  let n = 0;
  const small = (a?: Float32Array) => (n += a?.byteLength ?? 0);
  const table = (t: Matrix) => {
    n += t.rows * gpuRowBytes(gpuFormat(t.tensor.format, dtype, t.cols), t.cols);
    small(t.bias);
  };
  const linear = (l?: Linear) => {
    if (!l) return;
    for (const p of l.parts) {
      const { rows, cols } = matrixShape(p);
      const f = gpuFormat(p.format, dtype, l.K);
      // An NK part is [n_i, K] (stacked parts such as q, k, v each count their own rows); a KN weight
      // (one part) kept as floats is [K, N], quantized it is transposed to [N, K].
      if (l.layout === 'NK') n += rows * gpuRowBytes(f, l.K);
      else n += isQuant(f) ? l.N * gpuRowBytes(f, l.K) : rows * gpuRowBytes(f, cols);
    }
    small(l.b);
  };
  table(m.wte);
  if (m.wpe) n += m.wpe.rows * m.wpe.cols * 4;
  if (m.lmHead !== m.wte) table(m.lmHead);
  small(m.finalNorm.w);
  small(m.finalNorm.b);
  for (const l of m.layers) {
    for (const x of [l.attnNorm, l.qkNorm, l.postAttnNorm, l.mlpNorm, l.postMlpNorm]) {
      small(x?.w);
      small(x?.b);
    }
    for (const x of [l.qkv, l.o, l.fc, l.proj, l.gateUp, l.down]) linear(x);
  }
  return n;
}

/** Bytes read, converted and written at a time: what a block costs in host memory, whatever its size. */
export const CHUNK_BYTES = 16 << 20;

/** Writes a buffer front to back from pieces of any length, in aligned writes of up to CHUNK_BYTES. */
class ChunkWriter {
  private pending = new Uint8Array(0);
  private fill = 0;
  private offset = 0;
  constructor(
    private readonly gpu: Gpu,
    private readonly buffer: GPUBuffer,
    /** A multiple of 4. */
    private readonly chunk: number,
  ) {}

  push(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; ) {
      if (this.fill === 0 && bytes.length - at >= this.chunk) {
        // A whole chunk straight from the piece.
        this.gpu.write(this.buffer, bytes.subarray(at, at + this.chunk), this.offset);
        this.offset += this.chunk;
        at += this.chunk;
        continue;
      }
      if (this.pending.length === 0) this.pending = new Uint8Array(this.chunk);
      const n = Math.min(this.chunk - this.fill, bytes.length - at);
      this.pending.set(bytes.subarray(at, at + n), this.fill);
      this.fill += n;
      at += n;
      if (this.fill === this.chunk) this.flush();
    }
  }

  /** Writes what is left (padded to whole words by Gpu.write). */
  end(): void {
    this.flush();
  }

  private flush(): void {
    if (this.fill === 0) return;
    this.gpu.write(this.buffer, this.pending.subarray(0, this.fill), this.offset);
    this.offset += this.fill;
    this.fill = 0;
  }
}

export class WeightUploader {
  /** Bytes uploaded so far. */
  uploaded = 0;
  constructor(
    readonly gpu: Gpu,
    readonly dtype: Dtype | undefined,
    /** The largest buffer a block may take: the storage-binding limit unless a test forces a smaller one. */
    readonly maxBlockBytes: number = Math.min(
      gpu.limits.maxStorageBufferBindingSize,
      gpu.limits.maxBufferSize,
    ),
    readonly onBytes: (bytes: number) => void = () => {},
    /** Host bytes per read-convert-write step (a multiple of 4; tests force small ones). */
    readonly chunkBytes = CHUNK_BYTES,
  ) {
    if (chunkBytes % 4 !== 0 || chunkBytes < 4)
      throw new Error(`chunkBytes ${chunkBytes} is not a positive multiple of 4`);
  }

  private async put(name: string, data: ArrayBufferView): Promise<GPUBuffer> {
    const b = await this.gpu.upload(name, data);
    this.count(data.byteLength);
    return b;
  }

  private count(bytes: number): void {
    this.uploaded += bytes;
    this.onBytes(bytes);
  }

  /** Output rows per block: the most that fit in one binding (even, so f16 pairs never split). */
  private rowsPerBlock(name: string, bytesPerRow: number, total: number): number {
    const fit = Math.floor(this.maxBlockBytes / bytesPerRow);
    const rows = Math.min(total, fit - (fit % 2));
    if (rows < 1) throw new Error(`${name}: one row of ${bytesPerRow} bytes exceeds the binding limit`);
    return rows;
  }

  /**
   * Row-stacked [n_i, cols] parts, each in its GPU format, as blocks of output rows: consecutive
   * parts of one format share blocks; a block is read from the file, converted and uploaded alone.
   */
  private async rowBlocks(
    name: string,
    parts: StoredTensor[],
    cols: number,
    bias?: Float32Array,
    force?: GpuWeightFormat,
  ): Promise<GpuBlock[]> {
    const blocks: GpuBlock[] = [];
    const formatOf = (t: StoredTensor) => force ?? gpuFormat(t.format, this.dtype, cols);
    let start = 0;
    for (let i = 0; i < parts.length; ) {
      const format = formatOf(parts[i]);
      const run: StoredTensor[] = [];
      while (i < parts.length && formatOf(parts[i]) === format) run.push(parts[i++]);
      const runRows = run.reduce((n, p) => n + matrixShape(p).rows, 0);
      const rb = gpuRowBytes(format, cols);
      const per = this.rowsPerBlock(name, rb, runRows);
      for (let r = 0; r < runRows; r += per) {
        const n = Math.min(per, runRows - r);
        const w = await this.gpu.createBuffer(
          `${name}[${start + r}:]`,
          Math.ceil((n * rb) / 4) * 4,
          GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
        );
        // Rows [r, r + n) of the run, from the parts that hold them, read and written a chunk at a time.
        const out = new ChunkWriter(this.gpu, w, this.chunkBytes);
        const chunkRows = Math.max(1, Math.floor(this.chunkBytes / rb));
        let partStart = 0;
        for (const p of run) {
          const pr = matrixShape(p).rows;
          const a = Math.max(r, partStart);
          const b = Math.min(r + n, partStart + pr);
          for (let c = a; c < b; c += chunkRows) {
            out.push(await rowsIn(p, c - partStart, Math.min(b, c + chunkRows) - partStart, format));
          }
          partStart += pr;
        }
        out.end();
        this.count(n * rb);
        const at = start + r;
        const b = bias ? await this.put(`${name}.bias[${at}:]`, bias.subarray(at, at + n)) : undefined;
        blocks.push({ start: at, rows: n, format, w, b });
      }
      start += runRows;
    }
    return blocks;
  }

  /** A table; `f32` keeps it f32 whatever the dtype (learned positions: the embedding kernel reads them as f32). */
  async table(t: Matrix, f32 = false): Promise<GpuTable> {
    const blocks = await this.rowBlocks(t.name, [t.tensor], t.cols, t.bias, f32 ? 'f32' : undefined);
    return { name: t.name, rows: t.rows, cols: t.cols, blocks };
  }

  async linear(l: Linear): Promise<GpuLinear> {
    const { name, N, K } = l;
    if (l.layout === 'NK') {
      return { name, layout: 'NK', N, K, blocks: await this.rowBlocks(name, l.parts, K, l.b) };
    }
    // KN (GPT-2 Conv1D): one [K, N] part.
    const [part] = l.parts;
    const format = gpuFormat(part.format, this.dtype, K);
    const w = await readF32(part);
    if (isQuant(format)) {
      // Quantized formats run along k: transpose to [N, K] first.
      const nk = memoryTensor(name, 'f32', [N, K], transpose(w, K, N));
      return { name, layout: 'NK', N, K, blocks: await this.rowBlocks(name, [nk], K, l.b) };
    }
    return { name, layout: 'KN', N, K, blocks: await this.kn(name, w, K, N, format, l.b) };
  }

  /** A [K, N] f32 or f16 matrix whose output units are its columns: a block is a column range, copied out. */
  private async kn(
    name: string,
    w: Float32Array,
    K: number,
    N: number,
    format: GpuWeightFormat,
    bias?: Float32Array,
  ): Promise<GpuBlock[]> {
    const per = this.rowsPerBlock(name, K * 4, N);
    const blocks: GpuBlock[] = [];
    for (let start = 0; start < N; start += per) {
      const n = Math.min(per, N - start);
      const part = per >= N ? w : columns(w, K, N, start, n);
      const data = encodeRows(part, K, n, format);
      const buf = await this.put(`${name}[:, ${start}:]`, data);
      const b = bias ? await this.put(`${name}.bias[${start}:]`, bias.subarray(start, start + n)) : undefined;
      blocks.push({ start, rows: n, format, w: buf, b });
    }
    return blocks;
  }

  async norm(n: Norm): Promise<GpuNorm> {
    const w = await this.put(n.name, n.w);
    const b = n.b ? await this.put(`${n.name}.bias`, n.b) : undefined;
    return { name: n.name, w, b };
  }

  /** Uploads every weight; the tied unembedding shares the embedding's buffers. */
  async all(m: ModelWeights): Promise<Weights<GpuKinds>> {
    const wte = await this.table(m.wte);
    const wpe = m.wpe ? await this.table(m.wpe, true) : undefined;
    const layers = [];
    for (const l of m.layers) {
      layers.push({
        attnNorm: await this.norm(l.attnNorm),
        qkv: await this.linear(l.qkv),
        qkNorm: l.qkNorm && (await this.norm(l.qkNorm)),
        o: await this.linear(l.o),
        postAttnNorm: l.postAttnNorm && (await this.norm(l.postAttnNorm)),
        mlpNorm: l.mlpNorm && (await this.norm(l.mlpNorm)),
        postMlpNorm: l.postMlpNorm && (await this.norm(l.postMlpNorm)),
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

/**
 * The GPU side of the embeddings (src/model/embeddings.ts): rows gathered by the embedding kernel,
 * dot products with every row by the matmul kernel, row norms by the embedding kernel (decoding a
 * chunk of rows to f32) and row_norm, taken once per uploaded table. Everything is created on first
 * use for the model's current device and table, again after recover, and freed by dispose().
 */

import { row_norm as rowNormCpu } from '../cpu/row_norm';
import { uniform } from '../gpu/check';
import type { Gpu } from '../gpu/gpu';
import { type AnyDispatch, type Dispatch, partsOf } from '../kernels/dispatch';
import { embedding } from '../kernels/embedding';
import { matmul } from '../kernels/matmul';
import { row_norm } from '../kernels/row_norm';
import type { EmbeddingsHost, EmbeddingTable, GpuEmbeddingSizes } from './embeddings';
import type { GpuTable } from './gpu-weights';
import { chooseMatmul, chooseReductionWg } from './kernel-choice';

/** What one uploaded table's embeddings hold on its device, created once (again after recover). */
interface GpuState {
  gpu: Gpu;
  table: GpuTable;
  /** ids [gatherRows] u32 -> rows [gatherRows, C]; row 0 is also the matmul's query. */
  ids: GPUBuffer;
  rows: GPUBuffer;
  gather: Dispatch<{ T: number; pos: number }>[];
  /** dots [V]: query . row v, one matmul per block of the table. */
  dots: GPUBuffer;
  products: AnyDispatch[];
  /** |row v| [V] of the decoded rows (without embedScale, as the dots), taken on first use. */
  norms?: Float32Array;
}

const NORM_CHUNK_BYTES = 16 << 20;

export class GpuEmbeddingTable implements EmbeddingTable {
  private state?: GpuState;
  private readonly C: number;
  private readonly V: number;
  private readonly gatherRows: number;

  constructor(
    private readonly host: EmbeddingsHost,
    private readonly sizes: GpuEmbeddingSizes,
  ) {
    this.C = host.config.hidden;
    this.V = host.config.vocabSize;
    this.gatherRows = sizes.gatherRows ?? 64;
  }

  rows(ids: number[]): Promise<Float32Array> {
    return this.host.run(async (gpu, table) => {
      const s = await this.use(gpu, table);
      const { C, gatherRows: G } = this;
      const out = new Float32Array(ids.length * C);
      for (let r0 = 0; r0 < ids.length; r0 += G) {
        const n = Math.min(G, ids.length - r0);
        gpu.write(s.ids, Uint32Array.from(ids.slice(r0, r0 + n)));
        for (const d of s.gather) d.update({ T: n, pos: 0 });
        gpu.submit('embeddings rows', (pass) => {
          for (const d of s.gather) d.encode(pass);
        });
        out.set(await gpu.readF32(s.rows, n * C), r0 * C);
      }
      return out;
    });
  }

  similarities(query: Float32Array): Promise<Float32Array> {
    return this.host.run(async (gpu, table) => {
      const s = await this.use(gpu, table);
      const norms = (s.norms ??= await this.norms(gpu, table));
      gpu.write(s.rows, query);
      gpu.submit('embeddings dots', (pass) => {
        for (const d of s.products) d.encode(pass);
      });
      const dots = await gpu.readF32(s.dots, this.V);
      let qq = 0;
      for (const v of query) qq += v * v;
      const qn = Math.sqrt(qq);
      for (let v = 0; v < this.V; v++) dots[v] = norms[v] === 0 ? 0 : dots[v] / (qn * norms[v]);
      return dots;
    });
  }

  dispose(): void {
    const s = this.state;
    this.state = undefined;
    if (!s) return;
    for (const d of [...s.gather, ...s.products]) d.destroy();
    for (const b of [s.ids, s.rows, s.dots]) b.destroy();
  }

  /** The state of this device and table: created on first use, and again when either changed. */
  private async use(gpu: Gpu, table: GpuTable): Promise<GpuState> {
    if (this.state?.gpu === gpu && this.state.table === table) return this.state;
    this.dispose();
    const { C, V, gatherRows: G } = this;
    const scale = this.host.config.embedScale;
    const made: { buffers: GPUBuffer[]; dispatches: AnyDispatch[] } = { buffers: [], dispatches: [] };
    const buffer = async (label: string, bytes: number) => {
      const b = await gpu.createBuffer(label, bytes);
      made.buffers.push(b);
      return b;
    };
    try {
      const ids = await buffer('embeddings ids', G * 4);
      const rows = await buffer('embeddings rows', G * C * 4);
      const dots = await buffer('embeddings dots', V * 4);
      const query = { buffer: rows, offset: 0, size: C * 4 };
      const gather: Dispatch<{ T: number; pos: number }>[] = [];
      const products: AnyDispatch[] = [];
      for (const block of table.blocks) {
        const g = await embedding(gpu, rows, ids, block.w, null, G, C, {
          pos: 0,
          rowStart: block.start,
          rows: block.rows,
          format: block.format,
          scale,
        });
        gather.push(g);
        made.dispatches.push(g);
        const shape = {
          M: 1,
          K: C,
          N: block.rows,
          wLayout: 'NK' as const,
          format: block.format,
          bias: false,
          accumulate: false,
          outStride: V,
          outOffset: block.start,
        };
        const kernel = await chooseMatmul(gpu, shape, { out: dots, x: query, w: block.w, bias: null });
        const p = await matmul(gpu, dots, query, block.w, null, 1, C, block.rows, { ...shape, kernel });
        products.push(p);
        made.dispatches.push(p);
      }
      this.state = { gpu, table, ids, rows, gather, dots, products };
      return this.state;
    } catch (e) {
      for (const d of made.dispatches) d.destroy();
      for (const b of made.buffers) b.destroy();
      throw e;
    }
  }

  /** |row v| for every row: each chunk decoded to f32 by the embedding kernel, then row_norm. */
  private async norms(gpu: Gpu, table: GpuTable): Promise<Float32Array> {
    const { C, V } = this;
    const R = Math.max(1, Math.min(V, this.sizes.normChunkRows ?? Math.floor(NORM_CHUNK_BYTES / (C * 4))));
    const buffers: GPUBuffer[] = [];
    const dispatches: AnyDispatch[] = [];
    try {
      const ids = await gpu.createBuffer('embedding norms ids', R * 4);
      buffers.push(ids);
      const x = await gpu.createBuffer('embedding norms rows', R * C * 4);
      buffers.push(x);
      const out = await gpu.createBuffer('embedding norms', R * 4);
      buffers.push(out);
      const decode: Dispatch<{ T: number; pos: number }>[] = [];
      for (const block of table.blocks) {
        const d = await embedding(gpu, x, ids, block.w, null, R, C, {
          pos: 0,
          rowStart: block.start,
          rows: block.rows,
          format: block.format,
        });
        decode.push(d);
        dispatches.push(d);
      }
      // Invocations per row, chosen per adapter like the norms' (SwiftShader wants few: barriers cost).
      const WG = await chooseReductionWg(
        gpu,
        'row_norm',
        { R, C },
        (wg, up) => row_norm(gpu, up.out.out, up.inp.x, 3, C, { WG: wg }),
        () => {
          const xs = uniform(3 * C, 11, 2);
          const expected = new Float32Array(3);
          rowNormCpu(expected, xs, 3, C);
          return { inputs: { x: xs }, outputs: { out: 3 }, expected: { out: expected } };
        },
        (wg) => row_norm(gpu, out, x, R, C, { WG: wg }),
      );
      const norm = await row_norm(gpu, out, x, R, C, { WG });
      dispatches.push(norm);
      const norms = new Float32Array(V);
      for (let r0 = 0; r0 < V; r0 += R) {
        const n = Math.min(R, V - r0);
        gpu.write(
          ids,
          Uint32Array.from({ length: n }, (_, i) => r0 + i),
        );
        for (const d of decode) d.update({ T: n, pos: 0 });
        norm.update({ R: n });
        gpu.submit('embedding norms', (pass) => {
          for (const d of dispatches) for (const p of partsOf(d)) p.encode(pass);
        });
        norms.set(await gpu.readF32(out, n), r0);
      }
      return norms;
    } finally {
      for (const d of dispatches) d.destroy();
      for (const b of buffers) b.destroy();
    }
  }
}

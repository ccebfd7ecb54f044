/** GPU wrapper of shaders/embedding.wgsl; CPU twin src/cpu/embedding.ts. */
import type { EmbeddingOptions } from '../cpu/embedding';
import { BLOCK, gpuRowBytes } from '../formats/formats';
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';
import { formatDefines } from './matmul';

const WG = 256;

/**
 * out[t, c] = wte[ids[t] - rowStart, c] (+ wpe[pos + t, c] when wpe is given), for the tokens
 * this chunk of the table holds. `update({ T, pos })` moves to another step without rebuilding;
 * T may not exceed the T the dispatch was created with.
 */
export async function embedding(
  gpu: Gpu,
  out: BufferRef,
  ids: BufferRef,
  wte: BufferRef,
  wpe: BufferRef | null,
  T: number,
  C: number,
  opts: EmbeddingOptions,
): Promise<Dispatch<{ T: number; pos: number }>> {
  if (!(C >= 1)) throw new Error(`embedding: C must be at least 1, got ${C}`);
  const defines = formatDefines(opts.format, 'embedding');
  const QK = BLOCK[opts.format].elements;
  if (C % QK) throw new Error(`embedding: ${opts.format} rows need C a multiple of ${QK}, got C = ${C}`);
  const rowBytes = gpuRowBytes(opts.format, C);
  const scale = opts.scale ?? 1;
  if (!Number.isFinite(scale)) throw new Error(`embedding: scale must be finite, got ${scale}`);
  const rowStart = opts.rowStart ?? 0;
  const rows = opts.rows ?? Math.floor(sliceOf(wte).size / rowBytes);
  if (sliceOf(wte).size < rows * rowBytes) throw new Error(`embedding: wte holds fewer than ${rows} rows`);
  if (sliceOf(ids).size < T * 4) throw new Error(`embedding: ids holds fewer than T = ${T} u32s`);
  if (sliceOf(out).size < T * C * 4) throw new Error(`embedding: out holds fewer than T*C = ${T * C} floats`);
  const maxPos = wpe ? Math.floor(sliceOf(wpe).size / (C * 4)) : Number.POSITIVE_INFINITY;
  const p = await gpu.pipeline('embedding', { POSITIONS: wpe !== null, ...defines }, { WG });
  return Dispatch.create(
    gpu,
    p,
    wpe ? { 1: out, 2: ids, 3: wte, 4: wpe } : { 1: out, 2: ids, 3: wte },
    (d, dims) => {
      if (dims.T > T) throw new Error(`embedding: T = ${dims.T} exceeds the T = ${T} it was created with`);
      if (dims.pos + dims.T > maxPos) {
        throw new Error(`embedding: positions up to ${dims.pos + dims.T} exceed wpe's ${maxPos} rows`);
      }
      d.set({ T: dims.T, C, pos: dims.pos, rowStart, rows, scale });
      grid1d(d, ceilDiv(dims.T * C, WG));
    },
    { T, pos: opts.pos },
  );
}

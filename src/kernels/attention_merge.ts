/** GPU wrapper of shaders/attention_merge.wgsl; CPU twin src/cpu/attention_merge.ts. */
import type { AttentionMergeOptions } from '../cpu/attention_merge';
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

export type { AttentionMergeOptions } from '../cpu/attention_merge';

const WG = 64;

/**
 * Combines the flash-decoding partials [T * NH, chunks, HS + 2], chunks = ceil((pos + T) / chunk)
 * (attention's SPLIT variant writes them), into out[T, NH * HS]. `update({ T, pos })` retargets it.
 */
export async function attention_merge(
  gpu: Gpu,
  out: BufferRef,
  partials: BufferRef,
  T: number,
  NH: number,
  HS: number,
  opts: AttentionMergeOptions,
): Promise<Dispatch<{ T: number; pos: number }>> {
  if (!(Number.isInteger(opts.chunk) && opts.chunk >= 1)) {
    throw new Error(`attention_merge: chunk must be an integer >= 1, got ${opts.chunk}`);
  }
  const window = opts.window ?? 0;
  if (!(Number.isInteger(window) && window >= 0)) {
    throw new Error(`attention_merge: window must be an integer >= 0, got ${window}`);
  }
  const partialFloats = Math.floor(sliceOf(partials).size / 4);
  const outFloats = Math.floor(sliceOf(out).size / 4);
  const p = await gpu.pipeline('attention_merge', {}, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: out, 2: partials },
    (d, dims) => {
      if (!(dims.pos >= 0)) throw new Error(`attention_merge: pos must be >= 0, got ${dims.pos}`);
      const chunks = ceilDiv(dims.pos + dims.T, opts.chunk);
      const need = dims.T * NH * chunks * (HS + 2);
      if (need > partialFloats) {
        throw new Error(
          `attention_merge: the partials hold ${partialFloats} floats, T=${dims.T} needs ${need}`,
        );
      }
      if (dims.T * NH * HS > outFloats) throw new Error(`attention_merge: T=${dims.T} rows exceed out`);
      d.set({ T: dims.T, NH, HS, pos: dims.pos, chunk: opts.chunk, chunks, window });
      grid1d(d, ceilDiv(dims.T * NH * HS, WG));
    },
    { T, pos: opts.pos },
  );
}

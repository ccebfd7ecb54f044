/** GPU wrapper of shaders/softcap.wgsl; CPU twin src/cpu/softcap.ts. */
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

const WG = 256;

/** x[i] = cap * tanh(x[i] / cap) in place for i < N. `update({ N })` changes the count. */
export async function softcap(
  gpu: Gpu,
  x: BufferRef,
  N: number,
  cap: number,
): Promise<Dispatch<{ N: number }>> {
  if (!(cap > 0 && Number.isFinite(cap)))
    throw new Error(`softcap: cap must be a positive number, got ${cap}`);
  const floats = Math.floor(sliceOf(x).size / 4);
  const p = await gpu.pipeline('softcap', {}, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: x },
    (d, dims) => {
      if (dims.N > floats) throw new Error(`softcap: N=${dims.N} exceeds the buffer's ${floats} floats`);
      d.set({ N: dims.N, cap });
      grid1d(d, ceilDiv(dims.N, WG));
    },
    { N },
  );
}

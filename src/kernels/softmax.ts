/** GPU wrapper of shaders/softmax.wgsl; CPU twin src/cpu/softmax.ts. */
import type { BufferRef, Gpu } from '../gpu/gpu';
import { Dispatch, grid1d } from './dispatch';

const WG = 256;

/** out = softmax(x / temperature) over each of R rows of N floats (temperature > 0). */
export async function softmax(
  gpu: Gpu,
  out: BufferRef,
  x: BufferRef,
  R: number,
  N: number,
  opts: { temperature: number },
): Promise<Dispatch<{ R: number }>> {
  const T = opts.temperature;
  if (!(T > 0) || !Number.isFinite(T)) throw new Error(`softmax: temperature must be > 0, got ${T}`);
  if (!(N >= 1)) throw new Error(`softmax: N must be >= 1, got ${N}`);
  const p = await gpu.pipeline('softmax', {}, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: out, 2: x },
    (d, dims) => {
      d.set({ R: dims.R, N, invT: 1 / T });
      grid1d(d, dims.R);
    },
    { R },
  );
}

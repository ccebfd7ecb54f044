/** GPU wrapper of shaders/residual.wgsl; CPU twin src/cpu/residual.ts. */
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

const WG = 256;

/** out = a + b over N floats; passing the same buffer as `out` and `a` selects the in-place variant. */
export async function residual(
  gpu: Gpu,
  out: BufferRef,
  a: BufferRef,
  b: BufferRef,
  N: number,
): Promise<Dispatch<{ N: number }>> {
  const inPlace = sliceOf(out).buffer === sliceOf(a).buffer;
  const p = await gpu.pipeline('residual', { IN_PLACE: inPlace }, { WG });
  return Dispatch.create(
    gpu,
    p,
    inPlace ? { 2: a, 3: b } : { 1: out, 2: a, 3: b },
    (d, dims) => {
      d.set({ N: dims.N });
      grid1d(d, ceilDiv(dims.N, WG));
    },
    { N },
  );
}

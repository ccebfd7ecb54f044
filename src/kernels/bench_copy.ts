/** GPU wrapper of shaders/bench_copy.wgsl; CPU twin src/cpu/bench_copy.ts. */
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

const WG = 256;

/** out = x over N floats, copied as vec4s (N must be a multiple of 4): the bandwidth probe. */
export async function bench_copy(
  gpu: Gpu,
  out: BufferRef,
  x: BufferRef,
  N: number,
): Promise<Dispatch<{ N: number }>> {
  const check = (N: number) => {
    if (!(N >= 0 && N % 4 === 0)) throw new Error(`bench_copy: N must be a multiple of 4, got ${N}`);
    if (sliceOf(x).size < N * 4 || sliceOf(out).size < N * 4) {
      throw new Error(`bench_copy: x and out must hold N = ${N} floats`);
    }
  };
  check(N);
  const p = await gpu.pipeline('bench_copy', {}, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: out, 2: x },
    (d, dims) => {
      check(dims.N);
      d.set({ N4: dims.N / 4 });
      grid1d(d, ceilDiv(dims.N / 4, WG));
    },
    { N },
  );
}

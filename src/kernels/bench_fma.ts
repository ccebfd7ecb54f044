/** GPU wrapper of shaders/bench_fma.wgsl; CPU twin src/cpu/bench_fma.ts. */
import type { BenchFmaOptions } from '../cpu/bench_fma';
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

const WG = 256;

/** N outputs of 16 FMA chains of `iters` steps each (32 * iters * N FLOPs): the arithmetic probe. */
export async function bench_fma(
  gpu: Gpu,
  out: BufferRef,
  N: number,
  opts: BenchFmaOptions,
): Promise<Dispatch<{ N: number }>> {
  if (!(Math.abs(opts.a) < 1)) throw new Error(`bench_fma: |a| must be < 1, got ${opts.a}`);
  if (!(opts.iters >= 0)) throw new Error(`bench_fma: iters must be >= 0, got ${opts.iters}`);
  if (sliceOf(out).size < N * 4) throw new Error(`bench_fma: out must hold N = ${N} floats`);
  const p = await gpu.pipeline('bench_fma', {}, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: out },
    (d, dims) => {
      if (dims.N > N) throw new Error(`bench_fma: N = ${dims.N} exceeds the N = ${N} it was created with`);
      d.set({ N: dims.N, iters: opts.iters, a: opts.a, b: opts.b });
      grid1d(d, ceilDiv(dims.N, WG));
    },
    { N },
  );
}

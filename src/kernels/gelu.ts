/** GPU wrapper of shaders/gelu.wgsl; CPU twin src/cpu/gelu.ts. */
import type { GeluOptions } from '../cpu/gelu';
import type { BufferRef, Gpu } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

const WG = 256;

/** out = gelu(x) over N floats; `approximate: 'tanh'` is GPT-2's form, 'none' the exact erf. */
export async function gelu(
  gpu: Gpu,
  out: BufferRef,
  x: BufferRef,
  N: number,
  opts: GeluOptions,
): Promise<Dispatch<{ N: number }>> {
  if (opts.approximate !== 'tanh' && opts.approximate !== 'none') {
    throw new Error(`gelu: approximate must be 'tanh' or 'none', got '${opts.approximate}'`);
  }
  const p = await gpu.pipeline('gelu', { TANH: opts.approximate === 'tanh' }, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: out, 2: x },
    (d, dims) => {
      d.set({ N: dims.N });
      grid1d(d, ceilDiv(dims.N, WG));
    },
    { N },
  );
}

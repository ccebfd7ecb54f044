/** GPU wrapper of shaders/glu.wgsl; CPU twin src/cpu/glu.ts. */
import type { GluOptions } from '../cpu/glu';
import type { BufferRef, Gpu } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

export type { GluOptions } from '../cpu/glu';

const WG = 256;

/**
 * out[r, i] = act(g) * up with g = gateUp[r, i], up = gateUp[r, F + i] (the gate of SwiGLU or
 * GeGLU over the fused gate|up projection [R, 2F]). `update({ R })` changes the number of rows.
 */
export async function glu(
  gpu: Gpu,
  out: BufferRef,
  gateUp: BufferRef,
  R: number,
  F: number,
  opts: GluOptions = {},
): Promise<Dispatch<{ R: number }>> {
  if (!(F >= 1 && R >= 0)) throw new Error(`glu: bad sizes R=${R} F=${F}`);
  const activation = opts.activation ?? 'silu';
  if (activation !== 'silu' && activation !== 'gelu_tanh') {
    throw new Error(`glu: activation must be 'silu' or 'gelu_tanh', got '${activation}'`);
  }
  const p = await gpu.pipeline('glu', { GELU_TANH: activation === 'gelu_tanh' }, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: out, 2: gateUp },
    (d, dims) => {
      d.set({ R: dims.R, F });
      grid1d(d, ceilDiv(dims.R * F, WG));
    },
    { R },
  );
}

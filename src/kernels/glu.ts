/** GPU wrapper of shaders/silu_mul.wgsl; CPU twin src/cpu/silu_mul.ts. */
import type { BufferRef, Gpu } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

const WG = 256;

/**
 * out[r, i] = g * sigmoid(g) * up with g = gateUp[r, i], up = gateUp[r, F + i] (the SwiGLU gate over
 * the fused gate|up projection [R, 2F]). `update({ R })` changes the number of rows.
 */
export async function silu_mul(
  gpu: Gpu,
  out: BufferRef,
  gateUp: BufferRef,
  R: number,
  F: number,
): Promise<Dispatch<{ R: number }>> {
  if (!(F >= 1 && R >= 0)) throw new Error(`silu_mul: bad sizes R=${R} F=${F}`);
  const p = await gpu.pipeline('silu_mul', {}, { WG });
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

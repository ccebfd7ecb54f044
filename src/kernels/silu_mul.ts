/** GPU wrapper of shaders/silu_mul.wgsl; CPU twin src/cpu/silu_mul.ts. */
import type { BufferRef, Gpu } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

const WG = 256;

/** out = gate * sigmoid(gate) * up over N floats (the SwiGLU MLP gate). */
export async function silu_mul(
  gpu: Gpu,
  out: BufferRef,
  gate: BufferRef,
  up: BufferRef,
  N: number,
): Promise<Dispatch<{ N: number }>> {
  const p = await gpu.pipeline('silu_mul', {}, { WG });
  return Dispatch.create(
    gpu,
    p,
    { 1: out, 2: gate, 3: up },
    (d, dims) => {
      d.set({ N: dims.N });
      grid1d(d, ceilDiv(dims.N, WG));
    },
    { N },
  );
}

/** GPU wrapper of shaders/matmul.wgsl; CPU twin src/cpu/matmul.ts. */
import type { MatmulOptions } from '../cpu/matmul';
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { ceilDiv, Dispatch, grid1d } from './dispatch';

export { packWeightF16 } from '../cpu/f16';

const PREFILL_WG = 64;
const DECODE_WG = 256;
/** Invocations per output in DECODE: a whole 128-byte row segment for NK, 16 k-slices for KN. */
const DECODE_TPR = { NK: 32, KN: 16 };

export interface GpuMatmulOptions extends MatmulOptions {
  /**
   * Use the matrix-vector variant (many invocations per output along k); default M === 1.
   * Both variants are correct for any M; decode is the fast one for one or a few rows.
   */
  decode?: boolean;
}

/**
 * out[m, outOffset + n] (row stride outStride) = sum_k x[m, k] * W(n, k) + bias[n], for m < M,
 * n < N. `update({ M })` changes the number of rows, up to the M the dispatch was created with.
 */
export async function matmul(
  gpu: Gpu,
  out: BufferRef,
  x: BufferRef,
  w: BufferRef,
  bias: BufferRef | null,
  M: number,
  K: number,
  N: number,
  opts: GpuMatmulOptions,
): Promise<Dispatch<{ M: number }>> {
  const outStride = opts.outStride ?? N;
  const outOffset = opts.outOffset ?? 0;
  const decode = opts.decode ?? M === 1;
  const kn = opts.wLayout === 'KN';
  if (!(K >= 1 && N >= 1 && M >= 0)) throw new Error(`matmul: bad sizes M=${M} K=${K} N=${N}`);
  if (outOffset + N > outStride) {
    throw new Error(`matmul: outOffset ${outOffset} + N ${N} exceed outStride ${outStride}`);
  }
  const wRows = kn ? K : N;
  const wCols = kn ? N : K;
  const wBytes = wRows * (opts.f16 ? Math.ceil(wCols / 2) : wCols) * 4;
  const check = (name: string, ref: BufferRef, bytes: number) => {
    const size = sliceOf(ref).size;
    if (size < bytes) throw new Error(`matmul: ${name} has ${size} bytes, needs ${bytes}`);
    if (size > gpu.limits.maxStorageBufferBindingSize) {
      throw new Error(
        `matmul: ${name} binding of ${size} bytes exceeds maxStorageBufferBindingSize ` +
          `(${gpu.limits.maxStorageBufferBindingSize}); split the weight into column blocks`,
      );
    }
  };
  check('w', w, wBytes);
  check('x', x, M * K * 4);
  check('out', out, M ? ((M - 1) * outStride + outOffset + N) * 4 : 0);
  if (bias) check('bias', bias, N * 4);

  const defines = { W_KN: kn, F16: opts.f16, BIAS: bias !== null, DECODE: decode };
  const tpr = DECODE_TPR[opts.wLayout];
  const constants: Record<string, number> = decode ? { WG: DECODE_WG, TPR: tpr } : { WG: PREFILL_WG };
  const p = await gpu.pipeline('matmul', defines, constants);
  const bindings = bias ? { 1: out, 2: x, 3: w, 4: bias } : { 1: out, 2: x, 3: w };
  return Dispatch.create(
    gpu,
    p,
    bindings,
    (d, dims) => {
      if (dims.M > M) throw new Error(`matmul: M = ${dims.M} exceeds the M = ${M} it was created with`);
      d.set({ M: dims.M, K, N, outStride, outOffset });
      const groups = decode
        ? dims.M * ceilDiv(N, DECODE_WG / tpr)
        : ceilDiv(ceilDiv(dims.M, 4) * ceilDiv(N, 4), PREFILL_WG);
      grid1d(d, groups);
    },
    { M },
  );
}

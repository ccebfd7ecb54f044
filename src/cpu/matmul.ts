/**
 * CPU twin of shaders/matmul.wgsl:
 *   out[m * outStride + outOffset + n] = sum_k x[m, k] * W(n, k) + bias[n]   for m < M, n < N
 * (with `accumulate`, added to what out holds: the residual add x += a.W + b fused in).
 * wLayout 'NK': w is [N, K] (Hugging Face Linear); 'KN': w is [K, N] (GPT-2 Conv1D). With `f16`
 * the weight is packed halves, each row padded to ceil(rowLength/2) u32s (packWeightF16), and
 * decoded here exactly as the shader decodes it.
 */
import { f16Value } from '../formats/f16';

export { packWeightF16 } from '../formats/f16';

export interface MatmulOptions {
  /** 'NK' = [out_features, in_features] (Linear); 'KN' = [in, out] (Conv1D). */
  wLayout: 'NK' | 'KN';
  /** w is packed f16 (see packWeightF16); bias and activations stay f32. */
  f16: boolean;
  /** Row stride of out in floats (default N). */
  outStride?: number;
  /** Column of out where this weight's N outputs start (default 0). */
  outOffset?: number;
  /** Add the result to out instead of overwriting it (default false). */
  accumulate?: boolean;
}

export function matmul(
  out: Float32Array,
  x: Float32Array,
  w: Float32Array | Uint32Array,
  bias: Float32Array | null,
  M: number,
  K: number,
  N: number,
  opts: MatmulOptions,
): void {
  const outStride = opts.outStride ?? N;
  const outOffset = opts.outOffset ?? 0;
  const kn = opts.wLayout === 'KN';
  // Weight element W(n, k) as a (row, column) of the stored matrix.
  const cols = kn ? N : K;
  const rowWords = opts.f16 ? Math.ceil(cols / 2) : cols;
  const weight = (row: number, col: number): number =>
    opts.f16
      ? f16Value((w[row * rowWords + (col >>> 1)] >>> ((col & 1) * 16)) & 0xffff)
      : w[row * cols + col];
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x[m * K + k] * (kn ? weight(k, n) : weight(n, k));
      const i = m * outStride + outOffset + n;
      out[i] = (opts.accumulate ? out[i] : 0) + acc + (bias ? bias[n] : 0);
    }
  }
}

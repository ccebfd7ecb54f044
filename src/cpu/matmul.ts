/**
 * CPU twin of shaders/matmul.wgsl:
 *   out[m * outStride + outOffset + n] = sum_k x[m, k] * W(n, k) + bias[n]   for m < M, n < N
 * (with `accumulate`, added to what out holds: the residual add x += a.W + b fused in).
 * wLayout 'NK': w is [N, K] (Hugging Face Linear); 'KN': w is [K, N] (GPT-2 Conv1D). `format` is how
 * w is stored (src/formats/formats.ts): f32; f16 packed halves, each row padded to ceil(rowLength/2)
 * u32s (packWeightF16); or a quantized format in its ggml block layout ('NK' only, K whole blocks,
 * rows back to back). Every weight is decoded here exactly as the shader decodes it
 * (src/formats/quant.ts), so only the order of the f32 sums differs.
 */
import { type GpuWeightFormat, gpuRowBytes, isQuant } from '../formats/formats';
import { bytesView, dequantize } from '../formats/quant';

export { packWeightF16 } from '../formats/f16';

export interface MatmulOptions {
  /** 'NK' = [out_features, in_features] (Linear); 'KN' = [in, out] (Conv1D). Quantized: 'NK'. */
  wLayout: 'NK' | 'KN';
  /** How w is stored (f32, packed f16 or a ggml quantized format); bias and activations stay f32. */
  format: GpuWeightFormat;
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
  w: Float32Array | Uint32Array | Uint8Array,
  bias: Float32Array | null,
  M: number,
  K: number,
  N: number,
  opts: MatmulOptions,
): void {
  const outStride = opts.outStride ?? N;
  const outOffset = opts.outOffset ?? 0;
  const kn = opts.wLayout === 'KN';
  const { format } = opts;
  if (kn && isQuant(format)) throw new Error(`matmul: ${format} weights are stored 'NK', not 'KN'`);
  // The stored matrix [rows, cols], decoded one row at a time.
  const [rows, cols] = kn ? [K, N] : [N, K];
  const rowBytes = gpuRowBytes(format, cols);
  const bytes = bytesView(w);
  if (bytes.length < rows * rowBytes) {
    throw new Error(
      `matmul: w has ${bytes.length} bytes, a [${rows}, ${cols}] ${format} weight needs ${rows * rowBytes}`,
    );
  }
  // f32 rows are read in place; other formats are decoded into `into`.
  const f32 = format === 'f32' && bytes.byteOffset % 4 === 0;
  const row = (r: number, into: Float32Array): Float32Array =>
    f32
      ? new Float32Array(bytes.buffer, bytes.byteOffset + r * rowBytes, cols)
      : dequantize(format, bytes.subarray(r * rowBytes), cols, into);
  const acc = new Float64Array(M * N);
  if (kn) {
    // acc[m, n] += x[m, k] * w[k, n], one stored row (one k) at a time.
    const buf = new Float32Array(N);
    for (let k = 0; k < K; k++) {
      const wk = row(k, buf);
      for (let m = 0; m < M; m++) {
        const xv = x[m * K + k];
        for (let n = 0; n < N; n++) acc[m * N + n] += xv * wk[n];
      }
    }
  } else {
    const buf = new Float32Array(K);
    for (let n = 0; n < N; n++) {
      const wn = row(n, buf);
      for (let m = 0; m < M; m++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += x[m * K + k] * wn[k];
        acc[m * N + n] = s;
      }
    }
  }
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const i = m * outStride + outOffset + n;
      out[i] = (opts.accumulate ? out[i] : 0) + acc[m * N + n] + (bias ? bias[n] : 0);
    }
  }
}

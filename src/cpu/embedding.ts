/**
 * CPU twin of shaders/embedding.wgsl: out[t, c] = scale * wte[ids[t] - rowStart, c] (+ wpe[pos + t, c])
 * for the tokens with rowStart <= ids[t] < rowStart + rows; other tokens' rows are left untouched.
 * `format` is how wte is stored: f32; f16 packed halves, each row padded to ceil(C/2) u32s
 * (packWeightF16's layout); or a quantized format, rows of C/blockSize ggml blocks back to back
 * (row t is bytes [t*rowBytes, (t+1)*rowBytes)), decoded as src/formats/quant.ts defines.
 */
import type { GpuWeightFormat } from '../formats/formats';
import { gpuRowBytes } from '../formats/formats';
import { bytesView, dequantize } from '../formats/quant';

export interface EmbeddingOptions {
  /** Position of token 0 (rows of wpe used: pos .. pos + T - 1). */
  pos: number;
  /** First token id held by this chunk of the table (default 0). */
  rowStart?: number;
  /** Number of rows in this chunk (default: every row of wte). */
  rows?: number;
  /** How wte is stored (wpe is always f32). */
  format: GpuWeightFormat;
  /** Factor of the token embedding (default 1; Gemma: sqrt(hidden), rounded to f32). */
  scale?: number;
}

export function embedding(
  out: Float32Array,
  ids: Uint32Array,
  wte: Float32Array | Uint32Array | Uint8Array,
  wpe: Float32Array | null,
  T: number,
  C: number,
  opts: EmbeddingOptions,
): void {
  const rowBytes = gpuRowBytes(opts.format, C);
  const bytes = bytesView(wte);
  const rowStart = opts.rowStart ?? 0;
  const rows = opts.rows ?? Math.floor(bytes.length / rowBytes);
  const v = new Float32Array(C);
  const scale = Math.fround(opts.scale ?? 1);
  for (let t = 0; t < T; t++) {
    const row = ids[t] - rowStart;
    if (row < 0 || row >= rows) continue;
    dequantize(opts.format, bytes.subarray(row * rowBytes), C, v);
    for (let c = 0; c < C; c++) {
      const e = Math.fround(v[c] * scale);
      out[t * C + c] = wpe ? e + wpe[(opts.pos + t) * C + c] : e;
    }
  }
}

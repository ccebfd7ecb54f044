/**
 * CPU twin of shaders/embedding.wgsl: out[t, c] = wte[ids[t] - rowStart, c] (+ wpe[pos + t, c])
 * for the tokens with rowStart <= ids[t] < rowStart + rows; other tokens' rows are left untouched.
 * With `f16`, wte is packed halves, each row padded to ceil(C/2) u32s (packWeightF16's layout).
 */
import { f16Value } from '../formats/f16';

export interface EmbeddingOptions {
  /** Position of token 0 (rows of wpe used: pos .. pos + T - 1). */
  pos: number;
  /** First token id held by this chunk of the table (default 0). */
  rowStart?: number;
  /** Number of rows in this chunk (default: every row of wte). */
  rows?: number;
  /** wte is packed f16 (wpe is always f32). */
  f16: boolean;
}

export function embedding(
  out: Float32Array,
  ids: Uint32Array,
  wte: Float32Array | Uint32Array,
  wpe: Float32Array | null,
  T: number,
  C: number,
  opts: EmbeddingOptions,
): void {
  const rowWords = opts.f16 ? Math.ceil(C / 2) : C;
  const rowStart = opts.rowStart ?? 0;
  const rows = opts.rows ?? Math.floor(wte.length / rowWords);
  for (let t = 0; t < T; t++) {
    const row = ids[t] - rowStart;
    if (row < 0 || row >= rows) continue;
    for (let c = 0; c < C; c++) {
      const v = opts.f16
        ? f16Value((wte[row * rowWords + (c >>> 1)] >>> ((c & 1) * 16)) & 0xffff)
        : wte[row * C + c];
      out[t * C + c] = wpe ? v + wpe[(opts.pos + t) * C + c] : v;
    }
  }
}

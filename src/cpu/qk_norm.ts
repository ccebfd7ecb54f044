/**
 * CPU twin of shaders/qk_norm.wgsl: RMSNorm of each query and key head of x[T, rowStride] in place,
 * the NQ query heads with w[0 .. HS - 1], the NK key heads with w[HS .. 2 HS - 1]; sums in f64.
 */

export interface QkNormOptions {
  eps: number;
  /** Floats from one row to the next (default (NQ + NK) * HS; fused q | k | v rows: (NQ + 2 NK) * HS). */
  rowStride?: number;
}

export function qk_norm(
  x: Float32Array,
  w: Float32Array,
  T: number,
  NQ: number,
  NK: number,
  HS: number,
  opts: QkNormOptions,
): void {
  const rowStride = opts.rowStride ?? (NQ + NK) * HS;
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < NQ + NK; h++) {
      const base = t * rowStride + h * HS;
      const wBase = h < NQ ? 0 : HS;
      let s = 0;
      for (let d = 0; d < HS; d++) s += x[base + d] * x[base + d];
      const inv = 1 / Math.sqrt(s / HS + opts.eps);
      for (let d = 0; d < HS; d++) x[base + d] = x[base + d] * inv * w[wBase + d];
    }
  }
}

/** CPU twin of shaders/rope.wgsl: rotary position embedding in place, angles in f64. */

export interface RopeOptions {
  /** Position of row 0. */
  pos: number;
  /** 'half': pairs (j, j + rotaryDim/2) (Hugging Face); 'pairs': (2i, 2i + 1) (GGUF, llama.cpp). */
  layout: 'half' | 'pairs';
  /** Leading dimensions of each head that rotate (default HS). */
  rotaryDim?: number;
  /**
   * Floats from one row of x to the next (default NH * HS). A fused projection row
   * [q | k | v] has stride (NHQ + 2 NKV) * HS; NH = NHQ + NKV then rotates q and k and leaves v.
   */
  rowStride?: number;
}

/**
 * Rotates heads 0 .. NH - 1 of each row of x[T, rowStride] in place: row t sits at position pos + t,
 * pair i turns by (pos + t) * invFreq[i] (src/checkpoint/rope.ts computes the frequencies).
 */
export function rope(
  x: Float32Array,
  invFreq: Float32Array,
  T: number,
  NH: number,
  HS: number,
  opts: RopeOptions,
): void {
  const rd = opts.rotaryDim ?? HS;
  const half = rd / 2;
  const rowStride = opts.rowStride ?? NH * HS;
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < NH; h++) {
      const base = t * rowStride + h * HS;
      for (let i = 0; i < half; i++) {
        const a = (opts.pos + t) * invFreq[i];
        const c = Math.cos(a);
        const s = Math.sin(a);
        const i0 = opts.layout === 'pairs' ? base + 2 * i : base + i;
        const i1 = opts.layout === 'pairs' ? i0 + 1 : i0 + half;
        const x0 = x[i0];
        const x1 = x[i1];
        x[i0] = x0 * c - x1 * s;
        x[i1] = x0 * s + x1 * c;
      }
    }
  }
}

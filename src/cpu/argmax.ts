/**
 * CPU twin of shaders/argmax.wgsl: out[r] = the first index of the largest value of row r of
 * x [R, N]; NaN never wins. A row without a finite maximum (only NaN, or a max of +-inf) gives
 * NON_FINITE.
 */

/** What argmax writes for a row without a finite maximum. */
export const NON_FINITE = 0xffffffff;

export function argmax(out: Uint32Array, x: Float32Array, R: number, N: number): void {
  for (let r = 0; r < R; r++) {
    let best = -1;
    for (let i = 0; i < N; i++) {
      const v = x[r * N + i];
      if (Number.isNaN(v)) continue;
      if (best < 0 || v > x[r * N + best]) best = i;
    }
    out[r] = best < 0 || !Number.isFinite(x[r * N + best]) ? NON_FINITE : best;
  }
}

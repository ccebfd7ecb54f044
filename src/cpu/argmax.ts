/**
 * CPU twin of shaders/argmax.wgsl: out[r] = the first index of the largest value of row r of
 * x [R, N]; NaN never wins, and a row of only NaN gives 0.
 */
export function argmax(out: Uint32Array, x: Float32Array, R: number, N: number): void {
  for (let r = 0; r < R; r++) {
    let best = -1;
    for (let i = 0; i < N; i++) {
      const v = x[r * N + i];
      if (Number.isNaN(v)) continue;
      if (best < 0 || v > x[r * N + best]) best = i;
    }
    out[r] = Math.max(best, 0);
  }
}

/**
 * CPU twin of shaders/bench_fma.wgsl, in f32 arithmetic: 16 chains x <- fma(x, a, b) per output.
 * A fused multiply-add of f32 values is a*b + c in f64 rounded once to f32 (the product is exact
 * in f64); a GPU that does not fuse differs by an ulp per step, which the contraction |a| < 1
 * keeps from growing.
 */
const f = Math.fround;

export interface BenchFmaOptions {
  /** FMA steps per chain. */
  iters: number;
  /** Multiplier, |a| < 1. */
  a: number;
  b: number;
}

export function bench_fma(out: Float32Array, N: number, opts: BenchFmaOptions): void {
  const a = f(opts.a);
  const b = f(opts.b);
  const x = new Float64Array(16);
  for (let i = 0; i < N; i++) {
    const s = f(f(i % 1024) / 1000);
    for (let j = 0; j < 16; j++) x[j] = f(s + f(0.1 * j));
    for (let k = 0; k < opts.iters; k++) {
      for (let j = 0; j < 16; j++) x[j] = f(x[j] * a + b);
    }
    // Lanes of (x0 + x1) + (x2 + x3), where chain j is lane j % 4 of vec4 x[j / 4].
    const l = [0, 1, 2, 3].map((c) => f(f(x[c] + x[4 + c]) + f(x[8 + c] + x[12 + c])));
    out[i] = f(f(l[0] + l[1]) + f(l[2] + l[3]));
  }
}

/** CPU twin of shaders/gelu.wgsl: GELU with the tanh approximation or the exact erf form. */

export interface GeluOptions {
  approximate: 'tanh' | 'none';
}

/**
 * erf(x) to near f64 precision: the Maclaurin series for |x| < 3, the continued fraction of erfc
 * beyond (both converge fast there).
 */
export function erf(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 3) {
    // erf(a) = 2/sqrt(pi) * sum_n (-1)^n a^(2n+1) / (n! (2n+1))
    let term = a;
    let sum = a;
    for (let n = 1; n < 100; n++) {
      term *= (-a * a) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + 2/(a + ...)))))
    let f = a;
    for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

export function gelu(out: Float32Array, x: Float32Array, N: number, opts: GeluOptions): void {
  for (let i = 0; i < N; i++) {
    const v = x[i];
    if (opts.approximate === 'tanh') {
      out[i] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
    } else {
      out[i] = 0.5 * v * (1 + erf(v / Math.SQRT2));
    }
  }
}

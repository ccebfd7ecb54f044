/**
 * A 2-D principal component projection of a few vectors (the embeddings' `project`), on the CPU in
 * f64. With X [n, C] the vectors less their mean, the Gram matrix G = X X^T [n, n] has the
 * eigenvalues l_k = s_k^2 of X's singular values and its eigenvectors u_k; the coordinates on the
 * k-th component are X v_k = s_k u_k, and l_k / trace(G) is the share of variance it explains.
 * The top two eigenpairs come from subspace iteration on G with a Rayleigh-Ritz step (n^2 work an
 * iteration, so n may be thousands); each component's sign is chosen so that its largest
 * coordinate is positive.
 */
import type { Projection } from '../inspect-types';

const MAX_ITERATIONS = 1000;
/** Converged when both residuals |G u - l u| are below this times l_1. */
const TOLERANCE = 1e-10;

export function projectPca(vectors: ArrayLike<number>[], C: number): Projection {
  const n = vectors.length;
  const mean = new Float64Array(C);
  for (const v of vectors) for (let c = 0; c < C; c++) mean[c] += v[c] / n;
  const X = vectors.map((v) => Float64Array.from({ length: C }, (_, c) => v[c] - mean[c]));
  const G = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const g = dot(X[i], X[j]);
      G[i * n + j] = g;
      G[j * n + i] = g;
    }
  }
  let total = 0;
  for (let i = 0; i < n; i++) total += G[i * n + i];
  if (!(total > 0)) return { points: vectors.map(() => [0, 0]), explained: [0, 0] };

  const [[l1, u1], [l2, u2]] = topTwo(G, n);
  const s1 = Math.sqrt(Math.max(l1, 0));
  const s2 = Math.sqrt(Math.max(l2, 0));
  return {
    points: Array.from({ length: n }, (_, i) => [s1 * u1[i], s2 * u2[i]] as [number, number]),
    explained: [Math.max(l1, 0) / total, Math.max(l2, 0) / total],
  };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function times(G: Float64Array, n: number, v: Float64Array): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += G[i * n + j] * v[j];
    out[i] = s;
  }
  return out;
}

/** a and b made orthonormal (Gram-Schmidt); b replaced by a basis vector's remainder when it lies along a. */
function orthonormalize(a: Float64Array, b: Float64Array): [Float64Array, Float64Array] {
  const n = a.length;
  const na = Math.sqrt(dot(a, a));
  const u = na > 0 ? a.map((x) => x / na) : Float64Array.from({ length: n }, (_, i) => (i === 0 ? 1 : 0));
  const rest = (w: Float64Array) => {
    const p = dot(u, w);
    return w.map((x, i) => x - p * u[i]);
  };
  let w = rest(b);
  let nw = Math.sqrt(dot(w, w));
  if (!(nw > 1e-12 * Math.max(1, Math.sqrt(dot(b, b))))) {
    // b has no part outside a (G of rank 1): any unit vector orthogonal to u will do.
    for (let j = 0; j < n; j++) {
      w = rest(Float64Array.from({ length: n }, (_, i) => (i === j ? 1 : 0)));
      nw = Math.sqrt(dot(w, w));
      if (nw > 0.5) break;
    }
  }
  return [u, w.map((x) => x / nw)];
}

type Pair = { l: number; u: Float64Array; Gu: Float64Array };

/** The two largest eigenpairs (value, unit vector) of the symmetric positive semi-definite G [n, n], n >= 2. */
function topTwo(G: Float64Array, n: number): [[number, Float64Array], [number, Float64Array]] {
  // Deterministic start vectors, not orthogonal to anything in particular.
  let [a, b] = orthonormalize(
    Float64Array.from({ length: n }, (_, i) => 1 + Math.sin(1 + 3 * i)),
    Float64Array.from({ length: n }, (_, i) => Math.cos(2 + 5 * i)),
  );
  const residual = ({ l, u, Gu }: Pair) => {
    let r = 0;
    for (let i = 0; i < n; i++) r += (Gu[i] - l * u[i]) ** 2;
    return Math.sqrt(r);
  };
  let first: Pair | undefined;
  let second: Pair | undefined;
  for (let it = 0; it < MAX_ITERATIONS; it++) {
    const Ga = times(G, n, a);
    const Gb = times(G, n, b);
    // Rayleigh-Ritz in span(a, b): rotate by the eigenvectors of H = [a b]^T G [a b] (2x2).
    const theta = 0.5 * Math.atan2(2 * dot(a, Gb), dot(a, Ga) - dot(b, Gb));
    const c = Math.cos(theta);
    const s = Math.sin(theta);
    const rotate = (x: Float64Array, y: Float64Array, p: number, q: number) =>
      x.map((v, i) => p * v + q * y[i]);
    const pair = (u: Float64Array, Gu: Float64Array): Pair => ({ l: dot(u, Gu), u, Gu });
    const p1 = pair(rotate(a, b, c, s), rotate(Ga, Gb, c, s));
    const p2 = pair(rotate(a, b, -s, c), rotate(Ga, Gb, -s, c));
    [first, second] = p1.l >= p2.l ? [p1, p2] : [p2, p1];
    if (residual(first) <= TOLERANCE * first.l && residual(second) <= TOLERANCE * first.l) break;
    [a, b] = orthonormalize(first.Gu, second.Gu);
  }
  // A sign for each component: its largest coordinate positive.
  const signed = ({ l, u }: Pair): [number, Float64Array] => {
    let big = 0;
    for (let i = 1; i < n; i++) if (Math.abs(u[i]) > Math.abs(u[big])) big = i;
    return [l, u[big] < 0 ? u.map((x) => -x) : u];
  };
  return [signed(first!), signed(second!)];
}

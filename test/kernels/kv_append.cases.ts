import { type KvAppendOptions, kv_append as kvAppendCpu } from '../../src/cpu/kv_append';
import { packF16, unpackF16 } from '../../src/formats/f16';
import { kv_append } from '../../src/kernels/kv_append';
import { type KernelCase, randn } from './harness';

/**
 * A copy: bit-exact. The f16 cache is exact too because its inputs are values a half holds (randn
 * rounded through f16, outliers and a few subnormal halves included): WGSL lets pack2x16float round
 * to either neighbouring half, so only representable inputs give every implementation one answer.
 */
const tol = { atol: 0, rtol: 0 };

/** Floats a half represents exactly: randn through f16, plus subnormal halves now and then. */
function halves(n: number, seed: number): Float32Array {
  const x = unpackF16(packF16(randn(n, seed)), n);
  for (let i = 5; i < n; i += 37) x[i] = (i % 3) * 2 ** -24 - 2 ** -20;
  return x;
}

/**
 * Keys and values for T positions, either two [T, D] buffers or, with `fused = NH`, one qkv buffer
 * [T, (NH + 2 NKV) * HS] bound as both k and v (q's floats sit in front and are not copied).
 */
function kvCase(
  T: number,
  NKV: number,
  HS: number,
  pos: number,
  maxCtx: number,
  seed: number,
  extra: { fused?: number; f16Cache?: boolean } = {},
): KernelCase {
  const D = NKV * HS;
  const f16Cache = extra.f16Cache ?? false;
  const words = f16Cache ? Math.ceil(D / 2) : D;
  const src = (n: number, s: number) => (f16Cache ? halves(n, s) : randn(n, s));
  // The caches start full of older entries that must survive outside rows pos..pos+T-1.
  const oldCache = (s: number) => (f16Cache ? packF16(randn(maxCtx * words * 2, s)) : randn(maxCtx * D, s));
  const outputs = { kCache: oldCache(seed + 2), vCache: oldCache(seed + 3) };
  let opts: KvAppendOptions = { pos, f16Cache };
  let inputs: Record<string, Float32Array> = { k: src(T * D, seed), v: src(T * D, seed + 1) };
  let [k, v] = ['k', 'v'];
  if (extra.fused !== undefined) {
    const NH = extra.fused;
    const S = (NH + 2 * NKV) * HS;
    opts = { pos, srcStride: S, kOffset: NH * HS, vOffset: (NH + NKV) * HS, f16Cache };
    inputs = { qkv: src(T * S, seed) };
    [k, v] = ['qkv', 'qkv'];
  }
  const layout = extra.fused === undefined ? '' : ` fused NH=${extra.fused} stride=${opts.srcStride}`;
  return {
    name: `${f16Cache ? 'f16 ' : ''}T=${T} D=${D} (NKV=${NKV} HS=${HS}) pos=${pos} maxCtx=${maxCtx}${layout}`,
    tol,
    inputs,
    outputs,
    cpu: (o, i) => kvAppendCpu(o.kCache, o.vCache, i[k] as Float32Array, i[v] as Float32Array, T, D, opts),
    gpu: (gpu, o, i) => kv_append(gpu, o.kCache, o.vCache, i[k], i[v], T, D, opts),
  };
}

export const variants = [{ F16: false }, { F16: true }];

export const cases: KernelCase[] = [
  kvCase(1, 1, 1, 0, 1, 1),
  kvCase(1, 3, 16, 0, 3, 2),
  kvCase(3, 2, 64, 5, 17, 3),
  kvCase(17, 1, 100, 0, 17, 4),
  kvCase(17, 4, 17, 5, 65, 5),
  // A decode step deep into the context, ending at the cache's last row.
  kvCase(1, 2, 128, 999, 1000, 6),
  kvCase(3, 1, 256, 169, 172, 7),
  // Keys and values out of one fused qkv buffer (row stride (NH + 2 NKV) * HS, offsets as uniforms).
  kvCase(3, 2, 64, 5, 17, 8, { fused: 4 }),
  kvCase(17, 1, 3, 0, 17, 9, { fused: 3 }),
  kvCase(1, 2, 128, 999, 1000, 10, { fused: 8 }),
  // Packed f16 caches: odd D pads the last word's high half; rows around the block keep their words.
  kvCase(1, 1, 1, 0, 1, 11, { f16Cache: true }),
  kvCase(3, 2, 64, 5, 17, 12, { f16Cache: true }),
  kvCase(17, 4, 17, 5, 65, 13, { f16Cache: true }),
  kvCase(3, 3, 3, 7, 11, 14, { f16Cache: true }),
  kvCase(1, 2, 128, 999, 1000, 15, { f16Cache: true }),
  kvCase(17, 1, 3, 0, 17, 16, { fused: 3, f16Cache: true }),
  kvCase(3, 2, 64, 5, 17, 17, { fused: 4, f16Cache: true }),
];

import { kv_append as kvAppendCpu } from '../../src/cpu/kv_append';
import { kv_append } from '../../src/kernels/kv_append';
import { type KernelCase, randn } from './harness';

// A copy: bit-exact.
const tol = { atol: 0, rtol: 0 };

function kvCase(T: number, NKV: number, HS: number, pos: number, maxCtx: number, seed: number): KernelCase {
  const D = NKV * HS;
  return {
    name: `T=${T} D=${D} (NKV=${NKV} HS=${HS}) pos=${pos} maxCtx=${maxCtx}`,
    tol,
    inputs: { k: randn(T * D, seed), v: randn(T * D, seed + 1) },
    // The caches start full of older entries that must survive outside rows pos..pos+T-1.
    outputs: { kCache: randn(maxCtx * D, seed + 2), vCache: randn(maxCtx * D, seed + 3) },
    cpu: (o, i) =>
      kvAppendCpu(
        o.kCache as Float32Array,
        o.vCache as Float32Array,
        i.k as Float32Array,
        i.v as Float32Array,
        T,
        D,
        { pos },
      ),
    gpu: (gpu, o, i) => kv_append(gpu, o.kCache, o.vCache, i.k, i.v, T, D, { pos }),
  };
}

export const variants = [{}];

export const cases: KernelCase[] = [
  kvCase(1, 1, 1, 0, 1, 1),
  kvCase(1, 3, 16, 0, 3, 2),
  kvCase(3, 2, 64, 5, 17, 3),
  kvCase(17, 1, 100, 0, 17, 4),
  kvCase(17, 4, 17, 5, 65, 5),
  // A decode step deep into the context, ending at the cache's last row.
  kvCase(1, 2, 128, 999, 1000, 6),
  kvCase(3, 1, 256, 169, 172, 7),
];

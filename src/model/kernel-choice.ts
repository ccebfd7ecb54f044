/**
 * The ops whose kernel is chosen per adapter (src/gpu/tuning.ts), and for each the trial the tuner
 * runs: the candidates for one shape, a check of a candidate against the CPU twin on synthetic
 * inputs of that shape, and a build on the op's real buffers for timing.
 */
import { type MatmulOptions, matmul as matmulCpu } from '../cpu/matmul';
import {
  type CheckData,
  type Host,
  randomF16Words,
  resetOutputs,
  runAndCompare,
  type Uploaded,
  uniform,
  uploadCheckData,
} from '../gpu/check';
import type { BufferRef, Gpu } from '../gpu/gpu';
import type { Trial } from '../gpu/tuning';
import type { AnyDispatch } from '../kernels/dispatch';
import {
  defaultMatmulKernel,
  type MatmulKernel,
  matmul,
  matmulCandidates,
  matmulKernelName,
  parseMatmulKernelName,
} from '../kernels/matmul';

/** Ops with tuned kernels, and how a user-given variant name of each is parsed (null: not a name). */
export const TUNED_OPS: Record<string, (name: string) => unknown> = {
  matmul: parseMatmulKernelName,
};

export interface MatmulShape extends MatmulOptions {
  M: number;
  K: number;
  N: number;
  bias: boolean;
}

/** The tuner's key of a matmul shape: every fact a kernel's speed or validity depends on. */
export function matmulShapeKey(s: MatmulShape): string {
  return `M${s.M} K${s.K} N${s.N} ${s.wLayout}${s.f16 ? ' f16' : ''}`;
}

/** Rows and outputs a check computes on the CPU: the real K; N and M capped, their remainders kept. */
function checkDims(s: MatmulShape): { M: number; N: number } {
  const M = s.M > 9 ? 8 + (s.M % 4) + 1 : s.M;
  const N = s.N > 8192 ? 8192 + (s.N % 64) : s.N;
  return { M, N };
}

/**
 * The tuner's trial of one matmul: `real` builds a candidate on the op's own buffers (for timing,
 * at `timedRows` rows: prefill kernels are timed on a short block).
 */
export function matmulTrial(
  gpu: Gpu,
  s: MatmulShape,
  real: (kernel: MatmulKernel) => Promise<AnyDispatch & { update(d: { M: number }): unknown }>,
  timedRows = s.M,
): Trial {
  const kernels = matmulCandidates(gpu.features, s);
  const byName = new Map(kernels.map((k) => [matmulKernelName(k), k]));
  const { M, N } = checkDims(s);
  const K = s.K;
  const opts = { wLayout: s.wLayout, f16: s.f16, accumulate: s.accumulate };
  let data: (CheckData & { expected: Record<string, Host> }) | undefined;
  let up: Uploaded | undefined;
  const prepare = async () => {
    if (data && up) return { data, up };
    const [rows, cols] = s.wLayout === 'NK' ? [N, K] : [K, N];
    const w = s.f16 ? randomF16Words(rows * Math.ceil(cols / 2), 2) : uniform(rows * cols, 2, 0.5);
    const x = uniform(M * K, 1);
    const bias = uniform(N, 3);
    const out = uniform(M * N, 4);
    const expected = out.slice();
    matmulCpu(expected, x, w, s.bias ? bias : null, M, K, N, opts);
    data = { inputs: { x, w, bias }, outputs: { out }, expected: { out: expected } };
    up = await uploadCheckData(gpu, 'matmul check', data);
    return { data, up };
  };
  return {
    candidates: [...byName.keys()],
    fallback: matmulKernelName(defaultMatmulKernel(s.M)),
    async check(name) {
      const { data: d, up: u } = await prepare();
      resetOutputs(gpu, u, d);
      const kernel = byName.get(name)!;
      const bias = s.bias ? u.inp.bias : null;
      const dispatch = await matmul(gpu, u.out.out, u.inp.x, u.inp.w, bias, M, K, N, { ...opts, kernel });
      try {
        const tol = { atol: 2e-5 * Math.sqrt(K) * (s.accumulate ? 2 : 1), rtol: 1e-5 };
        return await runAndCompare(gpu, dispatch, u.out, d.expected, tol);
      } finally {
        dispatch.destroy();
      }
    },
    async build(name) {
      const d = await real(byName.get(name)!);
      d.update({ M: Math.min(timedRows, s.M) });
      return d;
    },
    dispose() {
      up?.destroy();
    },
  };
}

/** The matmul kernel for a shape on this adapter: forced, cached, tuned, or the default. */
export async function chooseMatmul(
  gpu: Gpu,
  s: MatmulShape,
  bindings: { out: BufferRef; x: BufferRef; w: BufferRef; bias: BufferRef | null },
  timedRows?: number,
): Promise<MatmulKernel> {
  const real = (kernel: MatmulKernel) =>
    matmul(gpu, bindings.out, bindings.x, bindings.w, bindings.bias, s.M, s.K, s.N, { ...s, kernel });
  const name = await gpu.tuning.choose('matmul', matmulShapeKey(s), () =>
    matmulTrial(gpu, s, real, timedRows),
  );
  return parseMatmulKernelName(name)!;
}

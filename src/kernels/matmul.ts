/**
 * GPU wrapper of shaders/matmul.wgsl; CPU twin src/cpu/matmul.ts.
 *
 * The shader has several kernels for the same product (see its header); which is fastest depends on
 * the adapter and the shape, so callers pick one with `opts.kernel` (a tuner times
 * `matmulCandidates` on the real shapes) or get `defaultMatmulKernel(M)`.
 */
import type { MatmulOptions } from '../cpu/matmul';
import { BLOCK, type GpuWeightFormat, gpuRowBytes, isQuant, QUANT_FORMATS } from '../formats/formats';
import { type BufferRef, type Gpu, sliceOf } from '../gpu/gpu';
import { ceilDiv, Dispatch, DispatchChain, grid1d } from './dispatch';

export { packWeightF16 } from '../formats/f16';

/**
 * - `tile`: a 4x4 block of outputs per invocation, no barriers (prefill, M > a few rows).
 * - `gemv`: R outputs of one row per invocation over all of k, no barriers (matrix-vector).
 * - `coop`: TPR invocations per output along k, reduced in workgroup memory with barriers.
 * - `subgroup`: a subgroup per output along k, reduced with subgroupAdd (needs `subgroups`).
 * - `splitk`: gemv over S slices of k into a scratch buffer, then a reduction dispatch (long K).
 */
export type MatmulKind = 'tile' | 'gemv' | 'coop' | 'subgroup' | 'splitk';

/** One kernel of matmul.wgsl and its tuning constants; unset constants take the kind's defaults. */
export interface MatmulKernel {
  kind: MatmulKind;
  /** Workgroup size. */
  WG?: number;
  /** coop: invocations per output (a power of two dividing WG); subgroup: WG/TPR outputs a workgroup. */
  TPR?: number;
  /** gemv, splitk: outputs per invocation, 1..4. */
  R?: number;
  /** splitk: slices of k, 2..64. */
  S?: number;
  /** Bind x (and an NK weight) as vectors of 4: needs K % 4 == 0. */
  vec4?: boolean;
}

export interface GpuMatmulOptions extends MatmulOptions {
  /** The kernel; default `defaultMatmulKernel(M)`. */
  kernel?: MatmulKernel;
  /**
   * @deprecated use `kernel`. true: `defaultMatmulKernel(1)`, false: `{ kind: 'tile' }`.
   */
  decode?: boolean;
}

type Constant = 'WG' | 'TPR' | 'R' | 'S';

/** The constants each kind takes, in name order, with their defaults. */
const DEFAULTS: Record<MatmulKind, Partial<Record<Constant, number>>> = {
  tile: { WG: 64 },
  gemv: { WG: 64, R: 1 },
  coop: { WG: 256, TPR: 32 },
  subgroup: { WG: 128, TPR: 16 },
  splitk: { WG: 64, R: 1, S: 8 },
};
const CONSTANTS: Constant[] = ['WG', 'TPR', 'R', 'S'];
const KINDS = Object.keys(DEFAULTS) as MatmulKind[];
/** Workgroup size of the split-K reduction dispatch. */
const REDUCE_WG = 64;

/** The kernel with every constant its kind takes filled in; a constant it does not take is an error. */
function normalize(k: MatmulKernel): MatmulKernel & { vec4: boolean } {
  if (!KINDS.includes(k.kind)) throw new Error(`matmul: unknown kernel kind '${k.kind}'`);
  const defaults = DEFAULTS[k.kind];
  const n: MatmulKernel & { vec4: boolean } = { kind: k.kind, vec4: k.vec4 ?? false };
  for (const c of CONSTANTS) {
    if (c in defaults) n[c] = k[c] ?? defaults[c];
    else if (k[c] !== undefined) throw new Error(`matmul: kernel kind '${k.kind}' takes no ${c}`);
  }
  return n;
}

/** A stable name, every constant given: 'tile.wg64', 'gemv.wg64.r4.v4', 'coop.wg256.tpr32', 'splitk.wg64.r1.s8'. */
export function matmulKernelName(k: MatmulKernel): string {
  const n = normalize(k);
  const parts: string[] = [n.kind];
  for (const c of CONSTANTS) if (n[c] !== undefined) parts.push(`${c.toLowerCase()}${n[c]}`);
  if (n.vec4) parts.push('v4');
  return parts.join('.');
}

/**
 * The kernel a name stands for (constants left out take the kind's defaults, so 'gemv.r4.v4'
 * parses), or null when it is not a kernel name. Ranges are checked when the kernel is built.
 */
export function parseMatmulKernelName(name: string): MatmulKernel | null {
  const [kind, ...tokens] = name.split('.');
  if (!KINDS.includes(kind as MatmulKind)) return null;
  const k: MatmulKernel = { kind: kind as MatmulKind };
  for (const t of tokens) {
    if (t === 'v4' && !k.vec4) {
      k.vec4 = true;
      continue;
    }
    const m = /^(wg|tpr|r|s)([1-9]\d{0,5})$/.exec(t);
    const c = m?.[1].toUpperCase() as Constant | undefined;
    if (!m || !c || !(c in DEFAULTS[k.kind]) || k[c] !== undefined) return null;
    k[c] = Number(m[2]);
  }
  return normalize(k);
}

/**
 * The kernel used when none is given and nothing was tuned: barrier-free (barriers are what
 * software adapters are slowest at), matrix-vector for one or two rows, the register tile
 * otherwise (from three rows it reads the weight once for four rows).
 */
export function defaultMatmulKernel(M: number): MatmulKernel {
  return M <= 2 ? normalize({ kind: 'gemv', R: 4 }) : normalize({ kind: 'tile' });
}

/**
 * Every kernel worth timing for one shape, the default first, all valid for it: vec4 ones fall back
 * to scalar loads when K % 4 != 0, subgroup ones need the feature. Up to ten for M <= 4 (the
 * barrier-free ones software adapters like, the cooperative ones GPUs like, split-K for long K),
 * up to four for prefill.
 */
export function matmulCandidates(
  features: { subgroups: boolean },
  shape: { M: number; K: number; N: number; wLayout: 'NK' | 'KN'; format: GpuWeightFormat },
): MatmulKernel[] {
  const { M, K } = shape;
  const list: MatmulKernel[] = [];
  const add = (k: MatmulKernel) => {
    const n = normalize({ ...k, vec4: (k.vec4 ?? false) && K % 4 === 0 });
    if (!list.some((l) => matmulKernelName(l) === matmulKernelName(n))) list.push(n);
  };
  add(defaultMatmulKernel(M));
  if (M > 4) {
    add({ kind: 'tile', vec4: true });
    add({ kind: 'tile', WG: 256, vec4: true });
    if (M <= 16) add({ kind: 'gemv', R: 4, vec4: true });
    return list;
  }
  add({ kind: 'gemv', R: 1, vec4: true });
  add({ kind: 'gemv', R: 2, vec4: true });
  add({ kind: 'gemv', R: 4, vec4: true });
  add({ kind: 'gemv', WG: 128, R: 4, vec4: true });
  add({ kind: 'tile', vec4: true });
  // Today's decode kernel: a 128-byte row segment per output for NK, 16 k-slices for KN.
  add({ kind: 'coop', WG: 256, TPR: shape.wLayout === 'NK' ? 32 : 16, vec4: true });
  if (features.subgroups) {
    add({ kind: 'subgroup', WG: 128, TPR: 16, vec4: true });
    add({ kind: 'subgroup', WG: 32, TPR: 4, vec4: true });
  }
  // Long rows: S times the workgroups of gemv keeps a large GPU busy when N is small.
  if (K >= 1024) add({ kind: 'splitk', R: 1, S: 8, vec4: true });
  return list;
}

/** Throws an Error naming the kernel when it cannot run on this device or for this K. */
function validate(gpu: Gpu, k: MatmulKernel & { vec4: boolean }, K: number): void {
  const fail = (why: string) => {
    throw new Error(`matmul: kernel '${matmulKernelName(k)}' ${why}`);
  };
  const int = (c: Constant, lo: number, hi: number) => {
    const v = k[c];
    if (v !== undefined && !(Number.isInteger(v) && v >= lo && v <= hi))
      fail(`needs ${c} in ${lo}..${hi}, got ${v}`);
  };
  const maxWG = Math.min(gpu.limits.maxComputeInvocationsPerWorkgroup, gpu.limits.maxComputeWorkgroupSizeX);
  int('WG', 1, maxWG);
  int('R', 1, 4);
  int('S', 2, 64);
  const WG = k.WG ?? 0;
  if (k.TPR !== undefined) {
    int('TPR', 1, WG);
    if (WG % k.TPR) fail(`needs TPR to divide WG`);
    if (k.kind === 'coop' && (k.TPR & (k.TPR - 1)) !== 0) fail(`needs TPR a power of two`);
  }
  if (k.kind === 'coop' && WG * 4 > gpu.limits.maxComputeWorkgroupStorageSize) {
    fail(`needs ${WG * 4} bytes of workgroup memory, over maxComputeWorkgroupStorageSize`);
  }
  if (k.kind === 'subgroup' && !gpu.features.subgroups) fail(`needs the 'subgroups' feature`);
  if (k.vec4 && K % 4 !== 0) fail(`needs K % 4 == 0 for vec4 loads, K = ${K}`);
}

/**
 * The weight-format defines of matmul.wgsl and embedding.wgsl: F16, QUANT (any ggml format) and
 * one per quantized format (Q8_0 .. Q6_K); all false for f32. Throws, naming `kernel`, for a
 * format that is not a GPU weight format.
 */
export function formatDefines(format: GpuWeightFormat, kernel = 'matmul'): Record<string, boolean> {
  if (format !== 'f32' && format !== 'f16' && !QUANT_FORMATS.includes(format)) {
    throw new Error(
      `${kernel}: '${format}' is not a GPU weight format (f32, f16, ${QUANT_FORMATS.join(', ')})`,
    );
  }
  const d: Record<string, boolean> = { F16: format === 'f16', QUANT: isQuant(format) };
  for (const q of QUANT_FORMATS) d[q.toUpperCase()] = q === format;
  return d;
}

/** Throws an Error when a quantized weight's layout or K does not fit its blocks. */
function validateFormat(format: GpuWeightFormat, kn: boolean, K: number): void {
  if (!isQuant(format)) return;
  if (kn) throw new Error(`matmul: ${format} weights must have layout 'NK' (K contiguous), got 'KN'`);
  const QK = BLOCK[format].elements;
  if (K % QK !== 0) {
    throw new Error(`matmul: ${format} weights need K a multiple of its block of ${QK} values, got K = ${K}`);
  }
}

/** The kernel-selecting defines, all false but `on`. */
function kindDefines(on: 'TILE' | 'GEMV' | 'COOP' | 'SUBGROUP' | 'REDUCE', splitk = false) {
  const d = { TILE: false, GEMV: false, COOP: false, SUBGROUP: false, REDUCE: false, SPLITK: splitk };
  d[on] = true;
  return d;
}

/**
 * out[m, outOffset + n] (row stride outStride) = sum_k x[m, k] * W(n, k) + bias[n], for m < M,
 * n < N; with `accumulate`, added to what out holds. `update({ M })` changes the number of rows, up
 * to the M the dispatch was created with. A split-K kernel returns a DispatchChain that owns its
 * scratch buffer of partial sums. `opts.format` is how w is stored: f32, packed f16 (rows padded
 * to whole u32s), or ggml blocks decoded in the kernel (layout 'NK', K whole blocks; the binding
 * holds N * gpuRowBytes(format, K) bytes, padded to whole words).
 */
export async function matmul(
  gpu: Gpu,
  out: BufferRef,
  x: BufferRef,
  w: BufferRef,
  bias: BufferRef | null,
  M: number,
  K: number,
  N: number,
  opts: GpuMatmulOptions,
): Promise<Dispatch<{ M: number }> | DispatchChain<{ M: number }>> {
  const outStride = opts.outStride ?? N;
  const outOffset = opts.outOffset ?? 0;
  const kn = opts.wLayout === 'KN';
  if (!(K >= 1 && N >= 1 && M >= 0)) throw new Error(`matmul: bad sizes M=${M} K=${K} N=${N}`);
  if (outOffset + N > outStride) {
    throw new Error(`matmul: outOffset ${outOffset} + N ${N} exceed outStride ${outStride}`);
  }
  const legacy =
    opts.decode === undefined ? undefined : opts.decode ? defaultMatmulKernel(1) : { kind: 'tile' as const };
  const k = normalize(opts.kernel ?? legacy ?? defaultMatmulKernel(M));
  validate(gpu, k, K);
  const formatDefs = formatDefines(opts.format);
  validateFormat(opts.format, kn, K);

  const wRows = kn ? K : N;
  const wCols = kn ? N : K;
  const wBytes = wRows * gpuRowBytes(opts.format, wCols);
  const check = (name: string, ref: BufferRef, bytes: number) => {
    const size = sliceOf(ref).size;
    if (size < bytes) throw new Error(`matmul: ${name} has ${size} bytes, needs ${bytes}`);
    if (size > gpu.limits.maxStorageBufferBindingSize) {
      throw new Error(
        `matmul: ${name} binding of ${size} bytes exceeds maxStorageBufferBindingSize ` +
          `(${gpu.limits.maxStorageBufferBindingSize}); split the weight into column blocks`,
      );
    }
  };
  check('w', w, wBytes);
  check('x', x, M * K * 4);
  check('out', out, M ? ((M - 1) * outStride + outOffset + N) * 4 : 0);
  if (bias) check('bias', bias, N * 4);

  const layout = { W_KN: kn, VEC4: k.vec4, ...formatDefs };
  const epilogue = { BIAS: bias !== null, ACCUMULATE: opts.accumulate ?? false };
  const outBindings = bias ? { 1: out, 4: bias } : { 1: out };
  const setParams = (d: Dispatch<{ M: number }>, rows: number) => {
    if (rows > M) throw new Error(`matmul: M = ${rows} exceeds the M = ${M} it was created with`);
    d.set({ M: rows, K, N, outStride, outOffset });
  };
  const WG = k.WG!;

  if (k.kind !== 'splitk') {
    const on = { tile: 'TILE', gemv: 'GEMV', coop: 'COOP', subgroup: 'SUBGROUP' } as const;
    const constants: Record<string, number> = { WG };
    if (k.R !== undefined) constants.R = k.R;
    if (k.TPR !== undefined) constants.TPR = k.TPR;
    const p = await gpu.pipeline('matmul', { ...kindDefines(on[k.kind]), ...layout, ...epilogue }, constants);
    const groupsFor = (rows: number): number => {
      if (k.kind === 'tile') return ceilDiv(ceilDiv(rows, 4) * ceilDiv(N, 4), WG);
      if (k.kind === 'gemv') return rows * ceilDiv(N, WG * k.R!);
      return rows * ceilDiv(N, WG / k.TPR!);
    };
    return Dispatch.create(
      gpu,
      p,
      { ...outBindings, 2: x, 3: w },
      (d, dims) => {
        setParams(d, dims.M);
        grid1d(d, groupsFor(dims.M));
      },
      { M },
    );
  }

  // Split K: S slices of k write partial sums [S, M, N]; a reduction applies the epilogue.
  const S = k.S!;
  const partBytes = S * M * N * 4;
  if (partBytes > gpu.limits.maxStorageBufferBindingSize) {
    throw new Error(
      `matmul: kernel '${matmulKernelName(k)}' needs ${partBytes} bytes of partial sums, over maxStorageBufferBindingSize`,
    );
  }
  const [partial, reduce] = await Promise.all([
    gpu.pipeline(
      'matmul',
      { ...kindDefines('GEMV', true), ...layout, BIAS: false, ACCUMULATE: false },
      { WG, R: k.R!, S },
    ),
    gpu.pipeline(
      'matmul',
      { ...kindDefines('REDUCE'), W_KN: false, VEC4: false, ...formatDefines('f32'), ...epilogue },
      { WG: REDUCE_WG, S },
    ),
  ]);
  const part = await gpu.createBuffer('matmul split-k partial sums', partBytes);
  const parts: Dispatch<{ M: number }>[] = [];
  try {
    parts.push(
      await Dispatch.create(
        gpu,
        partial,
        { 2: x, 3: w, 5: part },
        (d, dims) => {
          setParams(d, dims.M);
          grid1d(d, S * dims.M * ceilDiv(N, WG * k.R!));
        },
        { M },
      ),
    );
    parts.push(
      await Dispatch.create(
        gpu,
        reduce,
        { ...outBindings, 5: part },
        (d, dims) => {
          setParams(d, dims.M);
          grid1d(d, ceilDiv(dims.M * N, REDUCE_WG));
        },
        { M },
      ),
    );
  } catch (e) {
    for (const d of parts) d.destroy();
    part.destroy();
    throw e;
  }
  return new DispatchChain(parts, [part]);
}

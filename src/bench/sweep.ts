/**
 * The kernel sweep, shared by `npm run bench` (Node, Dawn) and the bench page: peaks first (copy
 * and FMA probes), then every selected kernel's cases. Each row is checked against the CPU twin
 * before it is timed; a row that fails is marked and not timed. Matmul and attention run every
 * candidate the tuner has for each shape on this adapter, and the row the tuner would choose
 * (src/gpu/tuning.ts: the fastest that passed its check) is marked `chosen`.
 */

import { runAndCompare, type Uploaded, uploadCheckData } from '../gpu/check';
import type { Gpu } from '../gpu/gpu';
import { type TimingOptions, timeDispatches, timingMethod } from '../gpu/timing';
import { SLOW_FACTOR } from '../gpu/tuning';
import type { AnyDispatch } from '../kernels/dispatch';
import { type BenchCase, benchCases } from './cases';
import type { BenchReport, Environment, KernelRow, Peaks } from './schema';
import { SCHEMA_ID } from './schema';
import type { Preset } from './shapes';

export interface SweepOptions {
  preset: Preset;
  /** Kernels to run (default all); the peak probes always run, they are the reference. */
  kernels?: string[];
  /** Only rows whose shape label contains one of these (e.g. 'gpt2-s', 'M=1'); probes always run. */
  shapes?: string[];
  /** Vendor figures to report beside the measured peaks. */
  vendorBandwidthGBps?: number | null;
  vendorGflops?: number | null;
  timing?: Partial<TimingOptions>;
  onRow?: (row: KernelRow, done: number, total: number) => void;
  /** Checked between rows: a true value stops the sweep (the page's Stop button). */
  signal?: AbortSignal;
  /** Time candidates the tuner would skip as slow too (default false: they are marked 'slow'). */
  timeSlow?: boolean;
}

export const TIMING: Record<Preset, TimingOptions> = {
  quick: { targetPassMs: 40, reps: 3, warmup: 1, maxCallsPerPass: 200 },
  full: { targetPassMs: 25, reps: 9, warmup: 2, maxCallsPerPass: 2000 },
};

const LIMIT_NAMES = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
  'maxBindGroups',
];

export function environmentOf(gpu: Gpu): Environment {
  const limits: Record<string, number> = {};
  const l = gpu.limits as unknown as Record<string, unknown>;
  for (const name of LIMIT_NAMES) if (typeof l[name] === 'number') limits[name] = l[name] as number;
  for (const name in l) if (typeof l[name] === 'number') limits[name] = l[name] as number;
  const isBrowser = typeof window !== 'undefined' && typeof navigator !== 'undefined';
  const node = typeof process !== 'undefined' ? process.versions?.node : undefined;
  return {
    runtime: isBrowser ? 'browser' : 'node',
    userAgent: isBrowser
      ? navigator.userAgent
      : `Node.js ${node} (${process.platform} ${process.arch}), Dawn`,
    adapter: { ...gpu.adapter },
    features: [...gpu.device.features].map(String).sort(),
    limits,
  };
}

/**
 * Runs one case: prepare, upload, one call, compare, then time, unless that call took longer than
 * `slowAfterMs` (the row is then 'slow'). Never throws.
 */
export async function runBenchCase(
  gpu: Gpu,
  c: BenchCase,
  timing: TimingOptions,
  slowAfterMs = Number.POSITIVE_INFINITY,
): Promise<KernelRow> {
  const row: KernelRow = {
    kernel: c.kernel,
    variant: c.variant,
    shape: c.shape,
    model: c.model,
    dims: c.dims,
    flops: c.flops,
    bytes: c.bytes,
    chosen: c.tuned ? false : null,
    status: 'error',
    maxError: null,
    checked: '',
    message: '',
    firstMs: null,
    ms: null,
    callsPerPass: 0,
    reps: 0,
    method: 'none',
    gflops: null,
    gbps: null,
    shareBandwidth: null,
    shareFlops: null,
  };
  let up: Uploaded | undefined;
  let dispatch: AnyDispatch | undefined;
  try {
    const p = c.prepare();
    row.checked = p.checked;
    up = await uploadCheckData(gpu, c.kernel, p);
    dispatch = await p.gpu(gpu, up.out, up.inp);
    const expected = p.reference();
    const t0 = performance.now();
    const check = await runAndCompare(gpu, dispatch, up.out, expected, p.tol, p.exact);
    row.firstMs = performance.now() - t0;
    row.maxError = check.maxError;
    if (!check.pass) {
      row.status = 'fail';
      row.message = check.message;
      return row;
    }
    if (row.firstMs > slowAfterMs) {
      row.status = 'slow';
      row.message =
        `first call ${row.firstMs.toFixed(1)} ms, over ${SLOW_FACTOR}x the fastest candidate's first ` +
        'call: not timed (the tuner skips it too)';
      return row;
    }
    const t = await timeDispatches(gpu, [dispatch], timing);
    row.status = 'ok';
    row.ms = t.ms;
    row.method = t.method;
    row.callsPerPass = t.callsPerPass;
    row.reps = t.reps;
    const s = t.ms / 1000;
    row.gflops = c.flops > 0 ? c.flops / s / 1e9 : null;
    row.gbps = c.bytes / s / 1e9;
    return row;
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    row.status = /maxStorageBufferBindingSize|maxBufferSize|exceed the limit|out of GPU memory/.test(msg)
      ? 'skipped'
      : 'error';
    row.message = msg;
    return row;
  } finally {
    dispatch?.destroy();
    up?.destroy();
  }
}

/**
 * Marks, among the candidate rows of each kernel and shape, the one the tuner would choose: the
 * fastest that passed its check (none when every candidate failed).
 */
export function markChosen(rows: KernelRow[]): void {
  const best = new Map<string, KernelRow>();
  for (const r of rows) {
    if (r.chosen === null) continue;
    r.chosen = false;
    if (r.status !== 'ok' || r.ms === null) continue;
    const key = `${r.kernel} ${r.shape}`;
    const b = best.get(key);
    if (!b || r.ms < b.ms!) best.set(key, r);
  }
  for (const r of best.values()) r.chosen = true;
}

/** Fills each row's share of the measured peaks (the probes' best figures). */
export function applyPeaks(rows: KernelRow[], peaks: Peaks): void {
  for (const r of rows) {
    r.shareBandwidth = r.gbps !== null && peaks.bandwidthGBps ? r.gbps / peaks.bandwidthGBps : null;
    r.shareFlops = r.gflops !== null && peaks.gflops ? r.gflops / peaks.gflops : null;
  }
}

export function measuredPeaks(
  rows: KernelRow[],
  vendor: Pick<Peaks, 'vendorBandwidthGBps' | 'vendorGflops'>,
): Peaks {
  const best = (kernel: string, f: (r: KernelRow) => number | null) => {
    const xs = rows.filter((r) => r.kernel === kernel && r.status === 'ok').map(f);
    const finite = xs.filter((x): x is number => x !== null && Number.isFinite(x));
    return finite.length ? Math.max(...finite) : null;
  };
  return {
    bandwidthGBps: best('bench_copy', (r) => r.gbps),
    gflops: best('bench_fma', (r) => r.gflops),
    vendorBandwidthGBps: vendor.vendorBandwidthGBps ?? null,
    vendorGflops: vendor.vendorGflops ?? null,
  };
}

/**
 * The selected cases of a preset: the peak probes plus the chosen kernels, at the shapes whose
 * label contains one of `shapes` (all when none given); candidates for `gpu`'s adapter.
 */
export function selectCases(preset: Preset, kernels?: string[], gpu?: Gpu, shapes?: string[]): BenchCase[] {
  const all = benchCases(preset, gpu);
  const known = new Set(all.map((c) => c.kernel));
  const unknown = (kernels ?? []).filter((k) => !known.has(k));
  if (unknown.length)
    throw new Error(`unknown kernel(s): ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  const picked = all.filter(
    (c) =>
      c.kernel.startsWith('bench_') ||
      ((!kernels?.length || kernels.includes(c.kernel)) &&
        (!shapes?.length || shapes.some((s) => c.shape.includes(s)))),
  );
  if (shapes?.length && !picked.some((c) => !c.kernel.startsWith('bench_')))
    throw new Error(`no case has a shape containing ${shapes.join(' or ')}`);
  return picked;
}

/** Runs the sweep and returns the report (models: []; the model level is added by the caller). */
export async function runSweep(gpu: Gpu, opts: SweepOptions): Promise<BenchReport> {
  const timing = { ...TIMING[opts.preset], ...opts.timing };
  const cases = selectCases(opts.preset, opts.kernels, gpu, opts.shapes);
  const rows: KernelRow[] = [];
  const vendor = {
    vendorBandwidthGBps: opts.vendorBandwidthGBps ?? null,
    vendorGflops: opts.vendorGflops ?? null,
  };
  // The fastest first call of each kernel and shape so far, for the tuner's 'slow' rule.
  const bestFirst = new Map<string, number>();
  for (const c of cases) {
    if (opts.signal?.aborted) break;
    const key = `${c.kernel} ${c.shape}`;
    const slowAfter =
      c.tuned && !opts.timeSlow ? SLOW_FACTOR * (bestFirst.get(key) ?? Number.POSITIVE_INFINITY) : undefined;
    const row = await runBenchCase(gpu, c, timing, slowAfter);
    if (row.status === 'ok' && row.firstMs !== null)
      bestFirst.set(key, Math.min(row.firstMs, bestFirst.get(key) ?? Number.POSITIVE_INFINITY));
    rows.push(row);
    applyPeaks(rows, measuredPeaks(rows, vendor));
    markChosen(rows);
    opts.onRow?.(row, rows.length, cases.length);
  }
  const peaks = measuredPeaks(rows, vendor);
  applyPeaks(rows, peaks);
  markChosen(rows);
  return {
    schema: SCHEMA_ID,
    date: new Date().toISOString(),
    preset: opts.preset,
    environment: environmentOf(gpu),
    timing: {
      method: timingMethod(gpu, timing.forceWall),
      warmup: timing.warmup,
      reps: timing.reps,
      targetPassMs: timing.targetPassMs,
    },
    peaks,
    kernels: rows,
    models: [],
  };
}

/**
 * Timing a kernel: many dispatches of it in one compute pass, several passes, the median per call.
 * With the timestamp-query feature the pass is bracketed by GPU timestamps (resolved into a buffer
 * and read back); without it, the wall time from submit to onSubmittedWorkDone is used, which also
 * counts submission overhead (amortized by the dispatches per pass).
 */
import type { AnyDispatch } from '../kernels/dispatch';
import type { Gpu } from './gpu';

export type TimingMethod = 'timestamp-query' | 'wall';

export interface TimingOptions {
  /** Aim for passes of about this long, ms (dispatches per pass are calibrated to it). */
  targetPassMs: number;
  /** Timed passes; the median is reported. */
  reps: number;
  /** Untimed passes first (pipelines, caches, clocks). */
  warmup: number;
  /** Most dispatches in one pass. */
  maxCallsPerPass: number;
  /** Use wall time even when timestamps exist. */
  forceWall?: boolean;
}

export interface Timing {
  /** Median ms per call. */
  ms: number;
  method: TimingMethod;
  callsPerPass: number;
  reps: number;
}

export const now = (): number => performance.now();

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function timingMethod(gpu: Gpu, forceWall = false): TimingMethod {
  return gpu.features.timestampQuery && !forceWall ? 'timestamp-query' : 'wall';
}

/** One pass of `calls` repetitions of the dispatches, submitted and waited for; wall ms. */
async function wallPass(gpu: Gpu, dispatches: AnyDispatch[], calls: number): Promise<number> {
  const t = now();
  gpu.submit('bench', (pass) => {
    for (let i = 0; i < calls; i++) for (const d of dispatches) d.encode(pass);
  });
  await gpu.finish();
  return now() - t;
}

/** `reps` passes of `calls` repetitions each, timed by GPU timestamps; ms per pass. */
async function timestampPasses(
  gpu: Gpu,
  dispatches: AnyDispatch[],
  calls: number,
  reps: number,
): Promise<number[]> {
  const device = gpu.device;
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * reps });
  const resolve = device.createBuffer({
    size: 16 * reps,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  try {
    for (let r = 0; r < reps; r++) {
      const encoder = device.createCommandEncoder({ label: 'bench' });
      const pass = encoder.beginComputePass({
        label: 'bench',
        timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * r, endOfPassWriteIndex: 2 * r + 1 },
      });
      for (let i = 0; i < calls; i++) for (const d of dispatches) d.encode(pass);
      pass.end();
      if (r === reps - 1) encoder.resolveQuerySet(querySet, 0, 2 * reps, resolve, 0);
      device.queue.submit([encoder.finish()]);
      // One pass at a time, as the wall method does, so passes do not overlap.
      await gpu.finish();
    }
    const ticks = new BigUint64Array(await gpu.read(resolve));
    const out: number[] = [];
    for (let r = 0; r < reps; r++) out.push(Number(ticks[2 * r + 1] - ticks[2 * r]) / 1e6);
    return out;
  } finally {
    querySet.destroy();
    resolve.destroy();
  }
}

/**
 * Times the dispatches (already run once for the correctness check): calibrates the dispatches per
 * pass from a one-call pass, warms up, then reports the median ms per call over `reps` passes.
 * Falls back to wall time when timestamps come back empty (zero or decreasing).
 */
export async function timeDispatches(
  gpu: Gpu,
  dispatches: AnyDispatch[],
  opts: TimingOptions,
): Promise<Timing> {
  const one = await wallPass(gpu, dispatches, 1);
  let calls = Math.max(
    1,
    Math.min(opts.maxCallsPerPass, Math.round(opts.targetPassMs / Math.max(one, 1e-3))),
  );
  if (calls > 1) {
    // Refine: a pass of `calls` shows the per-call time without the submit overhead of one.
    const t = await wallPass(gpu, dispatches, calls);
    calls = Math.max(
      1,
      Math.min(opts.maxCallsPerPass, Math.round((opts.targetPassMs * calls) / Math.max(t, 1e-3))),
    );
  }
  for (let i = 0; i < opts.warmup; i++) await wallPass(gpu, dispatches, calls);
  const method = timingMethod(gpu, opts.forceWall);
  let passes: number[] = [];
  if (method === 'timestamp-query') {
    passes = await timestampPasses(gpu, dispatches, calls, opts.reps);
    if (passes.every((t) => t > 0))
      return { ms: median(passes) / calls, method, callsPerPass: calls, reps: opts.reps };
  }
  passes = [];
  for (let r = 0; r < opts.reps; r++) passes.push(await wallPass(gpu, dispatches, calls));
  return { ms: median(passes) / calls, method: 'wall', callsPerPass: calls, reps: opts.reps };
}

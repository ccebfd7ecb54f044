/**
 * The kernel benchmark's quick preset on one kernel in Node (Dawn): every row checked and timed,
 * and the report valid against bench/schema.json. The schema checker itself is tested on bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchCases, kernelNames } from '../src/bench/cases';
import { formatReport, toCsv } from '../src/bench/format';
import { type BenchReport, validateReport } from '../src/bench/schema';
import { runSweep } from '../src/bench/sweep';
import { Gpu } from '../src/gpu/gpu';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await Gpu.create();
});
afterAll(() => gpu?.destroy());

describe('kernel benchmark', () => {
  let report: BenchReport;

  it('runs the quick preset on rmsnorm (plus the peak probes)', async () => {
    report = await runSweep(gpu, { preset: 'quick', kernels: ['rmsnorm'] });
    const kernels = new Set(report.kernels.map((r) => r.kernel));
    expect([...kernels].sort()).toEqual(['bench_copy', 'bench_fma', 'rmsnorm']);
    for (const r of report.kernels) {
      expect(r.message).toBe('');
      expect(r.status).toBe('ok');
      expect(Number.isFinite(r.ms) && r.ms! > 0).toBe(true);
      expect(Number.isFinite(r.gbps)).toBe(true);
      expect(Number.isFinite(r.shareBandwidth)).toBe(true);
    }
    expect(report.peaks.bandwidthGBps).toBeGreaterThan(0);
    expect(report.peaks.gflops).toBeGreaterThan(0);
    expect(report.timing.method).toBe(gpu.features.timestampQuery ? 'timestamp-query' : 'wall');
  });

  it('writes JSON that matches bench/schema.json', () => {
    const json = JSON.parse(JSON.stringify(report));
    expect(validateReport(json)).toEqual([]);
    expect(formatReport(report)).toContain('rmsnorm');
    expect(toCsv(report).trim().split('\n')).toHaveLength(report.kernels.length + 1);
  });

  it('the schema check rejects what does not match', () => {
    const json = JSON.parse(JSON.stringify(report));
    json.preset = 'medium';
    json.kernels[0].ms = 'fast';
    delete json.peaks.gflops;
    json.extra = 1;
    const problems = validateReport(json);
    expect(problems).toContain('$.preset: must be one of quick, full');
    expect(problems).toContain('$.kernels[0].ms: is string, must be number or null');
    expect(problems).toContain('$.peaks.gflops: is missing');
    expect(problems).toContain('$.extra: is not allowed');
  });

  it('covers every kernel in both presets', () => {
    const shaders = Object.keys(import.meta.glob('../shaders/*.wgsl')).map((p) =>
      p.replace(/^.*\/(.*)\.wgsl$/, '$1'),
    );
    expect(kernelNames('quick').sort()).toEqual(shaders.sort());
    expect(kernelNames('full').sort()).toEqual(shaders.sort());
    const labels = benchCases('full').map((c) => `${c.kernel} ${c.variant} ${c.shape}`);
    expect(new Set(labels).size).toBe(labels.length);
  });
});

/**
 * The benchmark in Node (Dawn): the quick preset on one kernel (every row checked and timed), the
 * tuner's candidates side by side with one chosen per shape, the model figures of the default model
 * and the report valid against bench/schema.json. The schema checker itself is tested on bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchCases, kernelNames, matmulShapeLabel, matmulShapes } from '../src/bench/cases';
import { formatReport, modelDetail, modelTable, toCsv } from '../src/bench/format';
import { benchModel, loadHostModel, opOfKey, opTimes } from '../src/bench/model';
import { GPT2_4X64, GPT2_SMALL_RANDOM, LLAMA_1B_RANDOM, randomModel } from '../src/bench/random-model';
import { type BenchReport, type ModelRow, validateReport } from '../src/bench/schema';
import { markChosen, runSweep } from '../src/bench/sweep';
import { Gpu } from '../src/gpu/gpu';
import { matmulCandidates, matmulKernelName } from '../src/kernels/matmul';
import { defaultModelPath } from '../src/model/default-model';

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
    expect(problems).toContain('$.preset: must be one of quick, standard, full');
    expect(problems).toContain('$.kernels[0].ms: is string, must be number or null');
    expect(problems).toContain('$.peaks.gflops: is missing');
    expect(problems).toContain('$.extra: is not allowed');
  });

  it('covers every kernel in both presets', () => {
    // Kernels timed inside another kernel's rows, and kernels still being written (no case yet).
    const inside: Record<string, string> = { attention_merge: 'attention' };
    const pending = ['sample'];
    const shaders = Object.keys(import.meta.glob('../shaders/*.wgsl'))
      .map((p) => p.replace(/^.*\/(.*)\.wgsl$/, '$1'))
      .filter((k) => !(k in inside) && !pending.includes(k));
    expect(kernelNames('quick').sort()).toEqual(shaders.sort());
    expect(kernelNames('full').sort()).toEqual(shaders.sort());
    // attention_merge runs in the split (flash-decoding) candidates of the decode attention rows.
    for (const preset of ['quick', 'full'] as const) {
      const split = benchCases(preset, gpu).filter(
        (c) => c.kernel === 'attention' && c.variant.includes('split'),
      );
      expect(split.length, preset).toBeGreaterThan(0);
    }
    const labels = benchCases('full').map((c) => `${c.kernel} ${c.variant} ${c.shape}`);
    expect(new Set(labels).size).toBe(labels.length);
  });

  it('runs every matmul and attention candidate of a shape and marks the one the tuner would choose', async () => {
    const r = await runSweep(gpu, { preset: 'quick', kernels: ['matmul', 'attention'], shapes: ['ts-656k'] });
    expect(validateReport(JSON.parse(JSON.stringify(r)))).toEqual([]);
    const mm = matmulShapes('quick').filter((s) => s.m.name === 'ts-656k');
    expect(mm.length).toBeGreaterThanOrEqual(2);
    for (const s of mm) {
      const rows = r.kernels.filter((k) => k.kernel === 'matmul' && k.shape === matmulShapeLabel(s));
      // Every candidate of this adapter, in the tuner's order, one row each.
      expect(rows.map((k) => k.variant)).toEqual(matmulCandidates(gpu.features, s).map(matmulKernelName));
      const chosen = rows.filter((k) => k.chosen);
      expect(chosen, s.what).toHaveLength(1);
      const fastest = Math.min(...rows.filter((k) => k.status === 'ok').map((k) => k.ms!));
      expect(chosen[0].status).toBe('ok');
      expect(chosen[0].ms).toBe(fastest);
    }
    const attention = r.kernels.filter((k) => k.kernel === 'attention');
    for (const shape of new Set(attention.map((k) => k.shape))) {
      expect(attention.filter((k) => k.shape === shape && k.chosen)).toHaveLength(1);
    }
    expect(r.kernels.filter((k) => k.kernel.startsWith('bench_')).every((k) => k.chosen === null)).toBe(true);
    expect(formatReport(r)).toMatch(/chosen/);
  });

  it('marks no row chosen when every candidate failed', () => {
    const row = (variant: string, status: 'ok' | 'fail', ms: number | null) =>
      ({ kernel: 'matmul', shape: 's', variant, status, ms, chosen: false }) as BenchReport['kernels'][0];
    const rows = [row('a', 'fail', null), row('b', 'fail', null)];
    markChosen(rows);
    expect(rows.some((r) => r.chosen)).toBe(false);
    rows.push(row('c', 'ok', 2), row('d', 'ok', 1));
    markChosen(rows);
    expect(rows.map((r) => r.chosen)).toEqual([false, false, false, true]);
  });
});

describe('model benchmark', () => {
  let row: ModelRow;

  it('measures the default model: speed, dispatches, profile, kernel choices', async () => {
    const { cfg, w, buildMs } = await loadHostModel(defaultModelPath());
    row = await benchModel(cfg, w, {
      name: 'tinystories-656k (default)',
      dtype: 'f32',
      promptTokens: 8,
      decodeTokens: 3,
      maxContext: 32,
      bandwidthGBps: 1,
      tuning: { mode: 'auto', store: null },
      buildMs,
    });
    expect(row.dispatchesPerToken).toBeGreaterThan(0);
    expect(row.decodeTokensPerSecond).toBeGreaterThan(0);
    expect(row.prefill4Ms).toBeGreaterThan(0);
    expect(row.msPerToken).toBeCloseTo(1000 / row.decodeTokensPerSecond, 6);
    expect(row.shareOfRoofline).toBeCloseTo(row.weightBytes / 1e6 / row.msPerToken, 6);
    // The profile covers every dispatch of a step, summed per op.
    const p = row.profile!;
    expect(p.ops.reduce((n, t) => n + t.dispatches, 0)).toBe(row.dispatchesPerToken);
    expect(p.ops.reduce((s, t) => s + t.share, 0)).toBeCloseTo(1, 6);
    expect(p.ops[0].ms).toBe(Math.max(...p.ops.map((t) => t.ms)));
    expect(p.ops.map((t) => t.op)).toContain('attention');
    // Every op and shape the tapes use was chosen here, by tuning (no store: nothing cached).
    expect(row.kernelChoices.length).toBeGreaterThan(0);
    const ops = new Set(row.kernelChoices.map((c) => c.op));
    expect(ops.has('matmul') && ops.has('attention')).toBe(true);
    for (const c of row.kernelChoices) {
      expect(['tuned', 'default']).toContain(c.source);
      if (c.source === 'tuned') expect(c.candidates.find((k) => k.status === 'chosen')?.name).toBe(c.name);
    }
  });

  it('writes a schema-valid report and prints the table and the detail', () => {
    const report = {
      schema: 'wgpt-bench/1',
      date: new Date().toISOString(),
      preset: 'quick',
      environment: {
        runtime: 'node',
        userAgent: 'test',
        adapter: { ...gpu.adapter },
        features: [],
        limits: {},
      },
      timing: { method: 'wall', warmup: 1, reps: 3, targetPassMs: 40 },
      peaks: { bandwidthGBps: 1, gflops: null, vendorBandwidthGBps: null, vendorGflops: null },
      kernels: [],
      models: [row],
      host: {
        cpus: 2,
        loadAverageStart: [0.5, 0.5, 0.5],
        loadAverageEnd: [0.6, 0.5, 0.5],
        otherCpuShare: 0.01,
      },
    };
    expect(validateReport(JSON.parse(JSON.stringify(report)))).toEqual([]);
    const bad = JSON.parse(JSON.stringify(report));
    bad.models[0].dispatchesPerToken = 1.5;
    delete bad.models[0].kernelChoices;
    expect(validateReport(bad)).toEqual([
      '$.models[0].kernelChoices: is missing',
      '$.models[0].dispatchesPerToken: is number, must be integer',
    ]);
    const table = modelTable([row]);
    expect(table).toContain('disp/token');
    expect(table).toContain(String(row.dispatchesPerToken));
    const detail = modelDetail(row).join('\n');
    expect(detail).toContain('prefill');
    expect(detail).toMatch(/tuned now \d+/);
    expect(detail).toContain(row.profile!.ops[0].op);
  });

  it('names ops without layer numbers or weight blocks', () => {
    expect(opOfKey('matmul h.11.mlp.c_fc 0')).toBe('matmul mlp.c_fc');
    expect(opOfKey('matmul h.3.attn.c_proj 0 +=')).toBe('matmul attn.c_proj +=');
    expect(opOfKey('attention 7')).toBe('attention');
    expect(opOfKey('matmul unembed wte 65536')).toBe('matmul unembed wte');
    expect(opOfKey('matmul model.layers.0.mlp.gate_proj.weight + model.layers.0.mlp.up_proj.weight 0')).toBe(
      'matmul mlp.gate_proj+up_proj',
    );
  });

  it('sums a profile per op, leaving out the token choice a greedy step does not run', () => {
    const v = JSON.stringify({ GEMV: true, BIAS: false, WG: 64, R: 2 });
    const t = opTimes([
      { key: 'matmul h.0.mlp.c_fc 0', kernel: 'matmul', variant: v, ms: 2 },
      { key: 'matmul h.1.mlp.c_fc 0', kernel: 'matmul', variant: v, ms: 2 },
      { key: 'attention 0', kernel: 'attention', variant: '{}', ms: 1 },
      { key: 'argmax (greedy)', kernel: 'argmax', variant: '{}', ms: 1 },
      { key: 'sample (temperature 1)', kernel: 'sample', variant: '{}', ms: 3 },
    ]);
    expect(t.stepMs).toBe(6);
    expect(t.ops.map((o) => [o.op, o.dispatches, o.ms, o.share])).toEqual([
      ['matmul mlp.c_fc', 2, 4, 4 / 6],
      ['attention', 1, 1, 1 / 6],
      ['argmax (greedy)', 1, 1, 1 / 6],
    ]);
    expect(t.ops[0].variants).toEqual(['GEMV wg64 r2']);
    expect(t.others.map((o) => [o.op, o.share])).toEqual([['sample (temperature 1)', 0.5]]);
  });

  it('builds random models of the asked shapes cheaply', () => {
    const t = performance.now();
    const small = randomModel(GPT2_SMALL_RANDOM);
    expect(performance.now() - t).toBeLessThan(5000);
    expect(small.cfg).toMatchObject({ arch: 'gpt2', layers: 12, hidden: 768, vocabSize: 50257, heads: 12 });
    expect(small.w.layers).toHaveLength(12);
    expect(small.w.lmHead).toBe(small.w.wte);
    expect(small.w.layers[0].fc).toMatchObject({ K: 768, N: 3072, layout: 'KN' });
    const tiny = randomModel(GPT2_4X64);
    expect(tiny.cfg).toMatchObject({ layers: 4, hidden: 64, heads: 4, vocabSize: 50304, maxContext: 1024 });
    // Llama-1B is only described here (building it takes a GB of host memory).
    expect(LLAMA_1B_RANDOM.config).toMatchObject({
      hidden_size: 2048,
      num_hidden_layers: 16,
      num_attention_heads: 32,
      num_key_value_heads: 8,
      head_dim: 64,
      intermediate_size: 8192,
      vocab_size: 128256,
      tie_word_embeddings: true,
    });
  });
});

/**
 * Model-level benchmark: for each model and weight dtype, prefill and decode speed, ms per token,
 * dispatches per token, where a decode step's time goes, the share of the bandwidth roofline, a
 * 4-token prefill beside a decode step, and the tuner's kernel choices (src/bench/model.ts).
 *
 *   npm run bench:model -- [--quick | --full | --preset quick|standard|full] [--dtype f32,f16,q8,q4]
 *                          [--models ts,gpt2-4x64,gpt2-small,llama-1b] [--retune | --tuning off]
 *                          [--prompt N] [--decode N] [--ctx N] [--kv-dtype f16] [--no-profile]
 *                          [--json out.json]
 *
 * Models: the embedded default (tinystories-656k, Llama), and random GPT-2s of 4 layers x 64 wide
 * (vocab 50304) and of GPT-2-small's shape; --full adds a random Llama-1B-shaped model (for real
 * GPUs: 2.5 GB of weights in f16, 1.3 GB in q8, 0.7 GB in q4). --quick is what the test suite
 * and SwiftShader afford: a 16-token prompt, 8 tokens. Choices come from the tuning cache
 * (~/.cache/wgpt/tuning.json) when it has them; --retune tunes every shape again.
 *
 * The report (default bench-out/model.json) is a bench/schema.json report: the bench_copy rows
 * that measured the bandwidth, and one ModelRow per model and dtype; the load average is recorded,
 * since on a software adapter a busy CPU is a slow "GPU".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { peakCases } from '../src/bench/cases';
import { aligned, KERNEL_COLUMNS, kernelTable, modelDetail, modelTable } from '../src/bench/format';
import { hostLine, hostSummary, watchHost } from '../src/bench/host';
import { benchModel, loadHostModel } from '../src/bench/model';
import {
  GPT2_4X64,
  GPT2_SMALL_RANDOM,
  LLAMA_1B_RANDOM,
  type RandomModelSpec,
  randomModel,
} from '../src/bench/random-model';
import { type BenchReport, type ModelRow, SCHEMA_ID, validateReport } from '../src/bench/schema';
import { environmentOf, measuredPeaks, runBenchCase, TIMING } from '../src/bench/sweep';
import type { ModelConfig } from '../src/checkpoint/config';
import type { ModelWeights } from '../src/checkpoint/weights';
import { DTYPES, type Dtype } from '../src/formats/convert';
import { Gpu } from '../src/gpu/gpu';
import { timingMethod } from '../src/gpu/timing';
import type { TuningMode } from '../src/gpu/tuning';
import { DEFAULT_MODEL, defaultModelPath } from '../src/model/default-model';

const { values } = parseArgs({
  options: {
    preset: { type: 'string' },
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    dtype: { type: 'string' },
    'kv-dtype': { type: 'string', default: 'f32' },
    models: { type: 'string' },
    retune: { type: 'boolean', default: false },
    tuning: { type: 'string' },
    prompt: { type: 'string' },
    decode: { type: 'string' },
    ctx: { type: 'string' },
    'no-profile': { type: 'boolean', default: false },
    json: { type: 'string', default: 'bench-out/model.json' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

interface ModelEntry {
  key: string;
  name: string;
  /** Only in --full (or when named in --models). */
  fullOnly?: boolean;
  /** Dtypes when --dtype is not given. */
  dtypes?: Dtype[];
  build(): Promise<{ cfg: ModelConfig; w: ModelWeights; buildMs: number }>;
}

const random = (spec: RandomModelSpec) => async () => {
  const t = performance.now();
  const m = randomModel(spec);
  return { ...m, buildMs: performance.now() - t };
};

const MODELS: ModelEntry[] = [
  { key: 'ts', name: `${DEFAULT_MODEL} (default)`, build: () => loadHostModel(defaultModelPath()) },
  { key: 'gpt2-4x64', name: GPT2_4X64.name, build: random(GPT2_4X64) },
  { key: 'gpt2-small', name: GPT2_SMALL_RANDOM.name, build: random(GPT2_SMALL_RANDOM) },
  {
    key: 'llama-1b',
    name: LLAMA_1B_RANDOM.name,
    fullOnly: true,
    dtypes: ['f16', 'q8', 'q4'],
    build: random(LLAMA_1B_RANDOM),
  },
];

/** Prompt and decode tokens and KV positions per preset. */
const SIZES = {
  quick: { prompt: 16, decode: 8, ctx: 64 },
  standard: { prompt: 128, decode: 32, ctx: 256 },
  full: { prompt: 512, decode: 128, ctx: 1024 },
};

if (values.help) {
  console.log(
    'npm run bench:model -- [--quick | --full | --preset quick|standard|full] [--dtype f32,f16,q8,q4] ' +
      '[--models ts,gpt2-4x64,gpt2-small,llama-1b] [--retune | --tuning auto|retune|off] ' +
      '[--prompt N] [--decode N] [--ctx N] [--kv-dtype f32|f16] [--no-profile] [--json out.json]',
  );
  process.exit(0);
}

const preset = values.preset ?? (values.quick ? 'quick' : values.full ? 'full' : 'standard');
if (preset !== 'quick' && preset !== 'standard' && preset !== 'full')
  throw new Error(`--preset must be quick, standard or full, got '${preset}'`);
const listOf = (s: string | undefined) =>
  s
    ?.split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const dtypes = listOf(values.dtype) as Dtype[] | undefined;
for (const d of dtypes ?? [])
  if (!DTYPES.includes(d)) throw new Error(`--dtype: '${d}' is not one of ${DTYPES.join(', ')}`);
const kvDtype = values['kv-dtype'];
if (kvDtype !== 'f32' && kvDtype !== 'f16') throw new Error(`--kv-dtype must be f32 or f16`);
const tuningMode = (values.retune ? 'retune' : (values.tuning ?? 'auto')) as TuningMode;
if (!['auto', 'retune', 'off'].includes(tuningMode)) throw new Error(`--tuning must be auto, retune or off`);
const wanted = listOf(values.models);
const unknown = (wanted ?? []).filter((k) => !MODELS.some((m) => m.key === k));
if (unknown.length)
  throw new Error(`unknown model(s) ${unknown.join(', ')}; known: ${MODELS.map((m) => m.key).join(', ')}`);
const models = MODELS.filter((m) => (wanted ? wanted.includes(m.key) : !m.fullOnly || preset === 'full'));
const count = (s: string | undefined, fallback: number) => {
  const n = s === undefined ? fallback : Number(s);
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`expected a positive integer, got '${s}'`);
  return n;
};
const sizes = {
  prompt: count(values.prompt, SIZES[preset].prompt),
  decode: count(values.decode, SIZES[preset].decode),
  ctx: count(values.ctx, SIZES[preset].ctx),
};

const host = watchHost();
const started = performance.now();
console.log(`${hostLine()}; preset ${preset}, tuning ${tuningMode}`);

// The bandwidth the roofline divides by: bench_copy, on a device of its own, before any model.
const probeGpu = await Gpu.create({ tuning: { store: null } });
const a = probeGpu.adapter;
console.log(
  `adapter: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' · ')}` +
    (a.isSoftware ? ' (SOFTWARE: these figures measure the CPU, not a GPU)' : ''),
);
const timing = TIMING[preset === 'full' ? 'full' : 'quick'];
const copies = peakCases(preset === 'full' ? 'full' : 'quick').filter((c) => c.kernel === 'bench_copy');
const probes = [];
for (const c of copies) probes.push(await runBenchCase(probeGpu, c, timing));
const peaks = measuredPeaks(probes, { vendorBandwidthGBps: null, vendorGflops: null });
const environment = environmentOf(probeGpu);
const method = timingMethod(probeGpu);
probeGpu.destroy();
console.log(`${aligned(KERNEL_COLUMNS, kernelTable(probes))}`);
console.log(
  `bandwidth: ${peaks.bandwidthGBps?.toFixed(2) ?? '—'} GB/s (bench_copy, best of ${probes.length})\n`,
);

const rows: ModelRow[] = [];
for (const entry of models) {
  const host = await entry.build();
  for (const dtype of dtypes ?? entry.dtypes ?? DTYPES) {
    const row = await benchModel(host.cfg, host.w, {
      name: entry.name,
      dtype,
      kvDtype,
      promptTokens: sizes.prompt,
      decodeTokens: sizes.decode,
      maxContext: sizes.ctx,
      bandwidthGBps: peaks.bandwidthGBps,
      profile: !values['no-profile'],
      tuning: { mode: tuningMode },
      buildMs: host.buildMs,
      onStatus: (what) => process.stderr.write(`  ${entry.name} ${dtype}: ${what}…\n`),
    });
    rows.push(row);
    console.log(`${modelDetail(row).join('\n')}\n`);
  }
}

console.log(modelTable(rows));
const report: BenchReport = {
  schema: SCHEMA_ID,
  date: new Date().toISOString(),
  preset,
  environment,
  timing: { method, warmup: timing.warmup, reps: timing.reps, targetPassMs: timing.targetPassMs },
  peaks,
  kernels: probes,
  models: rows,
  host: host.end(),
};
const problems = validateReport(JSON.parse(JSON.stringify(report)));
if (problems.length) throw new Error(`report does not match bench/schema.json:\n${problems.join('\n')}`);
mkdirSync(dirname(values.json), { recursive: true });
writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
console.log(
  `\nwrote ${values.json} (${((performance.now() - started) / 1000).toFixed(0)} s; ${hostSummary(report.host!)})`,
);

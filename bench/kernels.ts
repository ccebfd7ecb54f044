/**
 * Kernel benchmark in Node (Dawn): the same sweep and JSON schema as the bench page (demo/bench/).
 *
 *   npm run bench -- [--preset quick|full] [--kernels matmul,attention,...] [--shapes gpt2-s,M=1]
 *                    [--json out.json] [--no-model] [--wall] [--vendor-gbps N] [--vendor-gflops N]
 *
 * Every row is checked against the CPU twin before it is timed. The peak probes (bench_copy,
 * bench_fma) always run: they give the peaks the "% peak" column divides by. Matmul and attention
 * run every candidate the tuner has for each shape on this adapter, side by side, and mark the one
 * it would choose. --shapes keeps the rows whose shape label contains one of the given strings.
 * Unless --no-model, the embedded default model's figures follow (see bench/model.ts for more
 * models). The quick preset is sized for SwiftShader (minutes); full is for real GPUs. The JSON is
 * checked against bench/schema.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { kernelNames } from '../src/bench/cases';
import { formatReport } from '../src/bench/format';
import { hostLine, hostSummary, watchHost } from '../src/bench/host';
import { benchModel, loadHostModel } from '../src/bench/model';
import { validateReport } from '../src/bench/schema';
import { runSweep } from '../src/bench/sweep';
import { Gpu } from '../src/gpu/gpu';
import { DEFAULT_MODEL, defaultModelPath } from '../src/model/default-model';

const { values } = parseArgs({
  options: {
    preset: { type: 'string', default: 'quick' },
    kernels: { type: 'string' },
    shapes: { type: 'string' },
    json: { type: 'string', default: 'bench-out/kernels.json' },
    'no-model': { type: 'boolean', default: false },
    wall: { type: 'boolean', default: false },
    'vendor-gbps': { type: 'string' },
    'vendor-gflops': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(
    'npm run bench -- [--preset quick|full] [--kernels a,b] [--shapes s,t] [--json out.json] [--no-model] [--wall] ' +
      `[--vendor-gbps N] [--vendor-gflops N]\nkernels: ${kernelNames().join(', ')}`,
  );
  process.exit(0);
}
const preset = values.preset;
if (preset !== 'quick' && preset !== 'full')
  throw new Error(`--preset must be quick or full, got '${preset}'`);
const listOf = (s: string | undefined) =>
  s
    ?.split(',')
    .map((k) => k.trim())
    .filter(Boolean);
const kernels = listOf(values.kernels);
const shapes = listOf(values.shapes);
const vendorNumber = (s: string | undefined) => (s === undefined ? null : Number(s));

const host = watchHost();
console.log(hostLine());
const gpu = await Gpu.create();
const a = gpu.adapter;
console.log(
  `adapter: ${a.vendor} ${a.architecture} ${a.description}${a.isSoftware ? ' (SOFTWARE: measures the CPU)' : ''}`,
);
const started = performance.now();
const report = await runSweep(gpu, {
  preset,
  kernels,
  shapes,
  vendorBandwidthGBps: vendorNumber(values['vendor-gbps']),
  vendorGflops: vendorNumber(values['vendor-gflops']),
  timing: { forceWall: values.wall },
  onRow: (r, done, total) => {
    const figure = r.status === 'ok' ? `${r.ms!.toFixed(3)} ms` : `${r.status}: ${r.message.slice(0, 120)}`;
    // `chosen` is final once a shape's last candidate is in: the table below has it.
    console.log(`[${done}/${total}] ${r.kernel} ${r.variant} ${r.shape}: ${figure}`);
  },
});
gpu.destroy();

if (!values['no-model']) {
  const { cfg, w, buildMs } = await loadHostModel(defaultModelPath());
  report.models.push(
    await benchModel(cfg, w, {
      name: `${DEFAULT_MODEL} (default)`,
      dtype: 'f32',
      promptTokens: preset === 'quick' ? 16 : 128,
      decodeTokens: preset === 'quick' ? 8 : 64,
      maxContext: preset === 'quick' ? 64 : 256,
      bandwidthGBps: report.peaks.bandwidthGBps,
      buildMs,
    }),
  );
}

report.host = host.end();
console.log(`\n${formatReport(report)}\n`);
const problems = validateReport(JSON.parse(JSON.stringify(report)));
if (problems.length) throw new Error(`report does not match bench/schema.json:\n${problems.join('\n')}`);
mkdirSync(dirname(values.json), { recursive: true });
writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
console.log(
  `wrote ${values.json} (${((performance.now() - started) / 1000).toFixed(1)} s; ${hostSummary(report.host)})`,
);
const failed = report.kernels.filter((r) => r.status === 'fail' || r.status === 'error').length;
if (failed) {
  console.error(`${failed} row(s) failed their check or errored`);
  process.exitCode = 1;
}

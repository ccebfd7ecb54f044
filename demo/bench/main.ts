/**
 * The kernel benchmark page: runs the shared sweep (src/bench) in the browser, fills the table as
 * rows come in (matmul and attention: every candidate of the tuner per shape, the one it would
 * choose marked), draws GFLOP/s and GB/s per kernel with uPlot (variants side by side), measures a
 * model (src/bench/model.ts: prefill, decode, dispatches per token, where a step goes, kernel
 * choices), and downloads the report as JSON (bench/schema.json) or CSV.
 *
 * URL parameters preselect the form: ?preset=quick&kernels=rmsnorm,matmul&shapes=ts-656k (the e2e
 * test uses them); a model source 'random:gpt2-4x64' or 'random:gpt2-small' builds a random model.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { kernelNames } from '../../src/bench/cases';
import {
  KERNEL_COLUMNS,
  kernelCells,
  kernelTable,
  MODEL_COLUMNS,
  modelCells,
  modelDetail,
  toCsv,
} from '../../src/bench/format';
import { benchModel, loadHostModel } from '../../src/bench/model';
import { GPT2_4X64, GPT2_SMALL_RANDOM, randomModel } from '../../src/bench/random-model';
import {
  type BenchReport,
  type KernelRow,
  type ModelRow,
  SCHEMA_ID,
  validateReport,
} from '../../src/bench/schema';
import { environmentOf, runSweep, TIMING } from '../../src/bench/sweep';
import { Gpu } from '../../src/gpu/gpu';
import { timingMethod } from '../../src/gpu/timing';
import type { TuningMode } from '../../src/gpu/tuning';
import { DEFAULT_MODEL } from '../../src/model/default-model';

declare global {
  interface Window {
    /** The last report (kernels and models), for tests and the console. */
    benchReport?: BenchReport;
    /** Set when a kernel run ends: 'done', 'stopped' or an error message. */
    benchState?: string;
    /** Set when a model run ends: 'done' or an error message. */
    benchModelState?: string;
    /** What validateReport found wrong with the last report (empty: it matches bench/schema.json). */
    benchProblems?: string[];
    benchCharts?: Record<string, uPlot[]>;
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const DEFAULT_MODEL_URL = new URL(`../../models/${DEFAULT_MODEL}/`, location.href).href;
const PROBES = ['bench_copy', 'bench_fma'];
const COLORS = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#ca8a04',
  '#db2777',
  '#4b5563',
  '#65a30d',
  '#7c3aed',
];
const RANDOM_MODELS: Record<string, typeof GPT2_4X64> = {
  'random:gpt2-4x64': GPT2_4X64,
  'random:gpt2-small': GPT2_SMALL_RANDOM,
};

let gpu: Gpu | undefined;
let report: BenchReport | undefined;
const modelRows: ModelRow[] = [];
let stopper: AbortController | undefined;
const charts: Record<string, uPlot[]> = {};

function header(rowId: string, cols: readonly string[]): void {
  $(rowId).replaceChildren(
    ...cols.map((c) => Object.assign(document.createElement('th'), { textContent: c, scope: 'col' })),
  );
}

function tableRow(cells: string[], numericFrom: number): HTMLTableRowElement {
  const tr = document.createElement('tr');
  cells.forEach((c, i) => {
    const td = document.createElement('td');
    td.textContent = c;
    if (i >= numericFrom) td.className = 'num';
    tr.append(td);
  });
  return tr;
}

function kernelRow(r: KernelRow, cells = kernelCells(r)): HTMLTableRowElement {
  const tr = tableRow(cells, 4);
  tr.dataset.status = r.status;
  tr.dataset.kernel = r.kernel;
  tr.dataset.shape = r.shape;
  if (r.chosen !== null) tr.dataset.chosen = String(r.chosen);
  const check = tr.children[3] as HTMLElement;
  check.className = r.status === 'ok' ? 'check-ok' : 'check-bad';
  if (r.message) tr.title = r.message;
  return tr;
}

/** A chart of one figure across a kernel's shapes, one series per variant. */
function drawChart(
  kernel: string,
  rows: KernelRow[],
  figure: 'gflops' | 'gbps',
  width: number,
): uPlot | null {
  const shapes = [...new Set(rows.map((r) => r.shape))];
  const variants = [...new Set(rows.map((r) => r.variant))];
  const series = variants.map((v) =>
    shapes.map((s) => rows.find((r) => r.variant === v && r.shape === s)?.[figure] ?? null),
  );
  if (!series.flat().some((x) => x !== null && x > 0)) return null;
  const box = document.createElement('div');
  box.className = 'chart';
  box.dataset.kernel = kernel;
  box.dataset.figure = figure;
  box.append(
    Object.assign(document.createElement('h3'), {
      textContent: `${kernel}: ${figure === 'gflops' ? 'GFLOP/s' : 'GB/s'} by shape`,
    }),
  );
  $('charts').append(box);
  const xs = shapes.map((_, i) => i);
  const opts: uPlot.Options = {
    width,
    height: 260,
    scales: { x: { time: false, range: [-0.5, Math.max(shapes.length - 0.5, 0.5)] }, y: { distr: 3 } },
    axes: [
      {
        splits: () => xs,
        values: (_u, splits) => splits.map((i) => shapes[i] ?? ''),
        rotate: -20,
        size: 90,
        font: '10px system-ui',
      },
      { label: figure === 'gflops' ? 'GFLOP/s' : 'GB/s', font: '11px system-ui' },
    ],
    series: [
      { label: 'shape', value: (_u, i) => (i === null ? '' : (shapes[i] ?? '')) },
      ...variants.map((v, i) => ({
        label: v,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        points: { size: 7 },
        spanGaps: true,
      })),
    ],
  };
  return new uPlot(opts, [xs, ...series] as uPlot.AlignedData, box);
}

function drawCharts(rows: KernelRow[]): void {
  for (const list of Object.values(charts)) for (const c of list) c.destroy();
  for (const k of Object.keys(charts)) delete charts[k];
  $('charts').replaceChildren();
  const width = Math.min(560, Math.max(320, $('charts').clientWidth - 20));
  const kernels = [...new Set(rows.map((r) => r.kernel))];
  for (const k of kernels) {
    const ok = rows.filter((r) => r.kernel === k && r.status === 'ok');
    charts[k] = [drawChart(k, ok, 'gflops', width), drawChart(k, ok, 'gbps', width)].filter(
      (c): c is uPlot => c !== null,
    );
  }
}

function showPeaks(r: BenchReport): void {
  const p = r.peaks;
  const f = (x: number | null, unit: string) => (x === null ? '—' : `${x.toFixed(2)} ${unit}`);
  const vendor =
    p.vendorBandwidthGBps || p.vendorGflops
      ? `; vendor figures: ${f(p.vendorBandwidthGBps, 'GB/s')}, ${f(p.vendorGflops, 'GFLOP/s')}` +
        (p.vendorBandwidthGBps && p.bandwidthGBps
          ? ` (copy reaches ${((100 * p.bandwidthGBps) / p.vendorBandwidthGBps).toFixed(1)}% of the vendor bandwidth)`
          : '')
      : '';
  $('peaks').textContent =
    `Measured peaks: ${f(p.bandwidthGBps, 'GB/s')} (bench_copy), ${f(p.gflops, 'GFLOP/s')} (bench_fma); ` +
    `timing by ${r.timing.method === 'timestamp-query' ? 'timestamp-query' : 'wall clock (submit to onSubmittedWorkDone)'}` +
    vendor;
}

/** The kernel report with the model rows; before any kernel run, one with no kernel rows. */
function currentReport(): BenchReport | undefined {
  if (report) return { ...report, models: modelRows };
  if (!gpu) return undefined;
  const t = TIMING.quick;
  return {
    schema: SCHEMA_ID,
    date: new Date().toISOString(),
    preset: 'quick',
    environment: environmentOf(gpu),
    timing: { method: timingMethod(gpu), warmup: t.warmup, reps: t.reps, targetPassMs: t.targetPassMs },
    peaks: { bandwidthGBps: null, gflops: null, vendorBandwidthGBps: null, vendorGflops: null },
    kernels: [],
    models: modelRows,
  };
}

/** Publishes the report for tests and the console, with what the schema check found. */
function publish(): string[] {
  const r = currentReport();
  const problems = r ? validateReport(JSON.parse(JSON.stringify(r))) : ['no report'];
  window.benchReport = r;
  window.benchProblems = problems;
  return problems;
}

function download(name: string, text: string, type: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

const vendorValue = (id: string): number | null => {
  const v = Number(($(id) as HTMLInputElement).value);
  return ($(id) as HTMLInputElement).value && v > 0 ? v : null;
};

async function runKernels(): Promise<void> {
  if (!gpu) return;
  const preset = ($('preset') as HTMLSelectElement).value as 'quick' | 'full';
  const kernels = [...document.querySelectorAll<HTMLInputElement>('#kernels input:checked')].map(
    (i) => i.value,
  );
  stopper = new AbortController();
  $('run').toggleAttribute('disabled', true);
  $('stop').toggleAttribute('disabled', false);
  $('kernel-rows').replaceChildren();
  $('charts').replaceChildren();
  window.benchState = undefined;
  const rows: KernelRow[] = [];
  const started = performance.now();
  try {
    const shapes = ($('shapes') as HTMLInputElement).value
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    const r = await runSweep(gpu, {
      preset,
      kernels: kernels.filter((k) => !PROBES.includes(k)),
      shapes,
      vendorBandwidthGBps: vendorValue('vendor-gbps'),
      vendorGflops: vendorValue('vendor-gflops'),
      signal: stopper.signal,
      onRow: (row, done, total) => {
        rows.push(row);
        $('kernel-rows').append(kernelRow(row));
        $('status').textContent = `${done}/${total}: ${row.kernel} ${row.variant} ${row.shape}`;
        // Redraw when a kernel's last row is in (rows arrive kernel by kernel).
        if (done === total || rows.length < 2 || rows[rows.length - 2].kernel !== row.kernel)
          drawCharts(rows);
      },
    });
    report = r;
    // Shares of peak and the chosen candidates are final only at the end: redraw the table.
    const cells = kernelTable(r.kernels);
    $('kernel-rows').replaceChildren(...r.kernels.map((row, i) => kernelRow(row, cells[i])));
    drawCharts(r.kernels);
    showPeaks(r);
    const problems = publish();
    if (problems.length) throw new Error(`report does not match the schema: ${problems.join('; ')}`);
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    window.benchState = stopper.signal.aborted ? 'stopped' : 'done';
    $('status').textContent = `${window.benchState}: ${r.kernels.length} rows in ${secs} s`;
    $('download-json').toggleAttribute('disabled', false);
    $('download-csv').toggleAttribute('disabled', false);
  } catch (e) {
    window.benchState = `error: ${(e as Error).message}`;
    $('status').textContent = window.benchState;
  } finally {
    $('run').toggleAttribute('disabled', false);
    $('stop').toggleAttribute('disabled', true);
  }
}

async function runModel(): Promise<void> {
  const source = ($('model-source') as HTMLInputElement).value.trim() || DEFAULT_MODEL_URL;
  const dtype = ($('model-dtype') as HTMLSelectElement).value as 'f32' | 'f16';
  const tuning = ($('model-tuning') as HTMLSelectElement).value as TuningMode;
  const promptTokens = Math.max(4, Number(($('model-prompt') as HTMLInputElement).value) || 32);
  const decodeTokens = Math.max(2, Number(($('model-decode') as HTMLInputElement).value) || 16);
  $('run-model').toggleAttribute('disabled', true);
  $('model-status').textContent = 'loading…';
  window.benchModelState = undefined;
  try {
    const spec = RANDOM_MODELS[source];
    const t = performance.now();
    const host = spec
      ? { ...randomModel(spec), buildMs: performance.now() - t }
      : await loadHostModel(source);
    const name = spec ? spec.name : source === DEFAULT_MODEL_URL ? `${DEFAULT_MODEL} (default)` : source;
    const row = await benchModel(host.cfg, host.w, {
      name,
      dtype,
      promptTokens,
      decodeTokens,
      maxContext: Math.max(64, promptTokens + decodeTokens + 1),
      bandwidthGBps: report?.peaks.bandwidthGBps ?? null,
      tuning: { mode: tuning },
      buildMs: host.buildMs,
      onStatus: (what) => {
        $('model-status').textContent = `${what}…`;
      },
    });
    modelRows.push(row);
    const tr = tableRow(modelCells(row), 2);
    tr.dataset.dispatches = String(row.dispatchesPerToken);
    $('model-rows').append(tr);
    $('model-detail').textContent = modelRows.map((r) => modelDetail(r).join('\n')).join('\n\n');
    const problems = publish();
    if (problems.length) throw new Error(`report does not match the schema: ${problems.join('; ')}`);
    window.benchModelState = 'done';
    $('model-status').textContent = 'done';
    $('download-json').toggleAttribute('disabled', false);
  } catch (e) {
    window.benchModelState = `error: ${(e as Error).message}`;
    $('model-status').textContent = window.benchModelState;
  } finally {
    $('run-model').toggleAttribute('disabled', false);
  }
}

async function main(): Promise<void> {
  window.benchCharts = charts;
  header('kernel-head', KERNEL_COLUMNS);
  header('model-head', MODEL_COLUMNS);
  const preset = params.get('preset');
  if (preset === 'quick' || preset === 'full') ($('preset') as HTMLSelectElement).value = preset;
  const chosen = params.get('kernels')?.split(',');
  ($('shapes') as HTMLInputElement).value = params.get('shapes') ?? '';
  for (const k of kernelNames().filter((k) => !PROBES.includes(k))) {
    const label = document.createElement('label');
    const box = Object.assign(document.createElement('input'), { type: 'checkbox', value: k });
    box.checked = !chosen || chosen.includes(k);
    label.append(box, ` ${k}`);
    $('kernels').append(label);
  }
  ($('model-source') as HTMLInputElement).value = DEFAULT_MODEL_URL;
  $('model-sources').replaceChildren(
    ...[DEFAULT_MODEL_URL, ...Object.keys(RANDOM_MODELS)].map((value) =>
      Object.assign(document.createElement('option'), { value }),
    ),
  );
  $('run').addEventListener('click', () => void runKernels());
  $('stop').addEventListener('click', () => stopper?.abort());
  $('run-model').addEventListener('click', () => void runModel());
  $('download-json').addEventListener('click', () =>
    download('wgpt-bench.json', `${JSON.stringify(currentReport(), null, 2)}\n`, 'application/json'),
  );
  $('download-csv').addEventListener('click', () =>
    download('wgpt-bench.csv', toCsv(currentReport()!), 'text/csv'),
  );
  if (params.get('model-prompt')) ($('model-prompt') as HTMLInputElement).value = params.get('model-prompt')!;
  if (params.get('model-decode')) ($('model-decode') as HTMLInputElement).value = params.get('model-decode')!;

  gpu = await Gpu.create();
  const env = environmentOf(gpu);
  const a = env.adapter;
  $('adapter').textContent =
    `Adapter: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' · ') || 'unknown'}; ` +
    `timing: ${gpu.features.timestampQuery ? 'timestamp-query' : 'wall clock (no timestamp-query)'}`;
  $('software').hidden = !a.isSoftware;
  $('env-text').textContent = JSON.stringify(env, null, 2);
  $('run').toggleAttribute('disabled', false);
  $('run-model').toggleAttribute('disabled', false);
  if (params.has('run')) void runKernels();
}

function start(): void {
  main().catch((e: Error) => {
    $('adapter').textContent = `No WebGPU: ${e.message}`;
    window.benchState = `error: ${e.message}`;
  });
}

// Under the dev server, a source file saved during a run would reload the page and lose the run:
// this module accepts updates instead (the new code runs on the next page load).
if (import.meta.hot) {
  import.meta.hot.accept();
  if (!import.meta.hot.data.started) {
    import.meta.hot.data.started = true;
    start();
  }
} else {
  start();
}

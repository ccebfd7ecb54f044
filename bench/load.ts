/**
 * Large-file load benchmark: a ~2.5 GB Llama-1B-shaped GGUF loaded in Node (file handles) and in
 * headless Chromium (a picked File, read through File.slice), with the host memory the load takes
 * beside the largest tensor, and the GPU weight bytes beside the file's tensor bytes.
 *
 *   npm run bench:load -- [--file path] [--keep] [--browser | --node] [--json bench-out/load.json]
 *
 * The file (default bench-out/llama-1b-q8.gguf) is written when missing, streamed to disk: hidden
 * 2048, 32 layers, 32 q-heads / 8 kv-heads of 64, ffn 8192, vocab 128256, context 2048, rope theta
 * 500000; token_embd f16 and tied (no output.weight: 525 MB, the largest tensor), every layer matrix
 * q8_0 (valid blocks: random f16 scales near 1e-3, random int8 quants, a few MB of blocks repeated),
 * norms f32 ones. A file this run wrote is deleted at the end unless --keep.
 *
 * Node: host memory (process.memoryUsage: heapUsed, external (which includes arrayBuffers),
 * arrayBuffers, rss) is sampled every ~20 ms from just before to just after loadModel, less a
 * baseline taken after a GC. Chromium: a Vite dev server serves e2e/load.html; the page samples
 * performance.memory.usedJSHeapSize (which leaves ArrayBuffer contents out) while this process
 * samples the renderer's and the GPU process's resident memory from /proc. Both runs then time one
 * greedy token. `--browser` runs only Chromium, `--node` only Node; by default both.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CHROMIUM_LAUNCH } from '../e2e/chromium';
import type { LoadPageResult } from '../e2e/load-page';
import { f16Bits } from '../src/formats/f16';
import type { StorageFormat } from '../src/formats/formats';
import { loadModel } from '../src/model/model';
import type { LoadProgress } from '../src/types';
import { placeholderVocab } from '../test/gguf-model';
import { dataOffsets, type GgufEntry, type GgufWriteTensor, meta, writeGguf } from '../test/gguf-writer';
import { rng } from '../test/kernels/harness';

const { values } = parseArgs({
  options: {
    file: { type: 'string', default: 'bench-out/llama-1b-q8.gguf' },
    keep: { type: 'boolean', default: false },
    browser: { type: 'boolean', default: false },
    node: { type: 'boolean', default: false },
    json: { type: 'string', default: 'bench-out/load.json' },
    port: { type: 'string', default: process.env.WGPT_E2E_PORT ?? '5193' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(
    'npm run bench:load -- [--file path] [--keep] [--browser | --node] [--json bench-out/load.json] [--port N]',
  );
  process.exit(0);
}
const runNode = !values.browser || values.node;
const runBrowser = !values.node || values.browser;

// Shapes (Llama 3.2 1B): C channels, L layers, NH / NKV heads of HS, F ffn, V vocab.
const C = 2048;
const L = 32;
const NH = 32;
const NKV = 8;
const HS = 64;
const F = 8192;
const V = 128256;
const CONTEXT = 2048;
const MB = 1e6;

// ---- the file -----------------------------------------------------------------------------------

const Q8_BLOCK = 34; // f16 scale + 32 int8 quants
const tensorBytes = (format: StorageFormat, n: number) =>
  format === 'q8_0' ? (n / 32) * Q8_BLOCK : format === 'f16' ? 2 * n : 4 * n;

/** The file's tensors in llama.cpp's order, with their byte lengths and no data. */
function tensorList(): GgufWriteTensor[] {
  const t = (name: string, format: StorageFormat, dims: number[]): GgufWriteTensor => ({
    name,
    format,
    dims,
    data: new Uint8Array(0),
    byteLength: tensorBytes(
      format,
      dims.reduce((a, d) => a * d, 1),
    ),
  });
  const out = [t('token_embd.weight', 'f16', [C, V])];
  for (let i = 0; i < L; i++) {
    const b = `blk.${i}`;
    out.push(
      t(`${b}.attn_norm.weight`, 'f32', [C]),
      t(`${b}.attn_q.weight`, 'q8_0', [C, NH * HS]),
      t(`${b}.attn_k.weight`, 'q8_0', [C, NKV * HS]),
      t(`${b}.attn_v.weight`, 'q8_0', [C, NKV * HS]),
      t(`${b}.attn_output.weight`, 'q8_0', [NH * HS, C]),
      t(`${b}.ffn_norm.weight`, 'f32', [C]),
      t(`${b}.ffn_gate.weight`, 'q8_0', [C, F]),
      t(`${b}.ffn_up.weight`, 'q8_0', [C, F]),
      t(`${b}.ffn_down.weight`, 'q8_0', [F, C]),
    );
  }
  out.push(t('output_norm.weight', 'f32', [C]));
  return out;
}

function metadata(): GgufEntry[] {
  const k = (s: string) => `llama.${s}`;
  return [
    meta.string('general.architecture', 'llama'),
    meta.string('general.name', 'random Llama-1B-shaped q8_0 (bench/load.ts)'),
    meta.u32(k('block_count'), L),
    meta.u32(k('context_length'), CONTEXT),
    meta.u32(k('embedding_length'), C),
    meta.u32(k('feed_forward_length'), F),
    meta.u32(k('attention.head_count'), NH),
    meta.u32(k('attention.head_count_kv'), NKV),
    meta.u32(k('attention.key_length'), HS),
    meta.u32(k('attention.value_length'), HS),
    meta.f32(k('attention.layer_norm_rms_epsilon'), 1e-5),
    meta.f32(k('rope.freq_base'), 500000),
    meta.u32(k('vocab_size'), V),
    // A placeholder vocabulary: the bench feeds ids.
    ...placeholderVocab(V),
  ];
}

/** `blocks` q8_0 blocks: scales uniform in [0.5e-3, 1.5e-3], quants uniform in [-127, 127]. */
function q8Pool(blocks: number, next: () => number): Uint8Array {
  const out = new Uint8Array(blocks * Q8_BLOCK);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    dv.setUint16(b * Q8_BLOCK, f16Bits(0.5e-3 + 1e-3 * next()), true);
    for (let j = 0; j < 32; j++) dv.setInt8(b * Q8_BLOCK + 2 + j, Math.floor(next() * 255) - 127);
  }
  return out;
}

/** `n` f16 values, normal with standard deviation 0.02 (an embedding table's scale). */
function f16Pool(n: number, next: () => number): Uint8Array {
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const g = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
    out[i] = f16Bits(0.02 * g);
  }
  return new Uint8Array(out.buffer);
}

/** Writes the file in chunks: the header, then each tensor from a repeated pool, padded to 32. */
function writeFile(path: string, tensors: GgufWriteTensor[]): number {
  const next = rng(1234);
  const pools: Partial<Record<StorageFormat, Uint8Array>> = {
    q8_0: q8Pool(1 << 17, next), // 4.5 MB
    f16: f16Pool(1 << 21, next), // 4 MB
    f32: new Uint8Array(new Float32Array(C).fill(1).buffer),
  };
  const header = writeGguf({ metadata: metadata(), tensors, headerOnly: true });
  const { offsets, size } = dataOffsets(tensors);
  mkdirSync(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  const fd = openSync(partial, 'w');
  try {
    let at = writeSync(fd, header);
    tensors.forEach((t, i) => {
      if (at !== header.length + offsets[i])
        throw new Error(`${t.name}: at byte ${at}, header says ${header.length + offsets[i]}`);
      const pool = pools[t.format]!;
      for (let left = t.byteLength!; left > 0; ) {
        const n = Math.min(left, pool.length);
        at += writeSync(fd, pool, 0, n);
        left -= n;
      }
      const pad = (32 - (t.byteLength! % 32)) % 32;
      if (pad) at += writeSync(fd, new Uint8Array(pad));
    });
    if (at !== header.length + size) throw new Error(`wrote ${at} bytes, expected ${header.length + size}`);
  } finally {
    closeSync(fd);
  }
  // Renamed only when whole, so an interrupted write is never taken for the file.
  renameSync(partial, path);
  return statSync(path).size;
}

// ---- memory -------------------------------------------------------------------------------------

/** Collects garbage when it can (--expose-gc set at runtime), so a baseline holds no garbage. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

type NodeMemory = {
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  rss: number;
  /** heapUsed + external (external already holds arrayBuffers). */
  host: number;
};

function nodeMemory(): NodeMemory {
  const m = process.memoryUsage();
  return {
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    rss: m.rss,
    host: m.heapUsed + m.external,
  };
}

/**
 * Samples `read` every ~20 ms; `stop()` gives each field's peak above the first sample, and what
 * `where()` said when the field `key` peaked.
 */
function sampler<T extends Record<string, number>>(
  read: () => T,
  key?: keyof T,
  where: () => string = () => '',
): { stop(): { baseline: T; peakAbove: T; peakAt: string; samples: number } } {
  const baseline = read();
  const peak = { ...baseline };
  let peakAt = where();
  let samples = 0;
  const sample = () => {
    const m = read();
    if (key !== undefined && m[key] > peak[key]) peakAt = where();
    for (const k in m) if (m[k] > peak[k]) (peak as Record<string, number>)[k] = m[k];
    samples++;
  };
  const timer = setInterval(sample, 20);
  return {
    stop() {
      sample();
      clearInterval(timer);
      const peakAbove = Object.fromEntries(Object.keys(peak).map((k) => [k, peak[k] - baseline[k]])) as T;
      return { baseline, peakAbove, peakAt, samples };
    },
  };
}

/** Where a load is, from its progress events: bytes read from the file and uploaded so far. */
function progressTracker() {
  let read = 0;
  let uploaded = 0;
  return {
    onProgress(e: LoadProgress) {
      if (e.phase === 'upload') uploaded = e.overallLoaded;
      else read = e.overallLoaded;
    },
    where: () => `file read to ${(read / MB).toFixed(0)} MB, ${(uploaded / MB).toFixed(0)} MB uploaded`,
  };
}

/**
 * This process's Chromium descendants of the kinds asked (by --type: renderer, gpu-process), found
 * once; `rss()` reads their resident bytes, summed by kind.
 */
function chromiumProcesses(kinds: string[]): { pids: Map<number, string>; rss(): Record<string, number> } {
  const parent = new Map<number, number>();
  const kind = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      const type = /--type=([\w-]+)/.exec(readFileSync(`/proc/${d}/cmdline`, 'utf8'))?.[1];
      if (type && kinds.includes(type)) kind.set(Number(d), type);
    } catch {
      // The process ended meanwhile.
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p))
      if (p === process.pid) return true;
    return false;
  };
  const pids = new Map([...kind].filter(([pid]) => ours(pid)));
  return {
    pids,
    rss() {
      const out = Object.fromEntries(kinds.map((k) => [k, 0]));
      for (const [pid, k] of pids) {
        try {
          const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
          out[k] += Number(kb ?? 0) * 1024;
        } catch {
          // Ended meanwhile.
        }
      }
      return out;
    },
  };
}

// ---- runs ---------------------------------------------------------------------------------------

interface RunFigures {
  loadSeconds: number;
  /** Host memory peak above the baseline: Node heapUsed + external; the page's usedJSHeapSize. */
  hostPeakAbove: number | null;
  detail: Record<string, number | null>;
  tensorBytes: number;
  weightBytes: number;
  tensorFormats: Record<string, number>;
  tokenSeconds: number;
  tokenId: number;
  adapter: string;
  /** Where the load was when host memory peaked. */
  peakAt?: string;
  error?: string;
}

async function nodeRun(path: string): Promise<RunFigures> {
  collectGarbage();
  const progress = progressTracker();
  const mem = sampler(nodeMemory, 'host', progress.where);
  const t0 = performance.now();
  const model = await loadModel(path, { tuning: 'off', maxContext: 64, onProgress: progress.onProgress });
  const loadSeconds = (performance.now() - t0) / 1000;
  const { baseline, peakAbove, peakAt, samples } = mem.stop();
  const a = model.adapter;
  const t1 = performance.now();
  let tokenId = -1;
  for await (const e of model.generate({ ids: [1] }, { maxNewTokens: 1, temperature: 0 })) {
    if (!('done' in e)) tokenId = e.tokenId;
  }
  const tokenSeconds = (performance.now() - t1) / 1000;
  const figures: RunFigures = {
    loadSeconds,
    hostPeakAbove: peakAbove.host,
    detail: {
      heapUsedPeakAbove: peakAbove.heapUsed,
      externalPeakAbove: peakAbove.external,
      arrayBuffersPeakAbove: peakAbove.arrayBuffers,
      rssPeakAbove: peakAbove.rss,
      baselineHost: baseline.host,
      samples,
    },
    peakAt,
    tensorBytes: model.checkpoint.tensorBytes,
    weightBytes: model.weightBytes,
    tensorFormats: model.checkpoint.tensorFormats as Record<string, number>,
    tokenSeconds,
    tokenId,
    adapter: [a.vendor, a.architecture, a.description].filter(Boolean).join(' · '),
  };
  model.dispose();
  return figures;
}

async function browserRun(path: string, port: number): Promise<RunFigures & { setupSeconds: number }> {
  const t0 = performance.now();
  const { createServer } = await import('vite');
  const { chromium } = await import('@playwright/test');
  const server = await createServer({
    configFile: resolve(import.meta.dirname, '../vite.config.ts'),
    server: { host: '127.0.0.1', port, strictPort: true },
    logLevel: 'warn',
  });
  await server.listen();
  const browser = await chromium.launch({
    ...CHROMIUM_LAUNCH,
    args: [...CHROMIUM_LAUNCH.args, '--enable-precise-memory-info'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`http://127.0.0.1:${port}/e2e/load.html`);
    await page.waitForFunction(() => document.getElementById('log')?.textContent === 'pick a GGUF file');
    const setupSeconds = (performance.now() - t0) / 1000;
    const processes = chromiumProcesses(['renderer', 'gpu-process']);
    const rss = sampler(() => processes.rss());
    // A local browser gets the path, not the bytes: no transfer limit applies.
    await page.setInputFiles('#file', path);
    console.log(`chromium: file handed in after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // The page's log line every 15 s while it works, so a stall shows.
    let shown = '';
    const watch = setInterval(async () => {
      const text = await page
        .locator('#log')
        .textContent()
        .catch(() => null);
      const line = text?.split('\n')[0] ?? '';
      if (line !== shown) console.log(`chromium: ${(shown = line)}`);
    }, 15_000);
    const r = await page
      .waitForFunction(() => window.loadResult, undefined, { timeout: 3 * 3600_000, polling: 1000 })
      .then((h) => h.jsonValue() as Promise<LoadPageResult>)
      .finally(() => clearInterval(watch));
    const { peakAbove, baseline, samples } = rss.stop();
    return {
      setupSeconds,
      loadSeconds: r.loadSeconds,
      hostPeakAbove: r.heapPeakAbove,
      detail: {
        usedJSHeapSizePeakAbove: r.heapPeakAbove,
        usedJSHeapSizeBaseline: r.heapBaseline,
        pageSamples: r.heapSamples,
        rendererRssPeakAbove: peakAbove.renderer,
        rendererRssBaseline: baseline.renderer,
        gpuProcessRssPeakAbove: peakAbove['gpu-process'],
        rssSamples: samples,
      },
      tensorBytes: r.tensorBytes,
      weightBytes: r.weightBytes,
      tensorFormats: r.tensorFormats,
      tokenSeconds: r.tokenSeconds,
      tokenId: r.tokenId,
      adapter: r.adapter,
      peakAt: r.heapPeakAt,
      error: r.ok ? (errors.length ? errors.join('; ') : undefined) : [r.error, ...errors].join('; '),
    };
  } finally {
    await browser.close();
    await server.close();
  }
}

// ---- main ---------------------------------------------------------------------------------------

const started = performance.now();
const path = resolve(values.file);
const tensors = tensorList();
const largest = tensors.reduce((a, t) => (t.byteLength! > a.byteLength! ? t : a));
const expectedSize =
  writeGguf({ metadata: metadata(), tensors, headerOnly: true }).length + dataOffsets(tensors).size;
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} on ${cpus().length} CPUs`,
);

let wrote = false;
let writeSeconds: number | null = null;
if (!existsSync(path) || statSync(path).size !== expectedSize) {
  console.log(`writing ${path} (${(expectedSize / MB).toFixed(0)} MB)…`);
  const t = performance.now();
  writeFile(path, tensors);
  writeSeconds = (performance.now() - t) / 1000;
  wrote = true;
}
const fileBytes = statSync(path).size;
console.log(
  `${basename(path)}: ${fileBytes} bytes (${(fileBytes / MB).toFixed(0)} MB)` +
    (writeSeconds === null ? ', already there' : `, written in ${writeSeconds.toFixed(1)} s`) +
    `; largest tensor ${largest.name} ${largest.byteLength} bytes`,
);

const runs: Record<string, RunFigures & { setupSeconds?: number }> = {};
const attempt = async (name: string, run: () => Promise<RunFigures>) => {
  console.log(`${name}: loading…`);
  try {
    runs[name] = await run();
  } catch (e) {
    const err = e as Error;
    console.log(`${name}: FAILED ${err.name}: ${err.message}`);
    runs[name] = { error: `${err.name}: ${err.message}` } as RunFigures;
  }
  const r = runs[name];
  if (!r.error)
    console.log(
      `${name}: loaded in ${r.loadSeconds.toFixed(1)} s, one token in ${r.tokenSeconds.toFixed(1)} s`,
    );
};
if (runNode) await attempt('node', () => nodeRun(path));
if (runBrowser) await attempt('chromium', () => browserRun(path, Number(values.port)));

const mb = (b: number | null | undefined) =>
  b === null || b === undefined ? '—' : `${(b / MB).toFixed(1)} MB`;
const s = (x: number | undefined) => (x === undefined ? '—' : `${x.toFixed(1)} s`);
const names = Object.keys(runs);
const rows: [string, (r: RunFigures & { setupSeconds?: number }) => string][] = [
  ['adapter', (r) => r.adapter ?? '—'],
  ['page setup (server, browser)', (r) => s(r.setupSeconds)],
  ['load', (r) => s(r.loadSeconds)],
  ['host memory peak above baseline', (r) => mb(r.hostPeakAbove)],
  ...[
    'heapUsedPeakAbove',
    'externalPeakAbove',
    'arrayBuffersPeakAbove',
    'rssPeakAbove',
    'usedJSHeapSizePeakAbove',
    'rendererRssPeakAbove',
    'gpuProcessRssPeakAbove',
  ].map((k): [string, (r: RunFigures) => string] => [
    `  ${k}`,
    (r) => (r.detail && k in r.detail ? mb(r.detail[k]) : '—'),
  ]),
  ['  peak when', (r) => r.peakAt ?? '—'],
  ['largest tensor', () => mb(largest.byteLength)],
  [
    'peak / largest tensor',
    (r) => (r.hostPeakAbove == null ? '—' : (r.hostPeakAbove / largest.byteLength!).toFixed(2)),
  ],
  ['file tensor bytes', (r) => mb(r.tensorBytes)],
  ['GPU weight bytes', (r) => mb(r.weightBytes)],
  ['GPU / file bytes', (r) => (r.tensorBytes ? (r.weightBytes / r.tensorBytes).toFixed(4) : '—')],
  ['one greedy token', (r) => s(r.tokenSeconds)],
  ['token id', (r) => (r.tokenId === undefined ? '—' : String(r.tokenId))],
  ['error', (r) => r.error ?? ''],
];
const width = Math.max(...rows.map(([k]) => k.length));
const cells = rows.map(([, f]) => names.map((n) => f(runs[n])));
const widths = names.map((n, j) => Math.max(n.length, ...cells.map((c) => c[j].length)) + 2);
console.log(`\n${''.padEnd(width)}  ${names.map((n, j) => n.padEnd(widths[j])).join('')}`);
for (const [i, [k]] of rows.entries()) {
  console.log(`${k.padEnd(width)}  ${cells[i].map((c, j) => c.padEnd(widths[j])).join('')}`.trimEnd());
}

const report = {
  file: path,
  fileBytes,
  writeSeconds,
  largestTensor: { name: largest.name, bytes: largest.byteLength },
  runs,
  host: { cpus: cpus().length, loadAverageEnd: loadavg() },
  totalSeconds: (performance.now() - started) / 1000,
};
mkdirSync(dirname(resolve(values.json)), { recursive: true });
writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nreport: ${values.json}; total ${report.totalSeconds.toFixed(0)} s`);
if (wrote && !values.keep) {
  rmSync(path);
  console.log(`removed ${path} (--keep keeps it)`);
}
if (Object.values(runs).some((r) => r.error)) process.exitCode = 1;

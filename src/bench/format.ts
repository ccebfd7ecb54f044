/** Text forms of a report: the aligned table the Node command prints, and CSV for spreadsheets. */
import type { BenchReport, KernelRow, ModelRow, OpTime } from './schema';

const num = (x: number | null, digits: number): string => (x === null ? '—' : x.toFixed(digits));
const pct = (x: number | null): string => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);
/** Milliseconds with about three significant digits. */
const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x < 1000 ? x.toFixed(1) : x.toFixed(0));

/** The figure a row is bound by: the larger share of peak bandwidth or peak FLOP/s. */
export function peakShare(r: KernelRow): { share: number | null; bound: 'bw' | 'flop' | '' } {
  const b = r.shareBandwidth ?? -1;
  const f = r.shareFlops ?? -1;
  if (b < 0 && f < 0) return { share: null, bound: '' };
  return b >= f ? { share: b, bound: 'bw' } : { share: f, bound: 'flop' };
}

export const KERNEL_COLUMNS = [
  'kernel',
  'variant',
  'shape',
  'check',
  'max err',
  'ms/call',
  'GFLOP/s',
  'GB/s',
  '% peak',
  'tuner',
] as const;

/**
 * The tuner column: 'chosen' for the candidate the tuner would pick, else how many times slower
 * than it (`chosenMs`, when known) a candidate is; empty for kernels that are not tuned.
 */
function tunerCell(r: KernelRow, chosenMs?: number): string {
  if (r.chosen === null) return '';
  if (r.chosen) return 'chosen';
  if (r.status === 'slow') return `slow (1st call ${ms(r.firstMs!)} ms)`;
  if (r.ms === null || !chosenMs) return '';
  return `${(r.ms / chosenMs).toFixed(2)}x`;
}

/** The ms of the chosen row of each kernel and shape. */
function chosenTimes(rows: KernelRow[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) if (r.chosen && r.ms !== null) m.set(`${r.kernel} ${r.shape}`, r.ms);
  return m;
}

/** Every row's cells, candidates compared with their shape's chosen row. */
export function kernelTable(rows: KernelRow[]): string[][] {
  const chosen = chosenTimes(rows);
  return rows.map((r) => kernelCells(r, chosen.get(`${r.kernel} ${r.shape}`)));
}

/** The cells of a row, as shown in the table (Node and page). */
export function kernelCells(r: KernelRow, chosenMs?: number): string[] {
  const check =
    r.status === 'ok' || r.status === 'slow'
      ? `ok${r.checked === 'all' ? '' : ` (${r.checked})`}`
      : r.status.toUpperCase();
  const { share, bound } = peakShare(r);
  return [
    r.kernel,
    r.variant,
    r.shape,
    check,
    r.maxError === null ? '—' : r.maxError.toExponential(1),
    r.ms === null ? '—' : r.ms < 0.1 ? r.ms.toFixed(4) : r.ms.toFixed(3),
    num(r.gflops, 2),
    num(r.gbps, 2),
    share === null ? '—' : `${pct(share)} ${bound}`,
    tunerCell(r, chosenMs),
  ];
}

export const MODEL_COLUMNS = [
  'model',
  'dtype',
  'weights MB',
  'load s',
  'prefill tok/s',
  'prefill-4 ms',
  'decode tok/s',
  'ms/token',
  'disp/token',
  'roofline ms',
  '% roofline',
  'top op',
];

/** The op that takes the largest share of a decode step, e.g. 'matmul unembed wte 62%'. */
function topOp(r: ModelRow): string {
  const t = r.profile?.ops[0];
  return t ? `${t.op} ${(100 * t.share).toFixed(0)}%` : '—';
}

export function modelCells(r: ModelRow): string[] {
  return [
    r.model,
    r.dtype,
    (r.weightBytes / 1e6).toFixed(2),
    ((r.load.uploadMs + r.load.kernelsMs) / 1000).toFixed(1),
    r.prefillTokensPerSecond.toFixed(2),
    ms(r.prefill4Ms),
    r.decodeTokensPerSecond.toFixed(2),
    ms(r.msPerToken),
    String(r.dispatchesPerToken),
    r.rooflineMsPerToken === null ? '—' : ms(r.rooflineMsPerToken),
    pct(r.shareOfRoofline),
    topOp(r),
  ];
}

/** The model rows as an aligned text table. */
export function modelTable(rows: ModelRow[]): string {
  return aligned(MODEL_COLUMNS, rows.map(modelCells), (i) => i < 2 || i === MODEL_COLUMNS.length - 1);
}

/** How many of a model's kernel choices came from each source: 'tuned 7, cache 3'. */
export function choiceSources(r: ModelRow): string {
  const n = new Map<string, number>();
  for (const c of r.kernelChoices) n.set(c.source, (n.get(c.source) ?? 0) + 1);
  return [...n]
    .map(([s, k]) => `${s === 'tuned' ? 'tuned now' : s === 'cache' ? 'from cache' : s} ${k}`)
    .join(', ');
}

/** The lines under a model's row: load, decode against prefill, where a step goes, kernel choices. */
export function modelDetail(r: ModelRow, top = 5): string[] {
  const d = r.dims;
  const out = [
    `${r.model} ${r.dtype}: ${r.arch} L${d.L} C${d.C} NH${d.NH} NKV${d.NKV} HS${d.HS} F${d.F} V${d.V}, ` +
      `${(r.weightBytes / 1e6).toFixed(1)} MB of weights, KV cache ${r.kvDtype} x ${r.maxContext} positions`,
    `  load: ${r.load.buildMs === null ? '' : `host weights ${ms(r.load.buildMs)} ms, `}upload ${ms(r.load.uploadMs)} ms, ` +
      `kernels chosen and compiled ${ms(r.load.kernelsMs)} ms (tuning ${r.tuningMode}; ${choiceSources(r) || 'no choices'})`,
    `  prefill: ${r.promptTokens} tokens at ${r.prefillTokensPerSecond.toFixed(2)} tok/s; 4 tokens in ${ms(r.prefill4Ms)} ms`,
    `  decode: ${r.decodeTokens} tokens, ${ms(r.msPerToken)} ms/token (median ${ms(r.medianMsPerToken)}), ` +
      `${r.dispatchesPerToken} dispatches/token; ` +
      (r.medianMsPerToken <= r.prefill4Ms
        ? 'a step is not slower than a 4-token prefill'
        : `a step is SLOWER than a 4-token prefill (${(r.medianMsPerToken / r.prefill4Ms).toFixed(2)}x)`),
    `  roofline: ${r.rooflineMsPerToken === null ? '—' : `${ms(r.rooflineMsPerToken)} ms/token`} ` +
      `(weights / measured bandwidth): decode at ${pct(r.shareOfRoofline)} of it`,
  ];
  if (r.profile) {
    const p = r.profile;
    out.push(
      `  decode step profiled at position ${p.position}: ${ms(p.stepMs)} ms summed over dispatches ` +
        `(measured step ${ms(r.medianMsPerToken)} ms); top ops:`,
    );
    const w = Math.max(...p.ops.slice(0, top).map((t) => t.op.length));
    const line = (t: OpTime) =>
      `    ${pct(t.share).padStart(6)}  ${ms(t.ms).padStart(8)} ms  ${t.op.padEnd(w)}  x${t.dispatches}  ${t.variants.join(' | ')}`;
    out.push(...p.ops.slice(0, top).map(line));
    if (p.others.length) out.push('  timed too, not in this greedy step:', ...p.others.map(line));
  }
  if (r.kernelChoices.length) {
    out.push('  kernel choices (op, shape, variant, source, ms/call; candidates when tuned now):');
    for (const c of r.kernelChoices) {
      const timed = c.candidates
        .filter((k) => k.status === 'ok')
        .map((k) => `${k.name} ${ms(k.ms!)}`)
        .join(', ');
      const slow = c.candidates.filter((k) => k.status === 'slow').length;
      const failed = c.candidates.filter((k) => k.status === 'failed').map((k) => k.name);
      const others = [
        timed,
        slow ? `${slow} slow` : '',
        failed.length ? `failed: ${failed.join(', ')}` : '',
      ].filter(Boolean);
      out.push(
        `    ${c.op} ${c.shape}: ${c.name} (${c.source}${c.ms === null ? '' : `, ${ms(c.ms)} ms`})` +
          (others.length ? `; others: ${others.join('; ')}` : ''),
      );
    }
  }
  return out;
}

/** A text table; columns for which `left` holds are left-aligned, the others right-aligned. */
export function aligned(
  header: readonly string[],
  rows: string[][],
  left: (column: number) => boolean = (i) => i < 4,
): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (left(i) ? c.padEnd(w[i]) : c.padStart(w[i])))
      .join('  ')
      .trimEnd();
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

/** The whole report as text: environment, peaks, kernel table, model table, failures. */
export function formatReport(r: BenchReport): string {
  const a = r.environment.adapter;
  const out = [
    `adapter: ${[a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' · ')}`,
    a.isSoftware ? 'SOFTWARE ADAPTER: these figures measure the CPU running WebGPU, not a GPU.' : '',
    `${r.environment.userAgent}; preset ${r.preset}; timing ${r.timing.method} (median of ${r.timing.reps} passes)`,
    `peaks measured: ${num(r.peaks.bandwidthGBps, 2)} GB/s (bench_copy), ${num(r.peaks.gflops, 2)} GFLOP/s (bench_fma)`,
    r.host
      ? `machine: ${r.host.cpus} CPUs, load average ${r.host.loadAverageStart.map((x) => x.toFixed(2)).join(' ')} at the start; ` +
        `other processes took ${r.host.otherCpuShare === null ? '—' : pct(r.host.otherCpuShare)} of the CPUs during the run`
      : '',
  ].filter(Boolean);
  out.push('', aligned(KERNEL_COLUMNS, kernelTable(r.kernels)));
  if (r.models.length) out.push('', modelTable(r.models));
  for (const m of r.models) out.push('', ...modelDetail(m));
  const bad = r.kernels.filter((k) => k.status !== 'ok' && k.status !== 'slow');
  if (bad.length)
    out.push('', ...bad.map((k) => `${k.status}: ${k.kernel} ${k.variant} ${k.shape}: ${k.message}`));
  return out.join('\n');
}

const csvCell = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** One CSV line per kernel row, every field of the schema; adapter and date repeated on each line. */
export function toCsv(r: BenchReport): string {
  const keys = Object.keys(r.kernels[0] ?? {}) as (keyof KernelRow)[];
  const head = ['date', 'adapter', 'software', 'userAgent', ...keys];
  const a = r.environment.adapter;
  const adapter = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ');
  const lines = r.kernels.map((k) =>
    [r.date, adapter, a.isSoftware, r.environment.userAgent, ...keys.map((key) => k[key])]
      .map(csvCell)
      .join(','),
  );
  return [head.join(','), ...lines].join('\n') + '\n';
}

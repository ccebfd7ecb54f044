/** Text forms of a report: the aligned table the Node command prints, and CSV for spreadsheets. */
import type { BenchReport, KernelRow, ModelRow } from './schema';

const num = (x: number | null, digits: number): string => (x === null ? '—' : x.toFixed(digits));
const pct = (x: number | null): string => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);

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
] as const;

/** The cells of a row, as shown in the table (Node and page). */
export function kernelCells(r: KernelRow): string[] {
  const check =
    r.status === 'ok' ? `ok${r.checked === 'all' ? '' : ` (${r.checked})`}` : r.status.toUpperCase();
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
  ];
}

export const MODEL_COLUMNS = [
  'model',
  'dtype',
  'weights MB',
  'prefill tok/s',
  'decode tok/s',
  'ms/token',
  'roofline ms',
  '% roofline',
];

export function modelCells(r: ModelRow): string[] {
  return [
    r.model,
    r.dtype,
    (r.weightBytes / 1e6).toFixed(2),
    r.prefillTokensPerSecond.toFixed(2),
    r.decodeTokensPerSecond.toFixed(2),
    r.msPerToken.toFixed(2),
    num(r.rooflineMsPerToken, 3),
    pct(r.shareOfRoofline),
  ];
}

function aligned(header: readonly string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i < 4 ? c.padEnd(w[i]) : c.padStart(w[i])))
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
    '',
    aligned(KERNEL_COLUMNS, r.kernels.map(kernelCells)),
  ].filter((l, i) => l !== '' || i === 4);
  if (r.models.length) out.push('', aligned(MODEL_COLUMNS, r.models.map(modelCells)));
  const bad = r.kernels.filter((k) => k.status !== 'ok');
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

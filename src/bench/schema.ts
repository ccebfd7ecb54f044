/**
 * The benchmark report: its TypeScript shape and a check against bench/schema.json, the one schema
 * that the Node command and the bench page both write. The checker understands the subset of JSON
 * Schema that file uses (type, const, enum, properties, required, additionalProperties, items,
 * minimum, $ref to #/$defs/...), so it needs no dependency.
 */
import schemaJson from '../../bench/schema.json';
import type { ModelConfig } from '../checkpoint/config';
import type { AdapterSummary } from '../gpu/device';
import type { TimingMethod } from '../gpu/timing';

export const SCHEMA_ID = 'wgpt-bench/1';
export const schema = schemaJson as unknown as JsonSchema;

export type { TimingMethod };

/** One kernel, variant and shape: correctness first, then speed. */
export interface KernelRow {
  kernel: string;
  variant: string;
  /** Short label of the shape, e.g. 'gpt2-s mlp-up M=1'. */
  shape: string;
  /** Model the shape comes from. */
  model: string;
  dims: Record<string, number>;
  /** Arithmetic per call (an fma is 2; exp, tanh... count 1). */
  flops: number;
  /** Bytes read plus written per call, each tensor once. */
  bytes: number;
  /**
   * For kernels the tuner chooses among (matmul, attention): whether this row is the variant it
   * would choose for this shape, the fastest that passed its check; null for other kernels.
   */
  chosen: boolean | null;
  /**
   * 'fail': outside tolerance (not timed); 'slow': a tuner candidate that passed but whose first
   * call took over SLOW_FACTOR times its shape's fastest (not timed, as the tuner skips it);
   * 'skipped': over a device limit; 'error': anything else.
   */
  status: 'ok' | 'fail' | 'slow' | 'skipped' | 'error';
  maxError: number | null;
  /** Which outputs were compared with the CPU twin ('all', or the first rows for big shapes). */
  checked: string;
  message: string;
  /** Wall ms of the checked call (submit to done, with the readback); null when it did not run. */
  firstMs: number | null;
  /** Median time per call, ms. */
  ms: number | null;
  callsPerPass: number;
  reps: number;
  method: TimingMethod | 'none';
  gflops: number | null;
  gbps: number | null;
  /** gbps / measured peak bandwidth, and gflops / measured peak GFLOP/s. */
  shareBandwidth: number | null;
  shareFlops: number | null;
}

/** One tuned op at one shape: the variant the tuner chose, where from, and every candidate's outcome. */
export interface KernelChoiceRow {
  op: string;
  /** The tuner's shape key, e.g. 'M1 K768 N50257 NK'. */
  shape: string;
  name: string;
  /** 'tuned' now, read from the 'cache', 'forced' by an option, or the untuned 'default'. */
  source: 'tuned' | 'cache' | 'forced' | 'default';
  /** The chosen variant's ms per call (tuned or cached), else null. */
  ms: number | null;
  /** Candidates when tuned now (empty otherwise): 'chosen', 'ok', 'slow' (not timed further), 'failed'. */
  candidates: {
    name: string;
    status: 'chosen' | 'ok' | 'slow' | 'failed';
    ms: number | null;
    note: string;
  }[];
}

/** One op of a decode step (every layer and weight block of it), from the per-dispatch profile. */
export interface OpTime {
  /** The tape key without layer and block numbers, e.g. 'matmul mlp.c_fc'. */
  op: string;
  kernel: string;
  /** Pipeline variants it ran, in short ('GEMV VEC4 BIAS wg64 r2'). */
  variants: string[];
  dispatches: number;
  /** Sum of its dispatches' ms, and that sum over the whole step's. */
  ms: number;
  share: number;
}

export interface ModelRow {
  model: string;
  dtype: 'f32' | 'f16' | 'q8' | 'q4';
  kvDtype: 'f32' | 'f16';
  arch: ModelConfig['arch'];
  /** Layers, channels, heads, kv heads, head size, MLP width, vocab. */
  dims: { L: number; C: number; NH: number; NKV: number; HS: number; F: number; V: number };
  /** KV cache positions (attention kernels are chosen for it). */
  maxContext: number;
  weightBytes: number;
  /** Host weights built or read (null: not measured), upload, and kernels chosen and compiled. */
  load: { buildMs: number | null; uploadMs: number; kernelsMs: number };
  promptTokens: number;
  decodeTokens: number;
  prefillTokensPerSecond: number;
  /** Median ms of a 4-token prefill (a decode step should never be slower). */
  prefill4Ms: number;
  decodeTokensPerSecond: number;
  /** Mean ms per decode step (1000 / decodeTokensPerSecond), and the median. */
  msPerToken: number;
  medianMsPerToken: number;
  /** Dispatches one greedy decode step encodes. */
  dispatchesPerToken: number;
  /** weightBytes / measured bandwidth: the fastest a decode step can be if it reads every weight once. */
  rooflineMsPerToken: number | null;
  /** rooflineMsPerToken / msPerToken. */
  shareOfRoofline: number | null;
  /**
   * Every dispatch of one decode step timed on its own, summed per op (largest first), shares of
   * their sum; `others`: dispatches timed that this greedy step does not run (the sampler), their
   * share against the same sum. Null: not run.
   */
  profile: { position: number; stepMs: number; ops: OpTime[]; others: OpTime[] } | null;
  tuningMode: 'auto' | 'off' | 'retune';
  kernelChoices: KernelChoiceRow[];
}

/** The machine running the benchmark (Node only): a busy CPU makes software-adapter figures unreliable. */
export interface Host {
  cpus: number;
  /** os.loadavg() at the start and at the end of the run: 1, 5 and 15 minutes. */
  loadAverageStart: number[];
  loadAverageEnd: number[];
  /**
   * CPU time other processes took during the run, over the run's wall time times the CPUs (Linux
   * /proc/stat; null elsewhere): near 0 on a quiet machine.
   */
  otherCpuShare: number | null;
}

export interface Environment {
  runtime: 'node' | 'browser';
  userAgent: string;
  adapter: AdapterSummary;
  features: string[];
  limits: Record<string, number>;
}

export interface Peaks {
  bandwidthGBps: number | null;
  gflops: number | null;
  vendorBandwidthGBps: number | null;
  vendorGflops: number | null;
}

export interface BenchReport {
  schema: typeof SCHEMA_ID;
  date: string;
  /** The kernel sweep has quick and full; bench:model also standard (its default). */
  preset: 'quick' | 'standard' | 'full';
  environment: Environment;
  timing: { method: TimingMethod; warmup: number; reps: number; targetPassMs: number };
  peaks: Peaks;
  kernels: KernelRow[];
  models: ModelRow[];
  host?: Host;
}

interface JsonSchema {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minimum?: number;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** The problems of `value` against bench/schema.json, as 'path: what' strings; empty when valid. */
export function validateReport(value: unknown): string[] {
  const errors: string[] = [];
  const walk = (s: JsonSchema, v: unknown, path: string): void => {
    if (s.$ref) {
      const name = s.$ref.replace('#/$defs/', '');
      const target = schema.$defs?.[name];
      if (!target) throw new Error(`schema: unknown $ref ${s.$ref}`);
      walk(target, v, path);
      return;
    }
    if (s.const !== undefined && v !== s.const) errors.push(`${path}: must be ${JSON.stringify(s.const)}`);
    if (s.enum && !s.enum.includes(v as never)) errors.push(`${path}: must be one of ${s.enum.join(', ')}`);
    const t = typeOf(v);
    if (s.type) {
      const types = [s.type].flat();
      const ok = types.includes(t) || (t === 'integer' && types.includes('number'));
      if (!ok) {
        errors.push(`${path}: is ${t}, must be ${types.join(' or ')}`);
        return;
      }
    }
    if (t === 'number' && !Number.isFinite(v)) errors.push(`${path}: must be finite`);
    if ((t === 'number' || t === 'integer') && s.minimum !== undefined && (v as number) < s.minimum) {
      errors.push(`${path}: must be >= ${s.minimum}`);
    }
    if (t === 'array' && s.items) {
      for (const [i, x] of (v as unknown[]).entries()) walk(s.items, x, `${path}[${i}]`);
    }
    if (t === 'object') {
      const o = v as Record<string, unknown>;
      for (const k of s.required ?? []) if (!(k in o)) errors.push(`${path}.${k}: is missing`);
      for (const [k, x] of Object.entries(o)) {
        const p = s.properties?.[k];
        if (p) walk(p, x, `${path}.${k}`);
        else if (s.additionalProperties === false) errors.push(`${path}.${k}: is not allowed`);
        else if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, x, `${path}.${k}`);
      }
    }
  };
  walk(schema, value, '$');
  return errors;
}

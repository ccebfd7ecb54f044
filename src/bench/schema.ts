/**
 * The benchmark report: its TypeScript shape and a check against bench/schema.json, the one schema
 * that the Node command and the bench page both write. The checker understands the subset of JSON
 * Schema that file uses (type, const, enum, properties, required, additionalProperties, items,
 * minimum, $ref to #/$defs/...), so it needs no dependency.
 */
import schemaJson from '../../bench/schema.json';
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
  /** 'fail': outside tolerance (not timed); 'skipped': over a device limit; 'error': anything else. */
  status: 'ok' | 'fail' | 'skipped' | 'error';
  maxError: number | null;
  /** Which outputs were compared with the CPU twin ('all', or the first rows for big shapes). */
  checked: string;
  message: string;
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

export interface ModelRow {
  model: string;
  dtype: 'f32' | 'f16';
  weightBytes: number;
  promptTokens: number;
  decodeTokens: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  msPerToken: number;
  /** weightBytes / measured bandwidth: the fastest a decode step can be if it reads every weight once. */
  rooflineMsPerToken: number | null;
  /** rooflineMsPerToken / msPerToken. */
  shareOfRoofline: number | null;
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
  preset: 'quick' | 'full';
  environment: Environment;
  timing: { method: TimingMethod; warmup: number; reps: number; targetPassMs: number };
  peaks: Peaks;
  kernels: KernelRow[];
  models: ModelRow[];
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

/**
 * Checking a GPU kernel against its CPU twin on host data: upload the inputs, run, read back the
 * outputs, compare within |gpu - ref| <= atol + rtol*|ref| (or exactly). Shared by the benchmark
 * sweep (every row is checked before it is timed) and the kernel tuner (a candidate that fails is
 * never chosen).
 */
import type { AnyDispatch } from '../kernels/dispatch';
import type { Gpu } from './gpu';

export type Host = Float32Array | Uint32Array;

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Host data of one check: inputs, initial outputs (a number: that many zeros). */
export interface CheckData {
  inputs: Record<string, Host>;
  outputs: Record<string, Host | number>;
}

/** The uploaded buffers of a CheckData; `destroy()` frees them. */
export interface Uploaded {
  inp: Record<string, GPUBuffer>;
  out: Record<string, GPUBuffer>;
  destroy(): void;
}

export async function uploadCheckData(gpu: Gpu, label: string, data: CheckData): Promise<Uploaded> {
  const created: GPUBuffer[] = [];
  const upload = async (name: string, v: Host | number) => {
    const b =
      typeof v === 'number'
        ? await gpu.createBuffer(`${label}:${name}`, v * 4)
        : await gpu.upload(`${label}:${name}`, v);
    created.push(b);
    return b;
  };
  try {
    const inp: Record<string, GPUBuffer> = {};
    for (const [k, v] of Object.entries(data.inputs)) inp[k] = await upload(k, v);
    const out: Record<string, GPUBuffer> = {};
    for (const [k, v] of Object.entries(data.outputs)) out[k] = await upload(k, v);
    return {
      inp,
      out,
      destroy: () => {
        for (const b of created) b.destroy();
      },
    };
  } catch (e) {
    for (const b of created) b.destroy();
    throw e;
  }
}

/** Writes the initial outputs again (a kernel that accumulates must start from the same state). */
export function resetOutputs(gpu: Gpu, up: Uploaded, data: CheckData): void {
  for (const [k, v] of Object.entries(data.outputs)) {
    const init = typeof v === 'number' ? new Float32Array(v) : v;
    gpu.write(up.out[k], init);
  }
}

export interface Comparison {
  pass: boolean;
  maxError: number;
  /** Empty when it passes; else which output, how many elements, and the first bad one. */
  message: string;
}

/**
 * Runs `dispatch` once and compares the first expected.length elements of each output with
 * `expected` (the CPU twin's result).
 */
export async function runAndCompare(
  gpu: Gpu,
  dispatch: AnyDispatch,
  out: Record<string, GPUBuffer>,
  expected: Record<string, Host>,
  tol: Tolerance,
  exact = false,
): Promise<Comparison> {
  gpu.submit('check', (pass) => dispatch.encode(pass));
  await gpu.finish();
  let maxError = 0;
  const problems: string[] = [];
  for (const [k, e] of Object.entries(expected)) {
    const raw = await gpu.read(out[k], e.length * 4);
    const got = e instanceof Uint32Array ? new Uint32Array(raw) : new Float32Array(raw);
    let bad = 0;
    let first = '';
    for (let i = 0; i < e.length; i++) {
      const err = Math.abs(got[i] - e[i]);
      const ok = exact ? got[i] === e[i] : err <= tol.atol + tol.rtol * Math.abs(e[i]);
      if (Number.isFinite(err)) maxError = Math.max(maxError, err);
      if (!ok || Number.isNaN(got[i])) {
        if (!bad) first = `${k}[${i}]: gpu ${got[i]} vs cpu ${e[i]}`;
        bad++;
      }
    }
    if (bad) problems.push(`${k}: ${bad}/${e.length} outside tolerance, first ${first}`);
  }
  return { pass: problems.length === 0, maxError, message: problems.join('; ') };
}

/**
 * `n` floats uniform in [-scale, scale) from a seeded xorshift generator: far cheaper than normal
 * samples for the hundreds of millions of weights of the big shapes.
 */
export function uniform(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  const k = (2 * scale) / 4294967296;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) * k - scale;
  }
  return out;
}

/**
 * `words` u32s of packed f16 pairs, each half a random finite value of magnitude 2^-6..2 (exponent
 * 9..15, any mantissa, either sign): valid packWeightF16 data without converting floats.
 */
export function randomF16Words(words: number, seed: number): Uint32Array {
  const out = new Uint32Array(words);
  let s = (seed * 2654435761) >>> 0 || 1;
  const half = (r: number) => (r & 0x8000) | ((9 + ((r >>> 10) % 7)) << 10) | (r & 0x3ff);
  for (let i = 0; i < words; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const r = s >>> 0;
    out[i] = (half(r & 0xffff) | (half(r >>> 16) << 16)) >>> 0;
  }
  return out;
}

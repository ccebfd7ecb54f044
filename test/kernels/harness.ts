/**
 * The kernel test harness, shared by the Node suite (test/kernels.test.ts) and the Chromium page
 * (e2e/kernels.html): every case uploads seeded inputs, runs the GPU kernel, runs its CPU twin on
 * the same data and compares within |gpu - ref| <= atol + rtol*|ref|. Outputs are bound at an
 * offset inside a larger buffer filled with sentinels, and the sentinels are checked afterwards.
 */
import type { BufferRef, Gpu } from '../../src/gpu/gpu';
import type { AnyDispatch } from '../../src/kernels/dispatch';

export interface Tolerance {
  atol: number;
  rtol: number;
}

type HostArray = Float32Array | Uint32Array | Int32Array;

export interface KernelCase {
  name: string;
  tol: Tolerance;
  /** Read-only inputs. */
  inputs: Record<string, HostArray>;
  /** Outputs with their initial contents (zeros, or the state an in-place kernel updates). */
  outputs: Record<string, Float32Array | Uint32Array>;
  /** Runs the CPU twin: writes into `out` (copies of the initial outputs). */
  cpu(out: Record<string, Float32Array | Uint32Array>, inp: Record<string, HostArray>): void;
  /** Builds the GPU dispatch(es) over the uploaded buffers; they run in order in one submission. */
  gpu(
    gpu: Gpu,
    out: Record<string, BufferRef>,
    inp: Record<string, BufferRef>,
  ): Promise<AnyDispatch | AnyDispatch[]>;
  /** Outputs compared as exact integers (argmax) rather than floats. */
  exact?: boolean;
}

export interface CaseResult {
  kernel: string;
  name: string;
  pass: boolean;
  maxAbsErr: number;
  message: string;
}

const SENTINEL = -7777.25;
/** Sentinel floats on each side of an output: 256 bytes, the storage offset alignment. */
const PAD = 64;

export async function runCase(gpu: Gpu, kernel: string, c: KernelCase): Promise<CaseResult> {
  const created: GPUBuffer[] = [];
  try {
    const inp: Record<string, BufferRef> = {};
    for (const [k, v] of Object.entries(c.inputs)) {
      const b = await gpu.upload(`${c.name}:${k}`, v);
      created.push(b);
      inp[k] = { buffer: b, offset: 0, size: Math.max(4, v.byteLength) };
    }
    const out: Record<string, BufferRef> = {};
    for (const [k, v] of Object.entries(c.outputs)) {
      const padded = new Float32Array(v.length + 2 * PAD).fill(SENTINEL);
      padded.set(new Float32Array(v.buffer, v.byteOffset, v.length), PAD);
      const b = await gpu.upload(`${c.name}:${k}`, padded);
      created.push(b);
      out[k] = { buffer: b, offset: PAD * 4, size: Math.max(4, v.byteLength) };
    }
    const dispatches = [await c.gpu(gpu, out, inp)].flat();
    gpu.submit(c.name, (pass) => {
      for (const d of dispatches) d.encode(pass);
    });
    await gpu.finish();

    const ref: Record<string, Float32Array | Uint32Array> = {};
    for (const [k, v] of Object.entries(c.outputs)) ref[k] = v.slice();
    c.cpu(ref, c.inputs);

    let maxAbsErr = 0;
    const problems: string[] = [];
    for (const [k, expected] of Object.entries(ref)) {
      const all = await gpu.read((out[k] as { buffer: GPUBuffer }).buffer, (expected.length + 2 * PAD) * 4);
      const sentinels = new Float32Array(all);
      for (let i = 0; i < PAD; i++) {
        if (sentinels[i] !== SENTINEL || sentinels[PAD + expected.length + i] !== SENTINEL) {
          problems.push(`${k}: sentinel overwritten (out-of-bounds write)`);
          break;
        }
      }
      const got =
        expected instanceof Uint32Array
          ? new Uint32Array(all, PAD * 4, expected.length)
          : new Float32Array(all, PAD * 4, expected.length);
      let bad = 0;
      let first = '';
      for (let i = 0; i < expected.length; i++) {
        const e = expected[i];
        const g = got[i];
        const err = Math.abs(g - e);
        const ok = c.exact ? g === e : err <= c.tol.atol + c.tol.rtol * Math.abs(e);
        if (Number.isFinite(err)) maxAbsErr = Math.max(maxAbsErr, err);
        if (!ok || Number.isNaN(g)) {
          if (!bad) first = `${k}[${i}]: gpu ${g} vs ref ${e}`;
          bad++;
        }
      }
      if (bad) problems.push(`${k}: ${bad}/${expected.length} outside tolerance, first ${first}`);
    }
    for (const d of dispatches) d.destroy();
    return { kernel, name: c.name, pass: problems.length === 0, maxAbsErr, message: problems.join('; ') };
  } catch (e) {
    return {
      kernel,
      name: c.name,
      pass: false,
      maxAbsErr: Number.NaN,
      message: String((e as Error)?.stack ?? e),
    };
  } finally {
    for (const b of created) b.destroy();
  }
}

/** Mulberry32: a small seeded generator, so every run sees the same inputs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n normal(0, scale) floats from a seeded generator; about 1% are outliers ten times larger. */
export function randn(n: number, seed: number, scale = 1, outliers = true): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
    out[i] = z * scale * (outliers && r() < 0.01 ? 10 : 1);
  }
  return out;
}

/** Case tables by kernel name, from test/kernels/<kernel>.cases.ts. */
export async function loadCaseTables(): Promise<
  Record<string, { cases: KernelCase[]; variants: Record<string, boolean | number>[] }>
> {
  const modules = import.meta.glob('./*.cases.ts');
  const tables: Record<string, { cases: KernelCase[]; variants: Record<string, boolean | number>[] }> = {};
  for (const [path, load] of Object.entries(modules)) {
    const name = path.replace(/^.*\/(.*)\.cases\.ts$/, '$1');
    tables[name] = (await load()) as (typeof tables)[string];
  }
  return tables;
}

/**
 * Kernel selection per adapter. The fastest variant of an op depends on the adapter (SwiftShader
 * punishes workgroup barriers; discrete GPUs reward cooperative reductions and subgroups), so for
 * each op and shape a model uses, the candidates are first checked against the CPU twin on that
 * shape (a candidate that fails is never chosen), then timed on the op's real buffers; the fastest
 * wins. Choices are cached per adapter, wgpt version and shader source (IndexedDB in the browser, a
 * file under the user's cache directory in Node), so a second load does no tuning. A cache written
 * for another adapter, another version or other shaders, or that does not parse, is ignored and
 * rewritten.
 */
import { version } from '../../package.json';
import { InvalidOptionError } from '../errors';
import type { AnyDispatch } from '../kernels/dispatch';
import type { Comparison } from './check';
import type { Gpu } from './gpu';
import { shaderSources } from './shader';
import { timeDispatches } from './timing';

/** 'auto': use the cache, tune what it lacks; 'off': the untuned defaults; 'retune': ignore the cache. */
export type TuningMode = 'auto' | 'off' | 'retune';

export interface TuningOptions {
  mode?: TuningMode;
  /** A variant name per op (e.g. `{ matmul: 'gemv.r4.v4' }`), used for every shape of that op. */
  force?: Record<string, string>;
  /** Where choices persist; null keeps them in memory only. Default: defaultTuningStore(). */
  store?: TuningStore | null;
  /** Debug notes: candidates skipped (failed to build or to match the CPU twin) and choices made. */
  log?: (message: string) => void;
}

/** What the tuner needs to know of one op at one shape. */
export interface Trial {
  /** Candidate variant names valid for this shape and adapter, the untuned default first. */
  candidates: string[];
  /** The variant used when tuning is off or every candidate fails. */
  fallback: string;
  /**
   * Runs the variant on synthetic inputs of this shape against the CPU twin (any variant name of
   * the op, not only the candidates: a forced one is checked too); throws when it cannot run here.
   */
  check(name: string): Promise<Comparison>;
  /** The candidate bound to the op's real buffers, for timing (destroyed after). */
  build(name: string): Promise<AnyDispatch>;
  /** Frees what check() uploaded. */
  dispose?(): void;
}

export type CandidateStatus = 'chosen' | 'ok' | 'slow' | 'failed';

export interface CandidateResult {
  name: string;
  status: CandidateStatus;
  /** Median ms per call; null when not timed. */
  ms: number | null;
  note?: string;
}

export interface TuningChoice {
  op: string;
  shape: string;
  name: string;
  source: 'tuned' | 'cache' | 'forced' | 'default';
  /** Every candidate's outcome (tuned choices only). */
  candidates: CandidateResult[];
  ms: number | null;
}

/** Persistent storage of the tuning cache: one JSON document. */
export interface TuningStore {
  /** Where it lives, for messages. */
  readonly where: string;
  read(): Promise<string | null>;
  write(text: string): Promise<void>;
}

interface CacheEntry {
  name: string;
  ms: number | null;
  /** Hash of the op's shader source when it was tuned. */
  shader: string;
}

interface CacheFile {
  format: 1;
  /** Per adapter key. */
  adapters: Record<string, { version: string; entries: Record<string, CacheEntry> }>;
}

/** A candidate slower than this many times the best one on its first call is not timed further. */
export const SLOW_FACTOR = 2.5;
const TUNE_TIMING = { targetPassMs: 4, reps: 3, warmup: 0, maxCallsPerPass: 64 };

/** FNV-1a of a string, hex: a cheap fingerprint of a shader's source. */
function fingerprint(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function isCacheFile(x: unknown): x is CacheFile {
  const f = x as CacheFile;
  return (
    typeof f === 'object' && f !== null && f.format === 1 && typeof f.adapters === 'object' && !!f.adapters
  );
}

export class Tuning {
  readonly mode: TuningMode;
  readonly force: Record<string, string>;
  private readonly store: TuningStore | null;
  private readonly log: (message: string) => void;
  /** Choices made in this session, by `${op} ${shape}`. */
  private readonly made = new Map<string, Promise<TuningChoice>>();
  private cache: Promise<Record<string, CacheEntry>> | undefined;
  private dirty = false;

  constructor(
    private readonly gpu: Gpu,
    options: TuningOptions = {},
  ) {
    this.mode = options.mode ?? 'auto';
    this.force = options.force ?? {};
    this.store = options.store === undefined ? defaultTuningStore() : options.store;
    this.log = options.log ?? (() => {});
  }

  /** The adapter's identity in the cache: what it is, and the limits that shape the kernels. */
  get adapterKey(): string {
    const a = this.gpu.adapter;
    const sub = this.gpu.features.subgroups ? 'subgroups' : 'no-subgroups';
    return [a.vendor, a.architecture, a.device, a.description, sub].join('|');
  }

  /** Every choice made so far (for benchmarks and the bench page). */
  async choices(): Promise<TuningChoice[]> {
    return Promise.all(this.made.values());
  }

  /**
   * The variant of `op` to use at `shape`: forced, cached, tuned now, or the default (mode 'off').
   * `trial` is only called when the candidates are needed.
   */
  choose(op: string, shape: string, trial: () => Trial): Promise<string> {
    const key = `${op} ${shape}`;
    let p = this.made.get(key);
    if (!p) {
      p = this.decide(op, shape, key, trial);
      this.made.set(key, p);
      p.catch(() => this.made.delete(key));
    }
    return p.then((c) => c.name);
  }

  private async decide(
    op: string,
    shape: string,
    key: string,
    makeTrial: () => Trial,
  ): Promise<TuningChoice> {
    const trial = makeTrial();
    try {
      const forced = this.force[op];
      if (forced !== undefined) {
        // A forced variant outside the candidates is still used when it builds and checks out here.
        if (!trial.candidates.includes(forced)) {
          let why: string;
          try {
            const check = await trial.check(forced);
            if (check.pass) return { op, shape, name: forced, source: 'forced', candidates: [], ms: null };
            why = `it does not match the CPU twin (${check.message})`;
          } catch (e) {
            if (this.gpu.lostError) throw this.gpu.lostError;
            why = (e as Error)?.message ?? String(e);
          }
          throw new InvalidOptionError(
            'kernels',
            `${op} variant '${forced}' does not fit ${shape} on this adapter: ${why}; candidates: ${trial.candidates.join(', ')}`,
          );
        }
        return { op, shape, name: forced, source: 'forced', candidates: [], ms: null };
      }
      if (this.mode === 'off' || trial.candidates.length <= 1) {
        const name = trial.candidates[0] ?? trial.fallback;
        return { op, shape, name, source: 'default', candidates: [], ms: null };
      }
      const shader = fingerprint(shaderSources[op] ?? '');
      const cached = this.mode === 'auto' ? (await this.loadCache())[key] : undefined;
      if (cached && cached.shader === shader && trial.candidates.includes(cached.name)) {
        return { op, shape, name: cached.name, source: 'cache', candidates: [], ms: cached.ms };
      }
      const choice = await this.tune(op, shape, trial);
      (await this.loadCache())[key] = { name: choice.name, ms: choice.ms, shader };
      this.dirty = true;
      return choice;
    } finally {
      trial.dispose?.();
    }
  }

  /** Checks every candidate, times those that pass, and picks the fastest. */
  private async tune(op: string, shape: string, trial: Trial): Promise<TuningChoice> {
    const results: CandidateResult[] = [];
    const started = performance.now();
    // Every candidate built at once first: their pipelines compile concurrently (a failure here
    // shows up again, with its note, in the loop below).
    const warm = await Promise.allSettled(trial.candidates.map((n) => trial.build(n)));
    for (const w of warm) if (w.status === 'fulfilled') w.value.destroy();
    let bestFirst = Number.POSITIVE_INFINITY;
    for (const name of trial.candidates) {
      let d: AnyDispatch | undefined;
      try {
        const check = await trial.check(name);
        if (!check.pass) {
          results.push({ name, status: 'failed', ms: null, note: check.message });
          this.log(
            `tuning ${op} ${shape}: ${name} skipped, it does not match the CPU twin: ${check.message}`,
          );
          continue;
        }
        d = await trial.build(name);
        const t0 = performance.now();
        this.gpu.submit('tune', (pass) => d!.encode(pass));
        await this.gpu.finish();
        const first = performance.now() - t0;
        if (first > SLOW_FACTOR * bestFirst) {
          results.push({ name, status: 'slow', ms: null, note: `first call ${first.toFixed(2)} ms` });
          continue;
        }
        bestFirst = Math.min(bestFirst, first);
        // A call that takes longer than a timing pass is timed once more, on its own.
        let ms: number;
        if (first > TUNE_TIMING.targetPassMs) {
          const t1 = performance.now();
          this.gpu.submit('tune', (pass) => d!.encode(pass));
          await this.gpu.finish();
          ms = Math.min(first, performance.now() - t1);
        } else {
          ms = (await timeDispatches(this.gpu, [d], TUNE_TIMING)).ms;
        }
        results.push({ name, status: 'ok', ms });
      } catch (e) {
        if (this.gpu.lostError) throw this.gpu.lostError;
        const note = (e as Error)?.message ?? String(e);
        results.push({ name, status: 'failed', ms: null, note });
        this.log(`tuning ${op} ${shape}: ${name} skipped: ${note}`);
      } finally {
        d?.destroy();
      }
    }
    const timed = results.filter((r) => r.status === 'ok');
    if (!timed.length) {
      this.log(`tuning ${op} ${shape}: no candidate passed; using ${trial.fallback}`);
      return { op, shape, name: trial.fallback, source: 'default', candidates: results, ms: null };
    }
    const best = timed.reduce((a, b) => (b.ms! < a.ms! ? b : a));
    best.status = 'chosen';
    const took = performance.now() - started;
    this.log(
      `tuning ${op} ${shape}: ${best.name} (${best.ms!.toFixed(3)} ms a call; tuned in ${took.toFixed(0)} ms)`,
    );
    return { op, shape, name: best.name, source: 'tuned', candidates: results, ms: best.ms };
  }

  /** This adapter's cached entries (empty when the cache is missing, unreadable or stale). */
  private loadCache(): Promise<Record<string, CacheEntry>> {
    this.cache ??= (async () => {
      if (!this.store) return {};
      try {
        const text = await this.store.read();
        if (!text) return {};
        const file: unknown = JSON.parse(text);
        const mine = isCacheFile(file) ? file.adapters[this.adapterKey] : undefined;
        if (mine && mine.version === version && typeof mine.entries === 'object' && mine.entries) {
          return { ...mine.entries };
        }
        this.log(`tuning cache ${this.store.where}: stale or for another adapter, ignored`);
      } catch (e) {
        this.log(`tuning cache ${this.store.where}: unreadable, ignored (${(e as Error).message})`);
      }
      this.dirty = true;
      return {};
    })();
    return this.cache;
  }

  /** Writes new choices to the store (keeping other adapters' current entries). */
  async flush(): Promise<void> {
    if (!this.store || !this.dirty || !this.cache) return;
    const entries = await this.cache;
    let file: CacheFile = { format: 1, adapters: {} };
    try {
      const old: unknown = JSON.parse((await this.store.read()) ?? '');
      if (isCacheFile(old)) file = old;
    } catch {
      // Unreadable: rewritten whole.
    }
    for (const [k, a] of Object.entries(file.adapters)) if (a?.version !== version) delete file.adapters[k];
    file.adapters[this.adapterKey] = { version, entries };
    try {
      await this.store.write(`${JSON.stringify(file, null, 1)}\n`);
      this.dirty = false;
    } catch (e) {
      this.log(`tuning cache ${this.store.where}: not written (${(e as Error).message})`);
    }
  }
}

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
}

/** A file (Node): `$XDG_CACHE_HOME/wgpt/tuning.json`, default `~/.cache/wgpt/tuning.json`. */
export function fileTuningStore(path: string): TuningStore {
  const fs = () => import(/* @vite-ignore */ 'node:fs/promises');
  return {
    where: path,
    async read() {
      try {
        return await (await fs()).readFile(path, 'utf8');
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return null;
        throw e;
      }
    },
    async write(text) {
      const { mkdir, writeFile, rename } = await fs();
      const dir = path.slice(0, Math.max(0, path.lastIndexOf('/')));
      if (dir) await mkdir(dir, { recursive: true });
      // Written whole, then renamed: a concurrent reader never sees half a file.
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, text);
      await rename(tmp, path);
    },
  };
}

/** IndexedDB (browser pages and workers): database 'wgpt', store 'tuning', one record. */
export function indexedDbTuningStore(name = 'wgpt'): TuningStore {
  const open = () =>
    new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore('tuning');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  const run = async <T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
    const db = await open();
    try {
      return await new Promise<T>((resolve, reject) => {
        const req = fn(db.transaction('tuning', mode).objectStore('tuning'));
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    } finally {
      db.close();
    }
  };
  return {
    where: `IndexedDB '${name}'`,
    async read() {
      const v = await run<unknown>('readonly', (s) => s.get('cache'));
      return typeof v === 'string' ? v : null;
    },
    async write(text) {
      await run('readwrite', (s) => s.put(text, 'cache'));
    },
  };
}

/**
 * The store of this environment: `where` is a file path (Node) or an IndexedDB database name
 * (browser); by default `~/.cache/wgpt/tuning.json` or 'wgpt'. Null where there is none.
 */
export function defaultTuningStore(where?: string): TuningStore | null {
  if (isNode()) {
    const env = process.env;
    const base = env.XDG_CACHE_HOME || (env.HOME ? `${env.HOME}/.cache` : '');
    if (where) return fileTuningStore(where);
    return base ? fileTuningStore(`${base}/wgpt/tuning.json`) : null;
  }
  if (typeof indexedDB !== 'undefined') return indexedDbTuningStore(where);
  return null;
}

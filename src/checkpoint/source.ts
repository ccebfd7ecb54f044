/**
 * Where model files come from, behind one interface: a Node folder, an http(s) folder URL, a
 * Hugging Face repo id, or a map of picked files. Reads report download progress and honor an
 * AbortSignal.
 */
import { ModelLoadError } from '../errors';
import type { LoadProgress, ModelSource } from '../types';

export interface FileSource {
  /** The source in words, for messages ("folder /x", "https://huggingface.co/a/b"). */
  readonly describe: string;
  /** Whether a file exists (false for a missing file, a 404). */
  has(name: string): Promise<boolean>;
  /** A file's bytes; ModelLoadError naming the file when missing or unreadable. */
  read(name: string): Promise<Uint8Array>;
  readText(name: string): Promise<string>;
  /** Parses JSON; ModelLoadError naming the file when it is not JSON. */
  readJSON(name: string): Promise<unknown>;
}

export interface SourceOptions {
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (event: LoadProgress) => void;
}

/** A picked file's contents; a string is taken as UTF-8 text (test helpers write config.json so). */
type MapValue = Blob | ArrayBuffer | Uint8Array | string;

const isNode = (): boolean =>
  typeof process !== 'undefined' && typeof process.versions === 'object' && !!process.versions?.node;

/** Opens a model source. Kinds: '://' -> URL; '.', '/', '~' or an existing path -> folder; 'owner/name' -> repo id. */
export function openSource(
  source: ModelSource | Record<string, MapValue>,
  opts: SourceOptions = {},
): FileSource {
  const progress = new Progress(opts.onProgress);
  if (typeof source !== 'string') return new MapSource(source, opts, progress);
  if (source.includes('://')) {
    if (!/^https?:\/\//i.test(source)) {
      throw new ModelLoadError(source, 'only http(s) URLs are supported');
    }
    return new UrlSource(source, source, opts, progress);
  }
  const repoUrl = (id: string) => `https://huggingface.co/${id}/resolve/main`;
  const looksLikeRepo = /^[\w.-]+\/[\w.-]+$/.test(source) && !source.startsWith('.');
  if (!isNode()) {
    if (looksLikeRepo) return new UrlSource(repoUrl(source), source, opts, progress);
    // In a browser a path is a folder on the page's own server.
    const base = typeof location !== 'undefined' ? location.href : undefined;
    return new UrlSource(new URL(source, base).href, source, opts, progress);
  }
  if (/^[./~]/.test(source) || !looksLikeRepo) return new FolderSource(source, opts, progress);
  // 'owner/name' in Node: a folder if one exists by that name, else a repo id.
  return new LazySource(source, async () => {
    const { stat } = await import('node:fs/promises');
    const exists = await stat(source).then(
      () => true,
      () => false,
    );
    return exists
      ? new FolderSource(source, opts, progress)
      : new UrlSource(repoUrl(source), source, opts, progress);
  });
}

/** Per-file and overall byte counts; the overall total covers the files started so far. */
class Progress {
  private loaded = new Map<string, number>();
  private totals = new Map<string, number | undefined>();
  constructor(private readonly cb?: (event: LoadProgress) => void) {}
  report(file: string, loaded: number, total: number | undefined): void {
    this.loaded.set(file, loaded);
    this.totals.set(file, total);
    if (!this.cb) return;
    let overallLoaded = 0;
    let overallTotal: number | undefined = 0;
    for (const v of this.loaded.values()) overallLoaded += v;
    for (const t of this.totals.values())
      overallTotal = t === undefined || overallTotal === undefined ? undefined : overallTotal + t;
    this.cb({ file, loaded, total, overallLoaded, overallTotal, phase: 'download' });
  }
}

abstract class BaseSource implements FileSource {
  abstract readonly describe: string;
  abstract has(name: string): Promise<boolean>;
  abstract read(name: string): Promise<Uint8Array>;
  async readText(name: string): Promise<string> {
    return new TextDecoder().decode(await this.read(name));
  }
  async readJSON(name: string): Promise<unknown> {
    const text = await this.readText(name);
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ModelLoadError(name, `not valid JSON (${this.describe}): ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

class UrlSource extends BaseSource {
  readonly describe: string;
  private readonly base: string;
  constructor(
    base: string,
    private readonly given: string,
    private readonly opts: SourceOptions,
    private readonly progress: Progress,
  ) {
    super();
    this.base = base.replace(/\/+$/, '');
    this.describe = given === base ? base : `${given} (${this.base})`;
  }
  private url(name: string): string {
    return `${this.base}/${name.split('/').map(encodeURIComponent).join('/')}`;
  }
  private get fetchFn(): typeof fetch {
    // The global fetch must be called unbound from its object ('Illegal invocation' otherwise).
    const f = this.opts.fetch ?? globalThis.fetch?.bind(globalThis);
    if (!f) throw new ModelLoadError(this.given, 'no fetch available to download the model');
    return f;
  }
  async has(name: string): Promise<boolean> {
    checkAbort(this.opts.signal);
    const url = this.url(name);
    let res: Response;
    try {
      res = await this.fetchFn(url, { method: 'HEAD', signal: this.opts.signal });
    } catch (e) {
      checkAbort(this.opts.signal);
      throw new ModelLoadError(name, `could not reach ${url}: ${(e as Error).message}`, { cause: e });
    }
    // Servers that refuse HEAD still answer the GET that read() makes.
    return res.status !== 404 && res.status !== 410;
  }
  async read(name: string): Promise<Uint8Array> {
    checkAbort(this.opts.signal);
    const url = this.url(name);
    let res: Response;
    try {
      res = await this.fetchFn(url, { signal: this.opts.signal });
    } catch (e) {
      checkAbort(this.opts.signal);
      throw new ModelLoadError(name, `could not fetch ${url}: ${(e as Error).message}`, { cause: e });
    }
    if (!res.ok) {
      const why = res.status === 404 ? 'not found (HTTP 404)' : `HTTP ${res.status} ${res.statusText}`.trim();
      throw new ModelLoadError(name, `${why} at ${url}`);
    }
    const header = res.headers.get('content-length');
    const total = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
    this.progress.report(name, 0, total);
    if (!res.body) {
      const bytes = new Uint8Array(await res.arrayBuffer());
      this.progress.report(name, bytes.length, total ?? bytes.length);
      return bytes;
    }
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let loaded = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        checkAbort(this.opts.signal);
        chunks.push(value);
        loaded += value.length;
        this.progress.report(name, loaded, total);
      }
    } catch (e) {
      checkAbort(this.opts.signal);
      throw new ModelLoadError(name, `download from ${url} failed: ${(e as Error).message}`, { cause: e });
    }
    if (total !== undefined && loaded !== total && !res.headers.get('content-encoding')) {
      throw new ModelLoadError(name, `download from ${url} ended after ${loaded} of ${total} bytes`);
    }
    if (chunks.length === 1) {
      if (total !== loaded) this.progress.report(name, loaded, loaded);
      return chunks[0];
    }
    const out = new Uint8Array(loaded);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    if (total !== loaded) this.progress.report(name, loaded, loaded);
    return out;
  }
}

class FolderSource extends BaseSource {
  readonly describe: string;
  constructor(
    private readonly dir: string,
    private readonly opts: SourceOptions,
    private readonly progress: Progress,
  ) {
    super();
    this.describe = `folder ${dir}`;
  }
  private async path(name: string): Promise<string> {
    const { join, resolve } = await import('node:path');
    let dir = this.dir;
    if (dir === '~' || dir.startsWith('~/')) {
      const { homedir } = await import('node:os');
      dir = join(homedir(), dir.slice(1));
    }
    return resolve(dir, name);
  }
  async has(name: string): Promise<boolean> {
    const { stat } = await import('node:fs/promises');
    return stat(await this.path(name)).then(
      (s) => s.isFile(),
      () => false,
    );
  }
  async read(name: string): Promise<Uint8Array> {
    checkAbort(this.opts.signal);
    const { readFile } = await import('node:fs/promises');
    const path = await this.path(name);
    let buf: Uint8Array;
    try {
      buf = await readFile(path, { signal: this.opts.signal });
    } catch (e) {
      checkAbort(this.opts.signal);
      const code = (e as { code?: string }).code;
      const why = code === 'ENOENT' ? 'not found' : `could not be read (${(e as Error).message})`;
      throw new ModelLoadError(name, `${why} in ${this.describe} (${path})`, { cause: e });
    }
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    this.progress.report(name, bytes.length, bytes.length);
    return bytes;
  }
}

class MapSource extends BaseSource {
  readonly describe: string;
  private readonly files = new Map<string, MapValue>();
  constructor(
    map: Record<string, MapValue>,
    private readonly opts: SourceOptions,
    private readonly progress: Progress,
  ) {
    super();
    // Keys may carry a folder prefix (webkitRelativePath): match by basename.
    for (const [key, value] of Object.entries(map)) this.files.set(key.split(/[\\/]/).pop()!, value);
    this.describe = `picked files (${[...this.files.keys()].join(', ')})`;
  }
  async has(name: string): Promise<boolean> {
    return this.files.has(name);
  }
  async read(name: string): Promise<Uint8Array> {
    checkAbort(this.opts.signal);
    const v = this.files.get(name);
    if (v === undefined) throw new ModelLoadError(name, `not found among the ${this.describe}`);
    let bytes: Uint8Array;
    if (typeof v === 'string') bytes = new TextEncoder().encode(v);
    else if (v instanceof Uint8Array) bytes = v;
    else if (v instanceof ArrayBuffer) bytes = new Uint8Array(v);
    else if (typeof Blob !== 'undefined' && v instanceof Blob) bytes = new Uint8Array(await v.arrayBuffer());
    else
      throw new ModelLoadError(name, 'a picked file must be a Blob, File, ArrayBuffer, Uint8Array or string');
    checkAbort(this.opts.signal);
    this.progress.report(name, bytes.length, bytes.length);
    return bytes;
  }
}

/** A source whose kind is decided by an async check on first use. */
class LazySource extends BaseSource {
  private inner?: Promise<FileSource>;
  private resolved?: FileSource;
  constructor(
    private readonly given: string,
    private readonly decide: () => Promise<FileSource>,
  ) {
    super();
  }
  get describe(): string {
    return this.resolved?.describe ?? this.given;
  }
  private get(): Promise<FileSource> {
    this.inner ??= this.decide().then((s) => (this.resolved = s));
    return this.inner;
  }
  async has(name: string): Promise<boolean> {
    return (await this.get()).has(name);
  }
  async read(name: string): Promise<Uint8Array> {
    return (await this.get()).read(name);
  }
}

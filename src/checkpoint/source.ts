/**
 * Where model files come from, behind one interface: a Node folder, an http(s) folder URL, a
 * Hugging Face repo id, or a map of picked files. Reads report download progress and honor an
 * AbortSignal. URL reads go through ./download.ts: a dropped connection resumes with a Range
 * request, and a whole file whose server reports its sha256 (the hub's LFS files) is verified.
 */
import { ModelFormatError, ModelLoadError } from '../errors';
import type { LoadProgress, ModelSource } from '../types';
import { type DownloadOptions, download } from './download';

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
  /** A file's size in bytes. */
  size(name: string): Promise<number>;
  /** Bytes [begin, end) of a file, without reading the rest (HTTP Range, file handles, Blob.slice). */
  readRange(name: string, begin: number, end: number): Promise<Uint8Array>;
  /** The files' names when the source can list them (a folder, picked files); undefined for URLs. */
  list(): Promise<string[] | undefined>;
}

export interface SourceOptions {
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (event: LoadProgress) => void;
  /** URL downloads: retries, backoff and stall timeout (see DownloadOptions; defaults 4, 500 ms, 60 s). */
  download?: Pick<DownloadOptions, 'retries' | 'retryDelayMs' | 'timeoutMs'>;
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
  /** Counts `bytes` more of a file read in ranges of a known size. */
  add(file: string, bytes: number, size: number): void {
    this.report(file, Math.min(size, (this.loaded.get(file) ?? 0) + bytes), size);
  }
}

/**
 * Why a file name (a shard named by an index, any name a source is asked for) could reach outside the model's folder or URL prefix (a '..'
 * segment, an absolute or drive path, a URL of any scheme, a backslash), or undefined when it
 * names a file inside it. Names are relative paths with '/' separators, as the hub writes them.
 */
export function unsafeFileName(name: string): string | undefined {
  if (name === '') return 'is empty';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'holds a control character';
  if (name.includes('\\')) return 'holds a backslash';
  if (/^[a-z][a-z0-9+.-]*:/i.test(name)) return 'is a URL or a drive path';
  if (name.startsWith('/')) return 'is an absolute path';
  const segments = name.split('/');
  if (segments.includes('..')) return "has a '..' segment";
  if (segments.some((s) => s === '' || s === '.')) return "has an empty or '.' segment";
  return undefined;
}

/** Refuses a name that would resolve outside the source's folder or URL prefix (second guard after the index check). */
function checkName(name: string, where: string): void {
  if (name === '.') return; // the folder itself (listing it)
  const why = unsafeFileName(name);
  if (why) throw new ModelFormatError(name, `${why}: it would resolve outside ${where}`);
}

abstract class BaseSource implements FileSource {
  abstract readonly describe: string;
  abstract has(name: string): Promise<boolean>;
  abstract read(name: string): Promise<Uint8Array>;
  abstract size(name: string): Promise<number>;
  abstract readRange(name: string, begin: number, end: number): Promise<Uint8Array>;
  async list(): Promise<string[] | undefined> {
    return undefined;
  }
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
    checkName(name, this.describe);
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

  private sizes = new Map<string, Promise<number>>();
  /** Whole files, kept when a server answered a range request with the whole file. */
  private whole = new Map<string, Uint8Array>();

  size(name: string): Promise<number> {
    let p = this.sizes.get(name);
    if (!p) {
      p = this.fetchSize(name);
      this.sizes.set(name, p);
      p.catch(() => this.sizes.delete(name));
    }
    return p;
  }

  private async fetchSize(name: string): Promise<number> {
    const url = this.url(name);
    const res = await this.request(name, url, { method: 'HEAD' });
    const header = res.headers.get('content-length');
    if (res.ok && header !== null && /^\d+$/.test(header) && !res.headers.get('content-encoding')) {
      return Number(header);
    }
    // No usable length from HEAD: a one-byte range answer states the whole size.
    const first = await this.request(name, url, { headers: { Range: 'bytes=0-0' } });
    const total = /\/(\d+)\s*$/.exec(first.headers.get('content-range') ?? '')?.[1];
    if (first.status === 206 && total !== undefined) {
      await first.body?.cancel();
      return Number(total);
    }
    const bytes = await this.fetchWhole(name, url, first);
    this.whole.set(name, bytes);
    return bytes.length;
  }

  async readRange(name: string, begin: number, end: number): Promise<Uint8Array> {
    const size = await this.size(name);
    if (!(begin >= 0 && end >= begin && end <= size)) {
      throw new ModelLoadError(name, `range [${begin}, ${end}) lies outside the file's ${size} bytes`);
    }
    const cached = this.whole.get(name);
    if (cached) return cached.subarray(begin, end);
    if (end === begin) return new Uint8Array(0);
    const url = this.url(name);
    const chunks: Uint8Array[] = [];
    const result = await download(url, {
      ...this.downloadOptions(name),
      range: [begin, end],
      onData: (c) => void chunks.push(c),
      onRestart: () => void chunks.splice(0),
    });
    const bytes = concat(chunks, result.size);
    if (result.whole) {
      // The server ignores ranges: keep the whole file, once.
      this.whole.set(name, bytes);
      this.progress.report(name, bytes.length, bytes.length);
      return bytes.subarray(begin, end);
    }
    this.progress.add(name, bytes.length, size);
    return bytes;
  }

  private downloadOptions(name: string) {
    return { ...this.opts.download, name, fetch: this.fetchFn, signal: this.opts.signal };
  }

  /** A whole file (continuing `first`, an answer already fetched), with progress. */
  private async fetchWhole(name: string, url: string, first?: Response): Promise<Uint8Array> {
    const chunks: Uint8Array[] = [];
    const result = await download(url, {
      ...this.downloadOptions(name),
      first,
      onData: (c) => void chunks.push(c),
      onRestart: () => void chunks.splice(0),
      onProgress: (loaded, total) => this.progress.report(name, loaded, total),
    });
    return concat(chunks, result.size);
  }

  /** A fetch of `url` whose failure or non-2xx answer is a ModelLoadError naming the file. */
  private async request(name: string, url: string, init: RequestInit): Promise<Response> {
    checkAbort(this.opts.signal);
    let res: Response;
    try {
      res = await this.fetchFn(url, { ...init, signal: this.opts.signal });
    } catch (e) {
      checkAbort(this.opts.signal);
      throw new ModelLoadError(name, `could not fetch ${url}: ${(e as Error).message}`, { cause: e });
    }
    if (!res.ok) {
      const why = res.status === 404 ? 'not found (HTTP 404)' : `HTTP ${res.status} ${res.statusText}`.trim();
      throw new ModelLoadError(name, `${why} at ${url}`);
    }
    return res;
  }

  async read(name: string): Promise<Uint8Array> {
    const cached = this.whole.get(name);
    if (cached) return cached;
    checkAbort(this.opts.signal);
    return this.fetchWhole(name, this.url(name));
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
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
    checkName(name, this.describe);
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
      throw this.failure(name, path, e);
    }
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    this.progress.report(name, bytes.length, bytes.length);
    return bytes;
  }

  async size(name: string): Promise<number> {
    const { stat } = await import('node:fs/promises');
    const path = await this.path(name);
    try {
      return (await stat(path)).size;
    } catch (e) {
      throw this.failure(name, path, e);
    }
  }

  async readRange(name: string, begin: number, end: number): Promise<Uint8Array> {
    checkAbort(this.opts.signal);
    const { open } = await import('node:fs/promises');
    const path = await this.path(name);
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    try {
      handle = await open(path, 'r');
      const size = (await handle.stat()).size;
      if (!(begin >= 0 && end >= begin && end <= size)) {
        throw new ModelLoadError(name, `range [${begin}, ${end}) lies outside the file's ${size} bytes`);
      }
      const out = new Uint8Array(end - begin);
      let at = 0;
      while (at < out.length) {
        const { bytesRead } = await handle.read(out, at, out.length - at, begin + at);
        if (bytesRead === 0) throw new ModelLoadError(name, `file ended at byte ${begin + at} (${path})`);
        at += bytesRead;
      }
      this.progress.add(name, out.length, size);
      return out;
    } catch (e) {
      if (e instanceof ModelLoadError) throw e;
      checkAbort(this.opts.signal);
      throw this.failure(name, path, e);
    } finally {
      await handle?.close();
    }
  }

  override async list(): Promise<string[]> {
    const { readdir } = await import('node:fs/promises');
    const dir = await this.path('.');
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isFile()).map((e) => e.name);
  }

  private failure(name: string, path: string, e: unknown): ModelLoadError {
    const code = (e as { code?: string }).code;
    const why = code === 'ENOENT' ? 'not found' : `could not be read (${(e as Error).message})`;
    return new ModelLoadError(name, `${why} in ${this.describe} (${path})`, { cause: e });
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

  async size(name: string): Promise<number> {
    const v = this.get(name);
    if (typeof v === 'string') return new TextEncoder().encode(v).length;
    if (v instanceof Uint8Array || v instanceof ArrayBuffer) return v.byteLength;
    return (v as Blob).size;
  }

  async readRange(name: string, begin: number, end: number): Promise<Uint8Array> {
    checkAbort(this.opts.signal);
    const v = this.get(name);
    const size = await this.size(name);
    if (!(begin >= 0 && end >= begin && end <= size)) {
      throw new ModelLoadError(name, `range [${begin}, ${end}) lies outside the file's ${size} bytes`);
    }
    let bytes: Uint8Array;
    if (typeof Blob !== 'undefined' && v instanceof Blob) {
      bytes = new Uint8Array(await v.slice(begin, end).arrayBuffer());
    } else {
      bytes = (await this.read(name)).subarray(begin, end);
    }
    this.progress.add(name, bytes.length, size);
    return bytes;
  }

  override async list(): Promise<string[]> {
    return [...this.files.keys()];
  }

  private get(name: string): MapValue {
    const v = this.files.get(name);
    if (v === undefined) throw new ModelLoadError(name, `not found among the ${this.describe}`);
    return v;
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

  async size(name: string): Promise<number> {
    return (await this.get()).size(name);
  }
  async readRange(name: string, begin: number, end: number): Promise<Uint8Array> {
    return (await this.get()).readRange(name, begin, end);
  }
  override async list(): Promise<string[] | undefined> {
    return (await this.get()).list();
  }
}

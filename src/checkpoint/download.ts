/**
 * Downloading one file, or one byte range of it, over HTTP so that a flaky network does not cost
 * the bytes already received:
 *
 * - A connection that drops or stalls mid-body is resumed with `Range: bytes=<received>-`, up to
 *   `retries` times in a row without new bytes, waiting `retryDelayMs`, then twice that, ... (at
 *   most 10 s) between tries. A 429 or 5xx answer and a network error are retried the same way.
 * - A server that answers the resume with the whole file (it ignores Range) restarts the download
 *   cleanly: the sink is told to drop what it has.
 * - A whole file whose server reports its sha256 is hashed while it streams and refused on a
 *   mismatch ("checksum mismatch: expected X got Y"). The Hugging Face hub reports it for LFS files
 *   in `X-Linked-Etag` / `ETag` (on the resolve URL's redirect, which Node's fetch lets us read;
 *   a browser only shows the final answer's headers). A byte range is never verified.
 * - `timeoutMs` without an answer or a byte fails the attempt (retried, then a ModelLoadError).
 *
 * Failures are ModelLoadError naming the file and URL (404 and other 4xx at once, without retry);
 * an abort by the caller's signal throws the signal's reason.
 */
import { ModelLoadError } from '../errors';

export interface DownloadOptions {
  /** The file's name, for messages. */
  name: string;
  fetch: typeof fetch;
  signal?: AbortSignal;
  /** Bytes [begin, end) instead of the whole file (end exclusive). A range is never checksum-verified. */
  range?: [number, number];
  /** Tries after a dropped, stalled, 429 or 5xx answer that brought no new bytes (default 4). */
  retries?: number;
  /** Wait before the first retry, doubled for each next one up to 10 s (default 500 ms). */
  retryDelayMs?: number;
  /** Milliseconds without an answer or a byte after which an attempt fails (default 60 000; 0: never). */
  timeoutMs?: number;
  /** 'verify' (default): hash a whole file when its server reports a sha256; 'always': hash it anyway. */
  hash?: 'verify' | 'always';
  /** An answer already fetched for this file (a GET without Range), read before any new request. */
  first?: Response;
  /** The sha256 reported with `first` (on a redirect before it, which `first` does not show). */
  firstSha256?: string;
  /** Bytes in order; `restart` comes first when the bytes so far must be dropped. */
  onData(chunk: Uint8Array): void | Promise<void>;
  onRestart?(): void | Promise<void>;
  /** Bytes received of the total (the file's or the range's size when known). */
  onProgress?(loaded: number, total: number | undefined): void;
}

export interface DownloadResult {
  /** Bytes written through onData (after the last restart). */
  size: number;
  /** True when a range was asked for but the server sent the whole file (which onData received). */
  whole: boolean;
  /** The sha256 (hex) of the whole file, when it was hashed. */
  sha256?: string;
  /** The sha256 the server reported, which `sha256` matched. */
  expectedSha256?: string;
  /** The headers of the (last) answer. */
  headers: Headers;
}

/**
 * Marks a fetch that answers from a store it fills itself (the model cache's): its answer to the
 * first request of a file may take the whole file's download, so no stall timeout applies to it.
 */
export const FILLS_WHOLE_FILES = Symbol.for('wgpt.fillsWholeFiles');

export const DEFAULT_RETRIES = 4;
export const DEFAULT_RETRY_DELAY_MS = 500;
export const DEFAULT_TIMEOUT_MS = 60_000;

/** An incremental sha256: node:crypto in Node (fast, native), @noble/hashes elsewhere. */
export interface Sha256 {
  update(bytes: Uint8Array): void;
  hex(): string;
}

const isNode = (): boolean =>
  typeof process !== 'undefined' && typeof process.versions === 'object' && !!process.versions?.node;

export async function createSha256(): Promise<Sha256> {
  if (isNode()) {
    const { createHash } = await import('node:crypto');
    const h = createHash('sha256');
    return { update: (b) => h.update(b), hex: () => h.digest('hex') };
  }
  const { sha256 } = await import('@noble/hashes/sha2.js');
  const { bytesToHex } = await import('@noble/hashes/utils.js');
  const h = sha256.create();
  return { update: (b) => h.update(b), hex: () => bytesToHex(h.digest()) };
}

/** The sha256 an answer reports for its file: `X-Linked-Etag`, else `ETag`, when it is 64 hex digits. */
export function reportedSha256(headers: Headers): string | undefined {
  for (const name of ['x-linked-etag', 'etag']) {
    const v = headers.get(name)?.trim().replace(/^W\//, '').replace(/"/g, '').toLowerCase();
    if (v && /^[0-9a-f]{64}$/.test(v)) return v;
  }
  return undefined;
}

/** A failed attempt that may be tried again. */
class Retryable extends Error {}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const done = () => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', abort, { once: true });
  });

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/** Downloads `url` (or a range of it) into `opts.onData`; see the module comment. */
export async function download(url: string, opts: DownloadOptions): Promise<DownloadResult> {
  const retries = opts.retries ?? DEFAULT_RETRIES;
  const fillsWhole = (opts.fetch as { [FILLS_WHOLE_FILES]?: boolean })[FILLS_WHOLE_FILES] === true;
  const timeoutMs = fillsWhole ? 0 : (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  let delay = opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const [begin, end] = opts.range ?? [0, undefined];
  let first = opts.first;
  /** Bytes received since the last restart, and the most ever received (a restart does not reset it). */
  let received = 0;
  let highWater = 0;
  let whole = opts.range === undefined;
  let total: number | undefined;
  let expected: string | undefined;
  let hasher: Sha256 | undefined;
  let headers = new Headers();
  let failures = 0;
  const restart = async () => {
    received = 0;
    hasher = undefined;
    await opts.onRestart?.();
  };
  for (;;) {
    throwIfAborted(opts.signal);
    const attempt = new AbortController();
    const stop = () => attempt.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', stop, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stalled = false;
    const arm = () => {
      clearTimeout(timer);
      if (timeoutMs <= 0 || !Number.isFinite(timeoutMs)) return;
      timer = setTimeout(() => {
        stalled = true;
        attempt.abort(new Retryable(`no data for ${timeoutMs} ms`));
      }, timeoutMs);
    };
    const before = highWater;
    try {
      arm();
      const from = (whole ? 0 : begin) + received;
      const to = whole ? undefined : end;
      let res: Response;
      let sha: string | undefined;
      if (first) {
        res = first;
        first = undefined;
        sha = opts.firstSha256 ?? reportedSha256(res.headers);
      } else {
        const rangeHeader =
          from > 0 || to !== undefined ? `bytes=${from}-${to === undefined ? '' : to - 1}` : undefined;
        ({ res, sha } = await request(opts, url, rangeHeader, attempt.signal));
      }
      headers = res.headers;
      if (res.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)/.exec(res.headers.get('content-range') ?? '');
        if (!m || Number(m[1]) !== from) {
          await res.body?.cancel();
          throw new ModelLoadError(
            opts.name,
            `${url} answered bytes ${m ? `${m[1]}-${m[2]}` : '(no Content-Range)'} when asked for bytes ${from}-`,
          );
        }
        if (m[3] !== '*' && whole) total = Number(m[3]);
      } else {
        // 200: the whole file, from byte 0, whatever was asked.
        if (received > 0) await restart();
        if (!whole) whole = true;
        const length = res.headers.get('content-length');
        total =
          length !== null && /^\d+$/.test(length) && !res.headers.get('content-encoding')
            ? Number(length)
            : undefined;
      }
      if (whole && received === 0) {
        expected = sha ?? expected;
        if (expected || opts.hash === 'always') hasher = await createSha256();
      }
      const size = whole ? total : (end as number) - begin;
      if (received === 0) opts.onProgress?.(0, size);
      // A compressed answer's byte offsets are not the file's: it can restart, never resume.
      const resumable = !res.headers.get('content-encoding');
      if (!res.body) {
        const bytes = new Uint8Array(await res.arrayBuffer());
        hasher?.update(bytes);
        await opts.onData(bytes);
        received += bytes.length;
      } else {
        const reader = res.body.getReader();
        for (;;) {
          let next: ReadableStreamReadResult<Uint8Array>;
          try {
            next = await reader.read();
          } catch (e) {
            throwIfAborted(opts.signal);
            if (!resumable) await restart();
            throw new Retryable(
              stalled ? `no data for ${timeoutMs} ms` : `connection lost (${(e as Error).message})`,
            );
          }
          if (next.done) break;
          arm();
          hasher?.update(next.value);
          await opts.onData(next.value);
          received += next.value.length;
          highWater = Math.max(highWater, received);
          opts.onProgress?.(received, size);
        }
      }
      if (size !== undefined && received < size) {
        if (!resumable) await restart();
        throw new Retryable(`connection closed after ${received} of ${size} bytes`);
      }
      if (size !== undefined && received > size) {
        throw new ModelLoadError(
          opts.name,
          `${url} sent ${received} bytes, more than the ${size} it announced`,
        );
      }
      if (size === undefined) opts.onProgress?.(received, received);
      const sha256 = hasher?.hex();
      if (expected && sha256 !== expected) {
        throw new ModelLoadError(opts.name, `checksum mismatch: expected ${expected} got ${sha256} (${url})`);
      }
      return {
        size: received,
        whole: whole && opts.range !== undefined,
        sha256,
        expectedSha256: expected,
        headers,
      };
    } catch (e) {
      throwIfAborted(opts.signal);
      const why = stalled ? `no data for ${timeoutMs} ms` : (e as Error).message;
      if (!(e instanceof Retryable) && !stalled) throw e;
      highWater = Math.max(highWater, received);
      failures = highWater > before ? 1 : failures + 1;
      if (failures > retries) {
        const tries = retries + 1;
        throw new ModelLoadError(
          opts.name,
          `download from ${url} failed ${tries === 1 ? 'once' : `${tries} times in a row`}: ${why}`,
          { cause: e },
        );
      }
      await sleep(delay, opts.signal);
      delay = Math.min(delay * 2, 10_000);
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', stop);
    }
  }
}

/**
 * A GET that reports the sha256 the server gave for the file. In Node redirects are followed by
 * hand, so that the one the hub puts on its redirect (X-Linked-Etag) is seen; a browser follows
 * them itself. Any status comes back; a network error throws.
 */
export async function fetchFollowing(
  fetchFn: typeof fetch,
  url: string,
  init: { headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<{ res: Response; url: string; sha?: string }> {
  let at = url;
  let sha: string | undefined;
  let manual = isNode();
  for (let hop = 0; ; hop++) {
    const res = await fetchFn(at, { ...init, ...(manual ? { redirect: 'manual' as const } : {}) });
    const location = res.headers.get('location');
    if (manual && res.status >= 300 && res.status < 400 && location && hop < 10) {
      sha ??= reportedSha256(res.headers);
      await res.body?.cancel();
      at = new URL(location, at).href;
      continue;
    }
    if (res.type === 'opaqueredirect' || (manual && res.status >= 300 && res.status < 400)) {
      // A fetch that cannot show its redirects (a browser's): let it follow them.
      manual = false;
      continue;
    }
    return { res, url: at, sha: sha ?? reportedSha256(res.headers) };
  }
}

/** One GET: 404/410 and other 4xx throw a ModelLoadError at once; 429, 5xx and network errors are Retryable. */
async function request(
  opts: DownloadOptions,
  url: string,
  range: string | undefined,
  signal: AbortSignal,
): Promise<{ res: Response; sha?: string }> {
  let answer: Awaited<ReturnType<typeof fetchFollowing>>;
  try {
    answer = await fetchFollowing(opts.fetch, url, { headers: range ? { Range: range } : {}, signal });
  } catch (e) {
    throwIfAborted(opts.signal);
    if (signal.aborted && signal.reason instanceof Retryable) throw signal.reason;
    // A wrapping fetch (the cache's) that already failed with a typed error: not a network error.
    if (e instanceof ModelLoadError) throw e;
    throw new Retryable(`could not fetch ${url}: ${(e as Error).message}`);
  }
  const { res, sha } = answer;
  if (res.ok) return { res, sha };
  await res.body?.cancel().catch(() => {});
  const why = res.status === 404 ? 'not found (HTTP 404)' : `HTTP ${res.status} ${res.statusText}`.trim();
  const where = answer.url === url ? url : `${url} (redirected to ${answer.url})`;
  if (res.status === 429 || res.status >= 500) throw new Retryable(`${why} at ${where}`);
  throw new ModelLoadError(opts.name, `${why} at ${where}`);
}

/**
 * A fetch backed by the model store (src/cache): Cache Storage in a browser, a folder in Node
 * (~/.cache/wgpt/models). A GET, whole or ranged (how large files such as a GGUF or safetensors
 * are read), is answered from the stored whole file; on a miss the whole file is first downloaded
 * into the store, streamed there without being held in memory, with `onDownload` reporting its
 * progress. Downloads resume after a dropped connection and are checked against the sha256 the
 * server reports (src/checkpoint/download.ts); a file that fails the check is never stored. A
 * stored file is checked before use (size, and sha256 up to REHASH_LIMIT bytes) and downloaded
 * again when it does not match. HEAD answers (the loader's "does this optional file exist?") are
 * stored as well.
 */
import { type CacheOptions, DEFAULT_CACHE, openStore } from '../cache/api';
import { type CachedFile, checkStored, type ModelStore, modelOf } from '../cache/store';
import { download, FILLS_WHOLE_FILES, fetchFollowing } from '../checkpoint/download';

export interface CachedFetch {
  fetch: typeof fetch;
  /** Resolves when every download started so far has ended (stored, or failed). */
  flush(): Promise<void>;
}

export interface CachedFetchOptions extends CacheOptions {
  /** Tries after a dropped or stalled connection or a 5xx answer (default 4). */
  retries?: number;
  /** Wait before the first retry, doubled for each next one (default 500 ms). */
  retryDelayMs?: number;
  /** Milliseconds without an answer or a byte after which a try fails (default 60 000). */
  timeoutMs?: number;
}

/** Bytes [begin, end) of a `Range: bytes=a-b` header (a closed range), or undefined. */
function parseRange(header: string, size: number): [number, number] | undefined {
  const m = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const begin = Number(m[1]);
  const end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  return begin <= end ? [begin, end] : undefined;
}

type Stored = { meta: CachedFile; blob: Blob };

export function cachedFetch(
  cacheName: string = DEFAULT_CACHE,
  base: typeof fetch = (...a) => fetch(...a),
  onDownload?: (url: string, loaded: number, total: number | undefined) => void,
  options: CachedFetchOptions = {},
): CachedFetch {
  let storePromise: Promise<ModelStore | undefined> | undefined;
  const store = () => (storePromise ??= openStore({ ...options, cache: cacheName }));
  const downloads = new Map<string, Promise<Stored | Response>>();

  /** Stored files already checked by this fetch (a load reads one file in many ranges: check it once). */
  const checked = new Map<string, Promise<Stored | undefined>>();
  const storedFile = (s: ModelStore, url: string): Promise<Stored | undefined> => {
    let p = checked.get(url);
    if (!p) {
      p = checkedFile(s, url);
      checked.set(url, p);
      p.then(
        (found) => found ?? checked.delete(url),
        () => checked.delete(url),
      );
    }
    return p;
  };
  /** A stored file that passes its check, or undefined (a bad one is removed). */
  const checkedFile = async (s: ModelStore, url: string): Promise<Stored | undefined> => {
    const stored = await s.get(url);
    if (!stored) return undefined;
    const bad = await checkStored(stored.meta, stored.blob);
    if (!bad) return stored;
    console.warn(`wgpt: the cached ${url} ${bad}; downloading it again`);
    await s.delete(url);
    return undefined;
  };

  /** Downloads a whole file into the store; an answer that is not 200 comes back as it is. */
  const fill = (s: ModelStore, url: string, signal?: AbortSignal | null): Promise<Stored | Response> => {
    let p = downloads.get(url);
    if (!p) {
      p = (async () => {
        const first = await fetchFollowing(base, url, { signal: signal ?? undefined });
        if (first.res.status !== 200) return first.res;
        const { model, file } = modelOf(url);
        let writer = await s.writer(url);
        try {
          const result = await download(url, {
            name: file,
            fetch: base,
            signal: signal ?? undefined,
            first: first.res,
            firstSha256: first.sha,
            hash: 'always',
            retries: options.retries,
            retryDelayMs: options.retryDelayMs,
            timeoutMs: options.timeoutMs,
            onData: (chunk) => writer.write(chunk),
            onRestart: async () => {
              await writer.abort(new Error('download restarted'));
              writer = await s.writer(url);
            },
            onProgress: (loaded, total) => onDownload?.(url, loaded, total),
          });
          const meta: CachedFile = {
            url,
            model,
            file,
            size: result.size,
            sha256: result.sha256,
            verified: result.expectedSha256 !== undefined,
            contentType: first.res.headers.get('content-type') ?? undefined,
            storedAt: Date.now(),
          };
          await writer.commit(meta);
        } catch (e) {
          await writer.abort(e);
          throw e;
        }
        const stored = await s.get(url);
        if (!stored) throw new Error(`wgpt: ${url} was stored in ${s.describe} but cannot be read back`);
        return stored;
      })().finally(() => downloads.delete(url));
      downloads.set(url, p);
    }
    return p;
  };

  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const method = request.method.toUpperCase();
    const s = method === 'GET' || method === 'HEAD' ? await store() : undefined;
    if (!s) return base(request);
    const url = request.url.split('#')[0];
    if (method === 'HEAD') {
      const file = await s.get(url);
      if (file) {
        const headers: Record<string, string> = { 'content-length': String(file.meta.size) };
        if (file.meta.contentType) headers['content-type'] = file.meta.contentType;
        return new Response(null, { status: 200, headers });
      }
      const head = await s.getHead(url);
      if (head) return new Response(null, { status: head.status, headers: head.headers });
      const res = await base(request);
      if (res.status < 500) {
        await s.putHead({ url, status: res.status, headers: [...res.headers] }).catch(() => {});
      }
      return res;
    }
    let got = await storedFile(s, url);
    if (!got) {
      const filled = await fill(s, url, request.signal);
      if (filled instanceof Response) return filled;
      // Just downloaded and verified: no need to check it again in this load.
      checked.set(url, Promise.resolve(filled));
      got = filled;
    }
    const { meta, blob } = got;
    const range = request.headers.get('range');
    if (range) {
      const r = parseRange(range, blob.size);
      if (!r) return base(request);
      return new Response(blob.slice(r[0], r[1]), {
        status: 206,
        headers: {
          'content-range': `bytes ${r[0]}-${r[1] - 1}/${blob.size}`,
          'content-length': String(r[1] - r[0]),
        },
      });
    }
    const headers: Record<string, string> = { 'content-length': String(blob.size) };
    if (meta.contentType) headers['content-type'] = meta.contentType;
    return new Response(blob, { status: 200, headers });
  };
  Object.defineProperty(fetchFn, FILLS_WHOLE_FILES, { value: true });
  return {
    fetch: fetchFn,
    flush: async () => {
      await Promise.allSettled(downloads.values());
    },
  };
}

/** Deletes the named cache (in Node its folder); true when there was one. */
export async function clearCache(
  cacheName: string = DEFAULT_CACHE,
  options: CacheOptions = {},
): Promise<boolean> {
  const storage = options.caches ?? (typeof caches !== 'undefined' ? caches : undefined);
  if (storage && options.dir === undefined) return storage.delete(cacheName);
  const s = await openStore({ ...options, cache: cacheName });
  if (!s) return false;
  const urls = await s.urls();
  for (const url of urls) await s.delete(url);
  return urls.length > 0;
}

/**
 * A fetch backed by Cache Storage: GET answers come from the named cache when present, and are
 * stored there after a successful download, so loading the same model again uses no network.
 * HEAD answers (the loader's "does this optional file exist?") are cached as well, under a key of
 * their own. A ranged GET (how large files such as a GGUF are read) is answered from the cached
 * whole file; on a miss the whole file is first downloaded into the cache, streamed to disk
 * without being held in memory, with `onDownload` reporting its progress.
 */

/** The key of a HEAD answer: a query string, since cache keys ignore fragments. */
const headKey = (url: string) => `${url}${url.includes('?') ? '&' : '?'}wgpt-head`;

export interface CachedFetch {
  fetch: typeof fetch;
  /** Resolves when every download started so far has been written to the cache. */
  flush(): Promise<void>;
}

/** Bytes [begin, end) of a `Range: bytes=a-b` header (a closed range), or undefined. */
function parseRange(header: string, size: number): [number, number] | undefined {
  const m = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const begin = Number(m[1]);
  const end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  return begin <= end ? [begin, end] : undefined;
}

export function cachedFetch(
  cacheName: string,
  base: typeof fetch = (...a) => fetch(...a),
  onDownload?: (url: string, loaded: number, total: number | undefined) => void,
): CachedFetch {
  const pending = new Set<Promise<void>>();
  const downloads = new Map<string, Promise<boolean>>();
  /** Downloads a whole file into the cache; false when the server did not answer 200. */
  const download = (cache: Cache, url: string, signal?: AbortSignal | null) => {
    let p = downloads.get(url);
    if (!p) {
      p = (async () => {
        const res = await base(url, { signal });
        if (res.status !== 200 || !res.body) return false;
        const header = res.headers.get('content-length');
        const total = header && /^\d+$/.test(header) ? Number(header) : undefined;
        let loaded = 0;
        const counted = res.body.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, out) {
              loaded += chunk.length;
              onDownload?.(url, loaded, total);
              out.enqueue(chunk);
            },
          }),
        );
        await cache.put(
          url,
          new Response(counted, { status: 200, statusText: res.statusText, headers: res.headers }),
        );
        return true;
      })().finally(() => downloads.delete(url));
      downloads.set(url, p);
    }
    return p;
  };
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const method = request.method.toUpperCase();
    if (typeof caches === 'undefined' || (method !== 'GET' && method !== 'HEAD')) return base(request);
    const cache = await caches.open(cacheName);
    const url = request.url.split('#')[0];
    if (method === 'HEAD') {
      const hit = (await cache.match(url)) ?? (await cache.match(headKey(url)));
      if (hit)
        return new Response(null, { status: hit.status, statusText: hit.statusText, headers: hit.headers });
      const res = await base(request);
      if (res.status < 500) {
        const stored = new Response(null, {
          status: res.status,
          statusText: res.statusText,
          headers: res.headers,
        });
        await cache.put(headKey(url), stored).catch(() => {});
      }
      return res;
    }
    const range = request.headers.get('range');
    if (range) {
      let whole = await cache.match(url);
      if (!whole && (await download(cache, url, request.signal))) whole = await cache.match(url);
      if (!whole) return base(request);
      const blob = await whole.blob();
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
    const hit = await cache.match(url);
    if (hit) return hit;
    const res = await base(request);
    // Only whole, successful answers; the copy is written while the caller streams the original.
    if (res.status === 200) {
      const put = cache
        .put(url, res.clone())
        .catch((e) => console.warn(`wgpt: could not cache ${url}: ${e}`))
        .finally(() => pending.delete(put));
      pending.add(put);
    }
    return res;
  };
  return {
    fetch: fetchFn,
    flush: async () => {
      await Promise.all(pending);
    },
  };
}

/** Deletes the named cache; true when there was one. */
export async function clearCache(cacheName: string): Promise<boolean> {
  return typeof caches === 'undefined' ? false : caches.delete(cacheName);
}

/**
 * A fetch backed by Cache Storage: GET answers come from the named cache when present, and are
 * stored there after a successful download, so loading the same model again uses no network.
 * HEAD answers (the loader's "does this optional file exist?") are cached as well, under a key of
 * their own.
 */

/** The key of a HEAD answer: a query string, since cache keys ignore fragments. */
const headKey = (url: string) => `${url}${url.includes('?') ? '&' : '?'}wgpt-head`;

export interface CachedFetch {
  fetch: typeof fetch;
  /** Resolves when every download started so far has been written to the cache. */
  flush(): Promise<void>;
}

export function cachedFetch(cacheName: string, base: typeof fetch = (...a) => fetch(...a)): CachedFetch {
  const pending = new Set<Promise<void>>();
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

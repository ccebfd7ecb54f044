/**
 * The model store in a browser: one Cache Storage cache. A file is an entry under its URL; its
 * metadata (a JSON CachedFile) and a HEAD answer are entries under the URL with a `wgpt-meta` /
 * `wgpt-head` query parameter (cache keys ignore fragments). A file streams into the cache as it
 * downloads; a download that fails or does not match its checksum errors that stream, so the
 * entry is never written.
 */
import type { CachedFile, CachedHead, ModelStore, StoreWriter } from './store';

const SUFFIXES = ['wgpt-meta', 'wgpt-head'] as const;
const keyOf = (url: string, kind: (typeof SUFFIXES)[number]) =>
  `${url}${url.includes('?') ? '&' : '?'}${kind}`;
/** A cache key back to the URL it is about. */
const urlOfKey = (key: string) => key.replace(/[?&]wgpt-(meta|head)$/, '');

export class CacheStorageStore implements ModelStore {
  readonly describe: string;
  constructor(
    private readonly name: string,
    private readonly storage: CacheStorage = caches,
  ) {
    this.describe = `Cache Storage '${name}'`;
  }

  private open(): Promise<Cache> {
    return this.storage.open(this.name);
  }

  async get(url: string): Promise<{ meta: CachedFile; blob: Blob } | undefined> {
    const cache = await this.open();
    const metaAnswer = await cache.match(keyOf(url, 'wgpt-meta'));
    if (!metaAnswer) return undefined;
    const file = await cache.match(url);
    if (!file) return undefined;
    return { meta: (await metaAnswer.json()) as CachedFile, blob: await file.blob() };
  }

  async writer(url: string): Promise<StoreWriter> {
    const cache = await this.open();
    // Old metadata first: an overwrite interrupted half-way must not look complete.
    await cache.delete(keyOf(url, 'wgpt-meta'));
    const pipe = new TransformStream<Uint8Array, Uint8Array>();
    const writer = pipe.writable.getWriter();
    const put = cache.put(url, new Response(pipe.readable, { status: 200 }));
    let putError: unknown;
    put.catch((e) => (putError = e));
    return {
      async write(chunk) {
        if (putError) throw putError;
        await writer.write(chunk);
      },
      async abort(reason) {
        await writer.abort(reason).catch(() => {});
        await put.catch(() => {});
        await cache.delete(url);
      },
      async commit(meta) {
        await writer.close();
        await put;
        await cache.put(
          keyOf(url, 'wgpt-meta'),
          new Response(JSON.stringify(meta), { headers: { 'content-type': 'application/json' } }),
        );
      },
    };
  }

  async getHead(url: string): Promise<CachedHead | undefined> {
    const hit = await (await this.open()).match(keyOf(url, 'wgpt-head'));
    return hit ? { url, status: hit.status, headers: [...hit.headers] } : undefined;
  }

  async putHead(head: CachedHead): Promise<void> {
    const init = { status: head.status, headers: new Headers(head.headers) };
    await (await this.open()).put(keyOf(head.url, 'wgpt-head'), new Response(null, init));
  }

  async list(): Promise<CachedFile[]> {
    const cache = await this.open();
    const out: CachedFile[] = [];
    for (const req of await cache.keys()) {
      if (!/[?&]wgpt-meta$/.test(req.url)) continue;
      const hit = await cache.match(req);
      if (hit) out.push((await hit.json()) as CachedFile);
    }
    return out;
  }

  async urls(): Promise<string[]> {
    const keys = await (await this.open()).keys();
    return [...new Set(keys.map((r) => urlOfKey(r.url)))];
  }

  async delete(url: string): Promise<boolean> {
    const cache = await this.open();
    const gone = await Promise.all(
      [url, keyOf(url, 'wgpt-meta'), keyOf(url, 'wgpt-head')].map((k) => cache.delete(k)),
    );
    return gone.some(Boolean);
  }
}

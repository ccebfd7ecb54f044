/**
 * The download and cache API in the page, for e2e/cache.spec.ts: the spec calls
 * `window.wgptCache` functions with page.evaluate against its own HTTP server.
 */
import { cachedModelSize, evictCachedModel, listCachedModels } from '../src/cache/api';
import { openSource } from '../src/checkpoint/source';
import { cachedFetch } from '../src/worker/cache';

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Reads bytes [begin, end) of `folder/name` through the Cache Storage fetch; the range's sha256 and the file's size. */
async function readThroughCache(folder: string, name: string, begin: number, end: number) {
  const cf = cachedFetch(undefined, undefined, undefined, { retryDelayMs: 10 });
  const src = openSource(folder, { fetch: cf.fetch, download: { retryDelayMs: 10 } });
  const bytes = await src.readRange(name, begin, end);
  return { sha256: await sha256(bytes), size: await src.size(name) };
}

/** The error a read through the cache fails with: its name, code and message. */
async function failingRead(folder: string, name: string) {
  try {
    await readThroughCache(folder, name, 0, 1);
    return undefined;
  } catch (e) {
    const err = e as Error & { code?: string };
    return { name: err.name, code: err.code, message: err.message };
  }
}

const api = { readThroughCache, failingRead, listCachedModels, cachedModelSize, evictCachedModel, sha256 };

declare global {
  interface Window {
    wgptCache?: typeof api;
  }
}
window.wgptCache = api;
document.getElementById('log')!.textContent = 'ready';

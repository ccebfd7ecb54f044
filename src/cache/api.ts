/**
 * The model cache from the API: list what is cached, per model, with sizes; size one model;
 * evict one model. The same calls work in a browser (Cache Storage, what the demo's worker fills)
 * and in Node (a folder, filled when a load passes `fetch: cachedFetch().fetch`).
 */
import { CacheStorageStore } from './cache-storage';
import { DiskStore, defaultCacheDir } from './disk';
import { type CachedFile, type ModelStore, modelOf, modelOfSource } from './store';

export interface CacheOptions {
  /** The cache's name (default 'wgpt-models'): a Cache Storage cache, or in Node ~/.cache/wgpt/models. */
  cache?: string;
  /** Node: the folder to keep files in (instead of the one the name gives). */
  dir?: string;
  /** The CacheStorage to use instead of the global `caches`. */
  caches?: CacheStorage;
}

export const DEFAULT_CACHE = 'wgpt-models';

const isNode = (): boolean =>
  typeof process !== 'undefined' && typeof process.versions === 'object' && !!process.versions?.node;

/** The store the options name: Cache Storage where it exists, else a folder in Node; undefined elsewhere. */
export async function openStore(o: CacheOptions = {}): Promise<ModelStore | undefined> {
  const name = o.cache ?? DEFAULT_CACHE;
  if (o.dir !== undefined) return new DiskStore(o.dir);
  const storage = o.caches ?? (typeof caches !== 'undefined' ? caches : undefined);
  if (storage) return new CacheStorageStore(name, storage);
  if (isNode()) return new DiskStore(await defaultCacheDir(name));
  return undefined;
}

/** One cached model: its files and their bytes in all. */
export interface CachedModel {
  /** 'owner/name' for a Hugging Face repo (with '@revision' when not main), else the folder URL. */
  model: string;
  bytes: number;
  files: CachedFile[];
}

/** Every cached model, largest first. */
export async function listCachedModels(o: CacheOptions = {}): Promise<CachedModel[]> {
  const store = await openStore(o);
  if (!store) return [];
  const models = new Map<string, CachedModel>();
  for (const file of await store.list()) {
    let m = models.get(file.model);
    if (!m) models.set(file.model, (m = { model: file.model, bytes: 0, files: [] }));
    m.files.push(file);
    m.bytes += file.size;
  }
  for (const m of models.values()) m.files.sort((a, b) => a.file.localeCompare(b.file));
  return [...models.values()].sort((a, b) => b.bytes - a.bytes || a.model.localeCompare(b.model));
}

type SourceName = string | { repo: string; file?: string };

/** Bytes cached for a model, named as `loadModel` takes it ('owner/name', a URL, `{ repo, file }`); 0 when none. */
export async function cachedModelSize(source: SourceName, o: CacheOptions = {}): Promise<number> {
  const model = modelOfSource(source);
  const found = (await listCachedModels(o)).find((m) => m.model === model);
  return found?.bytes ?? 0;
}

/** Removes everything cached for a model (files and remembered HEAD answers); returns the files and bytes removed. */
export async function evictCachedModel(
  source: SourceName,
  o: CacheOptions = {},
): Promise<{ files: number; bytes: number }> {
  const store = await openStore(o);
  if (!store) return { files: 0, bytes: 0 };
  const model = modelOfSource(source);
  const files = (await store.list()).filter((f) => f.model === model);
  for (const url of await store.urls()) if (modelOf(url).model === model) await store.delete(url);
  return { files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) };
}

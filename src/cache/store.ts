/**
 * Where downloaded model files are kept, behind one interface: Cache Storage in a browser
 * (./cache-storage.ts) and a folder in Node (./disk.ts). Each file is stored with its metadata
 * (URL, model, size, sha256), written only after the file itself, so a file without metadata is
 * an interrupted write and counts as absent. Files are grouped by model: a Hugging Face repo id for
 * the hub's resolve URLs, else the URL's folder.
 */
import { createSha256 } from '../checkpoint/download';

/** One stored file. */
export interface CachedFile {
  url: string;
  /** The model it belongs to (`modelOf(url)`). */
  model: string;
  /** Its path inside the model ("model.safetensors", "sub/x.gguf"). */
  file: string;
  size: number;
  /** sha256 (hex) of the stored bytes. */
  sha256?: string;
  /** True when the server reported a sha256 and the download matched it. */
  verified: boolean;
  contentType?: string;
  /** When it was stored (ms since the epoch). */
  storedAt: number;
}

/** A HEAD answer kept so that "does this optional file exist?" needs no network the next time. */
export interface CachedHead {
  url: string;
  status: number;
  headers: [string, string][];
}

/** Receives one file's bytes; nothing is visible in the store before `commit`. */
export interface StoreWriter {
  write(chunk: Uint8Array): Promise<void>;
  /** Drops what was written (the download failed, or restarts). */
  abort(reason: unknown): Promise<void>;
  commit(meta: CachedFile): Promise<void>;
}

export interface ModelStore {
  /** In words, for messages: "Cache Storage 'wgpt-models'", "folder ~/.cache/wgpt/models". */
  readonly describe: string;
  /** A stored file as it is (see `checkStored` for whether it is intact). */
  get(url: string): Promise<{ meta: CachedFile; blob: Blob } | undefined>;
  writer(url: string): Promise<StoreWriter>;
  getHead(url: string): Promise<CachedHead | undefined>;
  putHead(head: CachedHead): Promise<void>;
  /** Every stored file's metadata. */
  list(): Promise<CachedFile[]>;
  /** Every URL with something stored (files, HEAD answers, unfinished writes). */
  urls(): Promise<string[]>;
  /** Removes what is stored for a URL (file, metadata, HEAD answer); true when there was something. */
  delete(url: string): Promise<boolean>;
}

/** Files up to this size are hashed again on every use; larger ones are checked by size only. */
export const REHASH_LIMIT = 256 * 1024 * 1024;

/**
 * Whether a stored file is intact: its size is the stored size and, up to REHASH_LIMIT bytes,
 * its sha256 the stored sha256. Returns why not, or undefined when it is.
 */
export async function checkStored(meta: CachedFile, blob: Blob): Promise<string | undefined> {
  if (blob.size !== meta.size) return `holds ${blob.size} bytes, ${meta.size} were stored`;
  if (!meta.sha256 || meta.size > REHASH_LIMIT) return undefined;
  const hasher = await createSha256();
  const reader = blob.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hasher.update(value);
  }
  const got = hasher.hex();
  return got === meta.sha256 ? undefined : `checksum mismatch: expected ${meta.sha256} got ${got}`;
}

const HUB =
  /^https:\/\/(?:huggingface\.co|hf\.co)\/(?:(datasets|spaces)\/)?([^/?#]+\/[^/?#]+)\/resolve\/([^/?#]+)\/([^?#]+)/;

/** The model and file a URL belongs to: 'owner/name' (with '@revision' when not main) for the hub, else the URL's folder. */
export function modelOf(url: string): { model: string; file: string } {
  const hub = HUB.exec(url);
  if (hub) {
    const [, kind, repo, revision, file] = hub;
    const rev = decodeURIComponent(revision);
    const model = `${kind ? `${kind}/` : ''}${repo}${rev === 'main' ? '' : `@${rev}`}`;
    return { model, file: file.split('/').map(decodeURIComponent).join('/') };
  }
  const clean = url.split(/[?#]/)[0];
  const cut = clean.lastIndexOf('/');
  return { model: clean.slice(0, cut), file: decodeURIComponent(clean.slice(cut + 1)) };
}

/**
 * The model a `loadModel` source names, as `modelOf` writes it: a repo id ('owner/name',
 * 'owner/name/file.gguf', `{ repo, file }`), a hub URL, a folder URL or a .gguf file's URL.
 */
export function modelOfSource(source: string | { repo: string; file?: string }): string {
  if (typeof source !== 'string') return source.repo;
  if (source.includes('://')) {
    const url = source.replace(/\/+$/, '');
    const repoPage =
      /^https:\/\/(?:huggingface\.co|hf\.co)\/((?:datasets\/|spaces\/)?[^/?#]+\/[^/?#]+)\/?$/.exec(url);
    if (repoPage) return repoPage[1];
    if (HUB.test(`${url}/x`)) return modelOf(`${url}/x`).model;
    if (/\.gguf$/i.test(url)) return modelOf(url).model;
    return url;
  }
  const base = typeof location !== 'undefined' ? location.href : undefined;
  if (/^[./]/.test(source) && base) return modelOfSource(new URL(source, base).href);
  return source.split('/').slice(0, 2).join('/');
}

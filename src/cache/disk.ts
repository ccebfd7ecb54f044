/**
 * The model store in Node: a folder (default `~/.cache/wgpt/models`). Each URL is stored under the
 * first 32 hex digits of its sha256: `<key>.bin` the file, `<key>.json` its metadata (written
 * last, so a file without it is an interrupted write), `<key>.head.json` a HEAD answer, and
 * `<key>.part` a download in progress, renamed to `.bin` once complete and verified.
 */
import type { CachedFile, CachedHead, ModelStore, StoreWriter } from './store';

/** The default folder of a cache name: 'wgpt-models' is ~/.cache/wgpt/models, another name ~/.cache/wgpt/<name>. */
export async function defaultCacheDir(name: string): Promise<string> {
  const { homedir } = await import('node:os');
  const { join } = await import('node:path');
  return join(homedir(), '.cache', 'wgpt', name === 'wgpt-models' ? 'models' : name);
}

export class DiskStore implements ModelStore {
  readonly describe: string;
  constructor(private readonly dir: string) {
    this.describe = `folder ${dir}`;
  }

  private async path(url: string, ext: string): Promise<string> {
    const { createHash } = await import('node:crypto');
    const { join } = await import('node:path');
    return join(this.dir, `${createHash('sha256').update(url).digest('hex').slice(0, 32)}${ext}`);
  }

  private async readJSON<T>(path: string): Promise<T | undefined> {
    const { readFile } = await import('node:fs/promises');
    try {
      return JSON.parse(await readFile(path, 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  async get(url: string): Promise<{ meta: CachedFile; blob: Blob } | undefined> {
    const meta = await this.readJSON<CachedFile>(await this.path(url, '.json'));
    if (!meta || meta.url !== url) return undefined;
    const { openAsBlob } = await import('node:fs');
    try {
      return { meta, blob: await openAsBlob(await this.path(url, '.bin')) };
    } catch {
      return undefined;
    }
  }

  async writer(url: string): Promise<StoreWriter> {
    const { mkdir, open, rename, rm, writeFile } = await import('node:fs/promises');
    await mkdir(this.dir, { recursive: true });
    const [part, bin, json] = await Promise.all(['.part', '.bin', '.json'].map((e) => this.path(url, e)));
    await rm(json, { force: true });
    const handle = await open(part, 'w');
    let closed = false;
    const close = async () => {
      if (!closed) await handle.close();
      closed = true;
    };
    return {
      async write(chunk) {
        let at = 0;
        while (at < chunk.length) at += (await handle.write(chunk, at, chunk.length - at)).bytesWritten;
      },
      async abort() {
        await close();
        await rm(part, { force: true });
      },
      async commit(meta) {
        await handle.sync();
        await close();
        await rename(part, bin);
        await writeFile(json, JSON.stringify(meta, null, 1));
      },
    };
  }

  async getHead(url: string): Promise<CachedHead | undefined> {
    const head = await this.readJSON<CachedHead>(await this.path(url, '.head.json'));
    return head?.url === url ? head : undefined;
  }

  async putHead(head: CachedHead): Promise<void> {
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(this.dir, { recursive: true });
    await writeFile(await this.path(head.url, '.head.json'), JSON.stringify(head));
  }

  private async jsonFiles(): Promise<string[]> {
    const { readdir } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith('.json')).map((n) => join(this.dir, n));
  }

  async list(): Promise<CachedFile[]> {
    const out: CachedFile[] = [];
    for (const path of await this.jsonFiles()) {
      if (path.endsWith('.head.json')) continue;
      const meta = await this.readJSON<CachedFile>(path);
      if (meta?.url) out.push(meta);
    }
    return out;
  }

  async urls(): Promise<string[]> {
    const urls = new Set<string>();
    for (const path of await this.jsonFiles()) {
      const record = await this.readJSON<{ url?: string }>(path);
      if (record?.url) urls.add(record.url);
    }
    return [...urls];
  }

  async delete(url: string): Promise<boolean> {
    const { rm, stat } = await import('node:fs/promises');
    let had = false;
    for (const ext of ['.json', '.bin', '.head.json', '.part']) {
      const path = await this.path(url, ext);
      if (
        await stat(path).then(
          () => true,
          () => false,
        )
      ) {
        had = true;
        await rm(path, { force: true });
      }
    }
    return had;
  }
}

/**
 * Downloads against a real HTTP server on 127.0.0.1 (node:http) that drops connections mid-file,
 * ignores Range, serves a wrong byte under a sha256 header, answers 404/500, answers slowly or
 * stalls; and the model cache (Cache Storage through an in-memory CacheStorage, and the Node
 * folder store): verified fills, corrupt entries fetched again, listing, sizing, eviction.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cachedModelSize, evictCachedModel, listCachedModels } from '../src/cache/api';
import { modelOf, modelOfSource } from '../src/cache/store';
import { openCheckpoint } from '../src/checkpoint/checkpoint';
import { download } from '../src/checkpoint/download';
import { openSource } from '../src/checkpoint/source';
import { ModelLoadError } from '../src/errors';
import { cachedFetch } from '../src/worker/cache';

interface Route {
  body: Uint8Array;
  /** For this many requests, send `dropAt` bytes of the answer and then cut the connection. */
  drops?: number;
  dropAt?: number;
  /** Answer every request with the whole file (200), Range or not. */
  ignoreRange?: boolean;
  /** Headers added to every answer (X-Linked-Etag, ETag). */
  headers?: Record<string, string>;
  status?: number;
  /** Wait this long before answering at all. */
  delayMs?: number;
  /** For this many requests, send `dropAt` bytes and then nothing more (the connection stays open). */
  stalls?: number;
  /** A 302 to this path, with `headers`. */
  redirect?: string;
}

const routes = new Map<string, Route>();
const log: string[] = [];
let server: Server;
let origin = '';
const open = new Set<ServerResponse>();

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', origin).pathname;
  const range = req.headers.range;
  log.push(`${req.method} ${path}${range ? ` ${range}` : ''}`);
  const route = routes.get(path);
  if (!route) {
    res.writeHead(404).end('not found');
    return;
  }
  if (route.redirect) {
    res.writeHead(302, { location: route.redirect, ...route.headers }).end();
    return;
  }
  if (route.status) {
    res.writeHead(route.status).end('no');
    return;
  }
  const size = route.body.length;
  let [begin, end] = [0, size];
  let status = 200;
  const m = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
  if (m && !route.ignoreRange) {
    [begin, end] = [Number(m[1]), m[2] ? Math.min(size, Number(m[2]) + 1) : size];
    status = 206;
  }
  const headers: Record<string, string> = { 'content-length': String(end - begin), ...route.headers };
  if (status === 206) headers['content-range'] = `bytes ${begin}-${end - 1}/${size}`;
  const part = route.body.subarray(begin, end);
  if (req.method === 'HEAD') {
    res.writeHead(status, headers).end();
    return;
  }
  const send = () => {
    res.writeHead(status, headers);
    if (route.drops && route.dropAt !== undefined && route.dropAt < part.length) {
      route.drops--;
      res.write(part.subarray(0, route.dropAt), () => setTimeout(() => res.socket?.destroy(), 20));
    } else if (route.stalls && route.dropAt !== undefined && route.dropAt < part.length) {
      route.stalls--;
      res.write(part.subarray(0, route.dropAt));
    } else {
      res.end(part);
    }
  };
  open.add(res);
  res.on('close', () => open.delete(res));
  if (route.delayMs) setTimeout(send, route.delayMs);
  else send();
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of open) res.socket?.destroy();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  routes.clear();
  log.length = 0;
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const bytes = (n: number) => new Uint8Array(randomBytes(n));
const fast = { retryDelayMs: 1 };
const gets = () => log.filter((l) => l.startsWith('GET'));

async function rejection(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof Error)) throw new Error('expected a rejection');
  return e;
}

describe('download over HTTP', () => {
  it('resumes a dropped connection from the bytes received, and the bytes are exact', async () => {
    const body = bytes(300_000);
    routes.set('/m/f.bin', { body, drops: 2, dropAt: 100_000 });
    const src = openSource(`${origin}/m/`, { download: fast });
    expect(sha256(await src.read('f.bin'))).toBe(sha256(body));
    expect(gets()).toEqual(['GET /m/f.bin', 'GET /m/f.bin bytes=100000-', 'GET /m/f.bin bytes=200000-']);
  });

  it('resumes a dropped range read', async () => {
    const body = bytes(50_000);
    routes.set('/m/f.bin', { body, drops: 1, dropAt: 1000 });
    const src = openSource(`${origin}/m/`, { download: fast });
    const got = await src.readRange('f.bin', 5000, 45_000);
    expect(sha256(got)).toBe(sha256(body.subarray(5000, 45_000)));
    expect(gets()).toEqual(['GET /m/f.bin bytes=5000-44999', 'GET /m/f.bin bytes=6000-44999']);
  });

  it('restarts cleanly when the server ignores Range on resume', async () => {
    const body = bytes(80_000);
    routes.set('/m/f.bin', { body, drops: 1, dropAt: 30_000, ignoreRange: true });
    const restarts: number[] = [];
    const chunks: Uint8Array[] = [];
    const result = await download(`${origin}/m/f.bin`, {
      name: 'f.bin',
      fetch,
      ...fast,
      onData: (c) => void chunks.push(c),
      onRestart: () => {
        restarts.push(chunks.reduce((n, c) => n + c.length, 0));
        chunks.length = 0;
      },
    });
    expect(restarts).toEqual([30_000]);
    expect(result.size).toBe(body.length);
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(body));
    expect(gets()).toEqual(['GET /m/f.bin', 'GET /m/f.bin bytes=30000-']);
  });

  it('gives up after a bounded number of tries without progress', async () => {
    routes.set('/m/f.bin', { body: bytes(1000), drops: 10, dropAt: 0 });
    const src = openSource(`${origin}/m/`, { download: { retries: 2, retryDelayMs: 1 } });
    const e = await rejection(src.read('f.bin'));
    expect(e).toBeInstanceOf(ModelLoadError);
    expect(e.message).toMatch(
      /f\.bin: download from http:\/\/127\.0\.0\.1:\d+\/m\/f\.bin failed 3 times in a row/,
    );
    expect(gets().length).toBe(3);
  });

  it('checks the sha256 the server reports (X-Linked-Etag, ETag, on a redirect) and names a mismatch', async () => {
    const body = bytes(20_000);
    const wrong = body.slice();
    wrong[12_345] ^= 1;
    routes.set('/ok/a.bin', { body, headers: { 'x-linked-etag': `"${sha256(body)}"` } });
    routes.set('/ok/b.bin', { body, headers: { etag: `"${sha256(body)}"` } });
    const src = openSource(`${origin}/ok/`);
    expect(sha256(await src.read('a.bin'))).toBe(sha256(body));
    expect(sha256(await src.read('b.bin'))).toBe(sha256(body));
    // The hub's way: the resolve URL redirects, the sha256 on the redirect, the bytes elsewhere.
    routes.set('/o/n/resolve/main/w.bin', {
      body,
      redirect: '/cdn/w.bin',
      headers: { 'x-linked-etag': `"${sha256(body)}"`, etag: `"${sha256(body)}"` },
    });
    routes.set('/cdn/w.bin', { body: wrong });
    const e = await rejection(openSource(`${origin}/o/n/resolve/main`).read('w.bin'));
    expect(e).toBeInstanceOf(ModelLoadError);
    expect(e.message).toContain(`w.bin: checksum mismatch: expected ${sha256(body)} got ${sha256(wrong)}`);
  });

  it('names the URL and status of a 404 and, after its retries, a 500', async () => {
    const src = openSource(`${origin}/m/`, { download: { retries: 2, retryDelayMs: 1 } });
    const missing = await rejection(src.read('none.bin'));
    expect(missing).toBeInstanceOf(ModelLoadError);
    expect(missing.message).toMatch(
      /none\.bin: not found \(HTTP 404\) at http:\/\/127\.0\.0\.1:\d+\/m\/none\.bin/,
    );
    expect(gets().length).toBe(1);
    log.length = 0;
    routes.set('/m/bad.bin', { body: bytes(1), status: 500 });
    const failing = await rejection(src.read('bad.bin'));
    expect(failing).toBeInstanceOf(ModelLoadError);
    expect(failing.message).toMatch(
      /bad\.bin: .*HTTP 500 Internal Server Error at http:\/\/127\.0\.0\.1:\d+\/m\/bad\.bin/,
    );
    expect(gets().length).toBe(3);
  });

  it('ends a slow answer at the timeout, resumes a stalled one, and stops at the caller’s signal', async () => {
    routes.set('/m/slow.bin', { body: bytes(100), delayMs: 3000 });
    const t0 = Date.now();
    const slow = openSource(`${origin}/m/`, { download: { timeoutMs: 150, retries: 0 } });
    const e = await rejection(slow.read('slow.bin'));
    expect(e).toBeInstanceOf(ModelLoadError);
    expect(e.message).toMatch(/slow\.bin: download from .*slow\.bin failed once: no data for 150 ms/);
    expect(Date.now() - t0).toBeLessThan(2000);

    const body = bytes(10_000);
    routes.set('/m/stall.bin', { body, stalls: 1, dropAt: 4000 });
    const stalled = openSource(`${origin}/m/`, { download: { timeoutMs: 150, retryDelayMs: 1 } });
    expect(sha256(await stalled.read('stall.bin'))).toBe(sha256(body));
    expect(gets().filter((l) => l.includes('stall'))).toEqual([
      'GET /m/stall.bin',
      'GET /m/stall.bin bytes=4000-',
    ]);

    const ctl = new AbortController();
    const aborted = openSource(`${origin}/m/`, { signal: ctl.signal });
    setTimeout(() => ctl.abort(), 100);
    const t1 = Date.now();
    const a = await rejection(aborted.read('slow.bin'));
    expect(a.name).toBe('AbortError');
    expect(Date.now() - t1).toBeLessThan(2000);
  });
});

/** An in-memory CacheStorage: Node has none. A put whose body errors stores nothing, as in browsers. */
class MemoryCache {
  readonly entries = new Map<
    string,
    { body: Uint8Array | null; status: number; headers: [string, string][] }
  >();
  async match(key: RequestInfo | URL): Promise<Response | undefined> {
    const e = this.entries.get(typeof key === 'string' ? key : String((key as Request).url ?? key));
    return e && new Response(e.body as BodyInit | null, { status: e.status, headers: e.headers });
  }
  async put(key: RequestInfo | URL, res: Response): Promise<void> {
    if (res.status === 206) throw new TypeError('Cache.put: a 206 answer');
    const body = res.body ? new Uint8Array(await res.arrayBuffer()) : null;
    this.entries.set(String(key), { body, status: res.status, headers: [...res.headers] });
  }
  async delete(key: RequestInfo | URL): Promise<boolean> {
    return this.entries.delete(String(key));
  }
  async keys(): Promise<Request[]> {
    return [...this.entries.keys()].map((k) => new Request(k));
  }
}
class MemoryCacheStorage {
  readonly caches = new Map<string, MemoryCache>();
  async open(name: string): Promise<MemoryCache> {
    let c = this.caches.get(name);
    if (!c) this.caches.set(name, (c = new MemoryCache()));
    return c;
  }
  async delete(name: string): Promise<boolean> {
    return this.caches.delete(name);
  }
}

describe('the model cache', () => {
  const stores: { kind: string; make(): Promise<{ options: object; cleanup(): Promise<void> }> }[] = [
    {
      kind: 'Cache Storage',
      make: async () => ({
        options: { caches: new MemoryCacheStorage() as unknown as CacheStorage },
        cleanup: async () => {},
      }),
    },
    {
      kind: 'Node folder',
      make: async () => {
        const dir = await mkdtemp(join(tmpdir(), 'wgpt-cache-'));
        return { options: { dir }, cleanup: () => rm(dir, { recursive: true, force: true }) };
      },
    },
  ];
  for (const { kind, make } of stores) {
    it(`${kind}: fills from a dropped download, then answers ranges with no network`, async () => {
      const { options, cleanup } = await make();
      try {
        const body = bytes(200_000);
        routes.set('/m/f.bin', {
          body,
          drops: 1,
          dropAt: 70_000,
          headers: { 'x-linked-etag': sha256(body) },
        });
        const cf = cachedFetch(undefined, undefined, undefined, { ...options, ...fast });
        const src = openSource(`${origin}/m/`, { fetch: cf.fetch });
        expect(sha256(await src.readRange('f.bin', 1000, 2000))).toBe(sha256(body.subarray(1000, 2000)));
        expect(gets()).toEqual(['GET /m/f.bin', 'GET /m/f.bin bytes=70000-']);
        const again = openSource(`${origin}/m/`, { fetch: cf.fetch });
        expect(sha256(await again.read('f.bin'))).toBe(sha256(body));
        expect(await again.size('f.bin')).toBe(body.length);
        expect(gets().length).toBe(2);
        const [model] = await listCachedModels(options);
        expect(model).toMatchObject({ model: `${origin}/m`, bytes: body.length });
        expect(model.files[0]).toMatchObject({
          file: 'f.bin',
          size: body.length,
          sha256: sha256(body),
          verified: true,
        });
      } finally {
        await cleanup();
      }
    });

    it(`${kind}: a file that fails its checksum is refused and never stored`, async () => {
      const { options, cleanup } = await make();
      try {
        const body = bytes(30_000);
        const wrong = body.slice();
        wrong[7] ^= 0x80;
        routes.set('/m/w.bin', { body: wrong, headers: { 'x-linked-etag': `"${sha256(body)}"` } });
        const cf = cachedFetch(undefined, undefined, undefined, { ...options, ...fast });
        const e = await rejection(openSource(`${origin}/m/`, { fetch: cf.fetch }).readRange('w.bin', 0, 10));
        expect(e).toBeInstanceOf(ModelLoadError);
        expect(e.message).toContain(
          `w.bin: checksum mismatch: expected ${sha256(body)} got ${sha256(wrong)}`,
        );
        expect(await listCachedModels(options)).toEqual([]);
        // Only the remembered HEAD answer (the file's size) is left: no bytes, no metadata.
        if ('dir' in options) {
          const left = await readdir(options.dir as string);
          expect(left.filter((n) => !n.endsWith('.head.json'))).toEqual([]);
        } else {
          const storage = (options as { caches: MemoryCacheStorage }).caches;
          const keys = [...(await storage.open('wgpt-models')).entries.keys()];
          expect(keys).toEqual([`${origin}/m/w.bin?wgpt-head`]);
        }
      } finally {
        await cleanup();
      }
    });

    it(`${kind}: a corrupt or truncated cached file is fetched again`, async () => {
      const { options, cleanup } = await make();
      try {
        const body = bytes(40_000);
        routes.set('/m/c.bin', { body });
        // Each read is a new load with its own cachedFetch, which checks a stored file once.
        const read = () =>
          openSource(`${origin}/m/`, {
            fetch: cachedFetch(undefined, undefined, undefined, options).fetch,
          }).read('c.bin');
        await read();
        expect(gets().length).toBe(1);
        for (const damage of [
          (b: Uint8Array) => {
            const c = b.slice();
            c[100] ^= 1;
            return c;
          },
          (b: Uint8Array) => b.subarray(0, 1000),
        ]) {
          if ('dir' in options) {
            const dir = options.dir as string;
            const bin = (await readdir(dir)).find((n) => n.endsWith('.bin'))!;
            await writeFile(join(dir, bin), damage(await readFile(join(dir, bin))));
          } else {
            const cache = await (options as { caches: MemoryCacheStorage }).caches.open('wgpt-models');
            const entry = cache.entries.get(`${origin}/m/c.bin`)!;
            entry.body = damage(entry.body!);
          }
          const before = gets().length;
          expect(sha256(await read())).toBe(sha256(body));
          expect(gets().length).toBe(before + 1);
          await read();
          expect(gets().length).toBe(before + 1);
        }
      } finally {
        await cleanup();
      }
    });

    it(`${kind}: lists, sizes and evicts per model`, async () => {
      const { options, cleanup } = await make();
      try {
        routes.set('/a/x.bin', { body: bytes(1000) });
        routes.set('/a/y.json', { body: bytes(10) });
        routes.set('/b/z.bin', { body: bytes(500) });
        const cf = cachedFetch(undefined, undefined, undefined, options);
        await openSource(`${origin}/a`, { fetch: cf.fetch }).read('x.bin');
        await openSource(`${origin}/a`, { fetch: cf.fetch }).read('y.json');
        expect(await openSource(`${origin}/a`, { fetch: cf.fetch }).has('none.json')).toBe(false);
        await openSource(`${origin}/b`, { fetch: cf.fetch }).read('z.bin');
        const listed = await listCachedModels(options);
        expect(listed.map((m) => [m.model, m.bytes, m.files.map((f) => f.file)])).toEqual([
          [`${origin}/a`, 1010, ['x.bin', 'y.json']],
          [`${origin}/b`, 500, ['z.bin']],
        ]);
        expect(await cachedModelSize(`${origin}/a/`, options)).toBe(1010);
        expect(await evictCachedModel(`${origin}/a`, options)).toEqual({ files: 2, bytes: 1010 });
        expect((await listCachedModels(options)).map((m) => m.model)).toEqual([`${origin}/b`]);
        expect(await cachedModelSize(`${origin}/a`, options)).toBe(0);
        // The remembered "none.json does not exist" went with it: asking again asks the server.
        const heads = log.filter((l) => l.startsWith('HEAD')).length;
        await openSource(`${origin}/a`, { fetch: cf.fetch }).has('none.json');
        expect(log.filter((l) => l.startsWith('HEAD')).length).toBe(heads + 1);
      } finally {
        await cleanup();
      }
    });
  }

  it('loads a checkpoint over a dropping connection through the cache', async () => {
    const dir = new URL('../models/tinystories-656k/', import.meta.url);
    for (const name of await readdir(dir)) {
      if (name.endsWith('.md')) continue;
      const body = new Uint8Array(await readFile(new URL(name, dir)));
      routes.set(`/tiny/${name}`, { body, drops: 1, dropAt: Math.floor(body.length / 3) });
    }
    const store = await mkdtemp(join(tmpdir(), 'wgpt-cache-'));
    try {
      const cf = cachedFetch('wgpt-test', undefined, undefined, { dir: store, ...fast });
      const ckpt = await openCheckpoint(`${origin}/tiny`, { fetch: cf.fetch });
      expect(ckpt.config.layers).toBeGreaterThan(0);
      expect(log.some((l) => /bytes=\d+-$/.test(l))).toBe(true);
      const [model] = await listCachedModels({ dir: store });
      expect(model.model).toBe(`${origin}/tiny`);
    } finally {
      await rm(store, { recursive: true, force: true });
    }
  });
});

describe('models of URLs and sources', () => {
  it('groups hub files by repo and other files by folder', () => {
    expect(modelOf('https://huggingface.co/o/n/resolve/main/sub/a%20b.gguf')).toEqual({
      model: 'o/n',
      file: 'sub/a b.gguf',
    });
    expect(modelOf('https://huggingface.co/o/n/resolve/v1.0/x.json').model).toBe('o/n@v1.0');
    expect(modelOf('https://example.test/m/config.json')).toEqual({
      model: 'https://example.test/m',
      file: 'config.json',
    });
    expect(modelOfSource('o/n')).toBe('o/n');
    expect(modelOfSource('o/n/sub/x.gguf')).toBe('o/n');
    expect(modelOfSource({ repo: 'o/n', file: 'x.gguf' })).toBe('o/n');
    expect(modelOfSource('https://huggingface.co/o/n')).toBe('o/n');
    expect(modelOfSource('https://huggingface.co/o/n/resolve/main')).toBe('o/n');
    expect(modelOfSource('https://example.test/m/')).toBe('https://example.test/m');
    expect(modelOfSource('https://example.test/m/x.gguf')).toBe('https://example.test/m');
  });
});

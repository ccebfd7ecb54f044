/**
 * Downloads and the model cache in Chromium, with the real Cache Storage: a file whose connection
 * drops mid-body is resumed with a Range request and stored whole (sha256 checked against the
 * X-Linked-Etag the server exposes), a second read makes no request, a wrong byte is refused and
 * nothing is stored, and the cache is listed, sized and evicted per model.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const good = new Uint8Array(randomBytes(300_000));
const bad = good.slice();
bad[150_000] ^= 1;
/** Path → bytes served, the sha256 announced, and how many answers still drop at 100 kB. */
const files = new Map<string, { body: Uint8Array; sha: string; drops: number }>();
const log: string[] = [];
let server: Server;
let origin = '';

test.beforeAll(async () => {
  server = createServer((req, res) => {
    const cors = {
      'access-control-allow-origin': '*',
      'access-control-allow-headers': 'range',
      'access-control-expose-headers': 'content-length, content-range, x-linked-etag',
    };
    if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
    const range = req.headers.range;
    log.push(`${req.method} ${req.url}${range ? ` ${range}` : ''}`);
    const file = files.get(req.url ?? '');
    if (!file) return void res.writeHead(404, cors).end();
    const from = Number(/^bytes=(\d+)-$/.exec(range ?? '')?.[1] ?? 0);
    const part = file.body.subarray(from);
    const headers: Record<string, string> = {
      ...cors,
      'content-length': String(part.length),
      'x-linked-etag': `"${file.sha}"`,
    };
    if (range) headers['content-range'] = `bytes ${from}-${file.body.length - 1}/${file.body.length}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD') return void res.end();
    if (file.drops > 0) {
      file.drops--;
      // Drop only after the client has had time to take the bytes in (a loaded machine is slow).
      res.write(part.subarray(0, 100_000), () => setTimeout(() => res.socket?.destroy(), 1000));
    } else res.end(part);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
test.afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

test('Cache Storage: resume, verify, refuse a wrong byte, list, size and evict per model', async ({
  page,
}) => {
  files.set('/a/big.bin', { body: good, sha: sha256(good), drops: 1 });
  files.set('/b/big.bin', { body: good, sha: sha256(good), drops: 0 });
  files.set('/bad/big.bin', { body: bad, sha: sha256(good), drops: 0 });
  await page.goto('/e2e/cache.html');
  await expect(page.locator('#log')).toHaveText('ready');

  const read = (folder: string) =>
    page.evaluate(([f]) => window.wgptCache!.readThroughCache(f, 'big.bin', 1000, 2000), [folder] as const);
  expect(await read(`${origin}/a`)).toEqual({ sha256: sha256(good.subarray(1000, 2000)), size: good.length });
  const gets = () => log.filter((l) => l.startsWith('GET'));
  // The drop is resumed with a Range request from the bytes the client had (all 100 kB sent, or
  // on a slow machine some of them: never from 0).
  const [first, resumed, ...more] = gets();
  expect([first, more]).toEqual(['GET /a/big.bin', []]);
  const from = Number(/^GET \/a\/big\.bin bytes=(\d+)-$/.exec(resumed ?? '')?.[1]);
  expect(from > 0 && from <= 100_000, resumed).toBe(true);
  // Stored: a new reader (another load) makes no request.
  log.length = 0;
  expect(await read(`${origin}/a`)).toEqual({ sha256: sha256(good.subarray(1000, 2000)), size: good.length });
  expect(log).toEqual([]);

  const failure = await page.evaluate((f) => window.wgptCache!.failingRead(f, 'big.bin'), `${origin}/bad`);
  expect(failure).toMatchObject({ name: 'ModelLoadError', code: 'MODEL_LOAD' });
  expect(failure?.message).toContain(`checksum mismatch: expected ${sha256(good)} got ${sha256(bad)}`);

  await read(`${origin}/b`);
  const listed = await page.evaluate(() => window.wgptCache!.listCachedModels());
  expect(listed.map((m) => [m.model, m.bytes, m.files.map((f) => [f.file, f.verified])])).toEqual([
    [`${origin}/a`, good.length, [['big.bin', true]]],
    [`${origin}/b`, good.length, [['big.bin', true]]],
  ]);
  expect(await page.evaluate((m) => window.wgptCache!.cachedModelSize(m), `${origin}/a`)).toBe(good.length);
  expect(await page.evaluate((m) => window.wgptCache!.evictCachedModel(m), `${origin}/a`)).toEqual({
    files: 1,
    bytes: good.length,
  });
  const left = await page.evaluate(() => window.wgptCache!.listCachedModels());
  expect(left.map((m) => m.model)).toEqual([`${origin}/b`]);
  await page.evaluate((m) => window.wgptCache!.evictCachedModel(m), `${origin}/b`);
});

/**
 * The loading part of the bad-input corpus (test/bad-input-cases.ts): every malformed model fails
 * in `openCheckpoint` with the error class of its row and a message naming the file and the
 * tensor, field or entry; a few go through `loadModel` to show that no GPU work starts.
 */
import { describe, expect, it, vi } from 'vitest';
import { openCheckpoint } from '../src/checkpoint/checkpoint';
import { WgptError } from '../src/errors';
import { BAD_INPUTS, type BadInput } from './bad-input-cases';

const gpuCreate = vi.hoisted(() => vi.fn());
vi.mock('../src/gpu/gpu', () => ({ Gpu: { create: gpuCreate } }));
const { loadModel } = await import('../src/model/model');

async function expectRejects(c: BadInput, p: Promise<unknown>) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'it loaded').toBeDefined();
  if (!(e instanceof c.error)) throw e;
  expect(e).toBeInstanceOf(WgptError);
  for (const n of c.names) expect((e as Error).message).toContain(n);
  if (c.tensor !== undefined) expect((e as { tensor?: string }).tensor).toBe(c.tensor);
}

const all = Object.values(BAD_INPUTS).flat();

describe('bad model files', () => {
  it('the corpus has at least 60 loading cases, each named once', () => {
    expect(all.length).toBeGreaterThanOrEqual(60);
    expect(new Set(all.map((c) => c.name)).size).toBe(all.length);
  });

  for (const [section, cases] of Object.entries(BAD_INPUTS)) {
    describe(section, () => {
      it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
        await expectRejects(c, openCheckpoint(c.files()));
      });
    });
  }
});

describe('loadModel of bad files', () => {
  const picked = [
    'index names a shard by a .. segment',
    'NaN in a RMSNorm weight',
    'post_processor of unknown type',
    'unknown dtype F64',
    'version 1',
  ];
  it.each(picked)('%s: rejects before any GPU work', async (name) => {
    const c = all.find((x) => x.name === name)!;
    gpuCreate.mockClear();
    await expectRejects(c, loadModel(c.files()));
    expect(gpuCreate).not.toHaveBeenCalled();
  });
});

describe('a shard index cannot reach outside the model', () => {
  const c = all.find((x) => x.name === 'index names a shard by a .. segment')!;

  it('in a Node folder: nothing outside is read', async () => {
    const { mkdtemp, mkdir, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const root = await mkdtemp(join(tmpdir(), 'wgpt-escape-'));
    const dir = join(root, 'a', 'model');
    await mkdir(dir, { recursive: true });
    const files = c.files();
    for (const [name, v] of Object.entries(files)) await writeFile(join(dir, name), v);
    // The file the index points at exists, and is a valid shard: only the name check stops it.
    await mkdir(join(root, 'somewhere'), { recursive: true });
    await writeFile(join(root, 'somewhere', 'model.safetensors'), files['model-00002-of-00002.safetensors']);
    await expectRejects(c, openCheckpoint(dir));
  });

  it('at a URL: nothing outside the prefix is fetched', async () => {
    const files = c.files();
    const urls: string[] = [];
    const fetch = (async (input: RequestInfo | URL) => {
      const url = String(input);
      urls.push(url);
      const name = url.slice('https://models.test/org/model/'.length);
      const body = files[name];
      if (body === undefined) return new Response('no', { status: 404 });
      const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
      return new Response(bytes as Uint8Array<ArrayBuffer>, {
        headers: { 'content-length': String(bytes.length) },
      });
    }) as typeof globalThis.fetch;
    await expectRejects(c, openCheckpoint('https://models.test/org/model', { fetch }));
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.every((u) => u.startsWith('https://models.test/org/model/'))).toBe(true);
    // Neither the escaping shard nor the valid ones were read: the index fails as a whole first.
    expect(urls.filter((u) => /somewhere|model-0000/.test(u))).toEqual([]);
  });
});

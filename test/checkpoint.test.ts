/** Which checkpoint a source names, and reading a GGUF over HTTP in ranges (no GPU). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../src/checkpoint/checkpoint';
import { ropeFrequencies } from '../src/checkpoint/rope';
import { ModelLoadError } from '../src/errors';
import { randomModel } from '../src/model/testing';
import { ggufFromHf } from './gguf-model';
import { ggufTensor } from './gguf-writer';

const GGUF_PATH = fileURLToPath(new URL('../models/stories260K-gguf/stories260K.gguf', import.meta.url));
const bytes = readFileSync(GGUF_PATH);

/** A server of one file that answers HEAD, ranged and whole GETs, logging every request. */
function server(path: string, log: string[], ranges = true): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const range = new Headers(init?.headers).get('range');
    log.push(`${init?.method ?? 'GET'} ${url}${range ? ` ${range}` : ''}`);
    if (new URL(url).pathname !== path) return new Response('no', { status: 404 });
    const headers = { 'content-length': String(bytes.length) };
    if (init?.method === 'HEAD') return new Response(null, { headers });
    const m = /^bytes=(\d+)-(\d+)$/.exec(range ?? '');
    if (!m || !ranges) return new Response(bytes, { headers });
    const [b, e] = [Number(m[1]), Math.min(bytes.length - 1, Number(m[2]))];
    return new Response(bytes.subarray(b, e + 1), {
      status: 206,
      headers: { 'content-range': `bytes ${b}-${e}/${bytes.length}`, 'content-length': String(e - b + 1) },
    });
  }) as typeof fetch;
}

describe('openCheckpoint', () => {
  it('reads a GGUF from a local path, and from a folder holding only it', async () => {
    const a = await openCheckpoint(GGUF_PATH);
    expect(a.format).toBe('gguf');
    expect(a.config).toMatchObject({ arch: 'llama', layers: 5, hidden: 64, vocabSize: 512 });
    expect(a.tensorFormats).toEqual({ f32: 48 });
    const b = await openCheckpoint(fileURLToPath(new URL('../models/stories260K-gguf', import.meta.url)));
    expect(b.format).toBe('gguf');
    expect(b.tensorBytes).toBe(a.tensorBytes);
  });

  it("resolves 'owner/repo/file.gguf' and { repo, file } to the hub and reads only ranges", async () => {
    for (const source of [
      'someone/stories/sub/stories260K.gguf',
      { repo: 'someone/stories', file: 'sub/stories260K.gguf' },
    ]) {
      const log: string[] = [];
      const ckpt = await openCheckpoint(source, {
        fetch: server('/someone/stories/resolve/main/sub/stories260K.gguf', log),
      });
      expect(ckpt.format).toBe('gguf');
      expect(
        log.every((l) =>
          l.includes('https://huggingface.co/someone/stories/resolve/main/sub/stories260K.gguf'),
        ),
      ).toBe(true);
      // The header, then the norms: never a whole-file GET.
      expect(log.filter((l) => l.startsWith('GET') && !l.includes('bytes='))).toEqual([]);
      const w = ckpt.weights.layers[0].qkv.parts[0];
      const row = await w.read(0, 16);
      expect(row.length).toBe(16);
    }
  });

  it('falls back to one whole download when a server ignores ranges', async () => {
    const log: string[] = [];
    const ckpt = await openCheckpoint('https://models.test/m/stories260K.gguf', {
      fetch: server('/m/stories260K.gguf', log, false),
    });
    expect(ckpt.config.layers).toBe(5);
    expect(log.filter((l) => l.startsWith('GET')).length).toBe(1);
  });

  it('reads Llama 3.1-style rotary frequency factors (rope_freqs.weight) and checks their shape', async () => {
    const files = randomModel('llama', { C: 32, NH: 2, L: 1, V: 16, F: 32, ctx: 16 }, 1);
    const factors = Float32Array.from({ length: 8 }, (_, i) => 1 + i / 2);
    const extra = [ggufTensor('rope_freqs.weight', 'f32', [8], factors)];
    const ckpt = await openCheckpoint({ 'm.gguf': ggufFromHf(files, undefined, extra) });
    expect(ckpt.config.rope?.freqFactors).toEqual(factors);
    const plain = (await openCheckpoint({ 'm.gguf': ggufFromHf(files) })).config.rope!;
    const scaled = ropeFrequencies(ckpt.config.rope!);
    const base = ropeFrequencies(plain);
    for (let i = 0; i < 8; i++) expect(scaled[i]).toBeCloseTo(base[i] / factors[i], 7);
    const wrong = [ggufTensor('rope_freqs.weight', 'f32', [6], new Float32Array(6).fill(1))];
    await expect(openCheckpoint({ 'm.gguf': ggufFromHf(files, undefined, wrong) })).rejects.toThrow(
      /rope_freqs\.weight|\[8\]/,
    );
  });

  it('asks which GGUF to load when a folder holds several, and names a missing file', async () => {
    const two = { 'a.gguf': bytes, 'b.gguf': bytes };
    await expect(openCheckpoint(two)).rejects.toThrow(/2 GGUF files \(a\.gguf, b\.gguf\)/);
    await expect(
      openCheckpoint('https://models.test/m/none.gguf', { fetch: server('/m/other.gguf', []) }),
    ).rejects.toBeInstanceOf(ModelLoadError);
  });
});

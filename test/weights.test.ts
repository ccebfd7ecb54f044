import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../src/checkpoint/checkpoint';
import { parseSafetensorsHeader, tensorToF32 } from '../src/checkpoint/safetensors';
import { openSource } from '../src/checkpoint/source';
import { ModelFormatError, ModelLoadError } from '../src/errors';
import { cpuWeights } from '../src/model/cpu-ops';
import { randomModel, writeSafetensors } from '../src/model/testing';
import type { LoadProgress } from '../src/types';

const dir = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const gpt2Dims = { C: 48, NH: 3, HS: 16, L: 2, V: 67, F: 172, ctx: 64 };
const llamaDims = { C: 64, NH: 4, NKV: 2, HS: 16, L: 2, V: 67, F: 172, ctx: 64 };

/** A checkpoint's config and its weights decoded to f32 (what the CPU reference runs). */
async function load(source: Parameters<typeof openCheckpoint>[0]) {
  const ckpt = await openCheckpoint(source);
  return { config: ckpt.config, weights: await cpuWeights(ckpt.weights), stored: ckpt.weights };
}

/** The raw f32 of a tensor in a random model's safetensors. */
function tensor(files: Record<string, Uint8Array | string>, name: string): Float32Array {
  const bytes = files['model.safetensors'] as Uint8Array;
  const info = parseSafetensorsHeader('m', bytes, bytes.length).tensors.find((t) => t.name === name)!;
  return tensorToF32(info, bytes);
}

async function expectError<T>(p: Promise<unknown>, cls: new (...a: never[]) => T, ...patterns: RegExp[]) {
  const err = await p.then(
    () => undefined,
    (e) => e,
  );
  expect(err).toBeInstanceOf(cls);
  for (const re of patterns) expect((err as Error).message).toMatch(re);
  return err as T;
}

describe('loadWeights', () => {
  it('loads the real tinystories model, resolving the embedding alias from __metadata__', async () => {
    const { weights: w } = await load(dir('../models/tinystories-656k'));
    expect(w.lmHead).toBe(w.wte);
    expect(w.wte).toMatchObject({ rows: 2048, cols: 128, name: 'lm_head.weight' });
    expect(w.layers).toHaveLength(2);
    // q (8 heads x 16) + k, v (4 heads x 16 each), stacked into one map.
    expect(w.layers[0].qkv).toMatchObject({
      layout: 'NK',
      N: 256,
      K: 128,
      name: 'model.layers.0.self_attn.q_proj.weight + model.layers.0.self_attn.k_proj.weight + model.layers.0.self_attn.v_proj.weight',
    });
    expect(w.layers[1].gateUp).toMatchObject({ N: 768, K: 128 });
    expect(w.layers[1].down).toMatchObject({ N: 128, K: 384 });
    expect(w.layers[0].qkv.b).toBeUndefined();
    expect(w.finalNorm.w.length).toBe(128);
    expect(w.wpe).toBeUndefined();
  });

  it('loads the gpt2-tiny-random fixture: transformer. keys, fused c_attn, tied head', async () => {
    const { weights: w } = await load(dir('./fixtures/gpt2-tiny-random'));
    expect(w.lmHead).toBe(w.wte);
    expect(w.wte).toMatchObject({ rows: 50257, cols: 16 });
    expect(w.wpe).toMatchObject({ rows: 256, cols: 16 });
    expect(w.layers[0].qkv).toMatchObject({ layout: 'KN', N: 48, K: 16 });
    expect(w.layers[0].fc).toMatchObject({ layout: 'KN', N: 64, K: 16 });
    expect(w.layers[0].proj).toMatchObject({ layout: 'KN', N: 16, K: 64 });
  });

  it('keeps c_attn whole as the fused qkv map (random gpt2, odd sizes)', async () => {
    const files = randomModel('gpt2', gpt2Dims, 1);
    const { weights } = await load(files);
    const C = 48;
    const { qkv } = weights.layers[1];
    expect(qkv).toMatchObject({ layout: 'KN', N: 3 * C, K: C });
    expect([...qkv.w]).toEqual([...tensor(files, 'transformer.h.1.attn.c_attn.weight')]);
    expect([...qkv.b!]).toEqual([...tensor(files, 'transformer.h.1.attn.c_attn.bias')]);
    expect(weights.layers[1].fc).toMatchObject({ N: 172, K: 48 });
    expect(weights.lmHead).toBe(weights.wte);
  });

  it('stacks q, k, v and gate, up rows (llama, GQA, with and without biases)', async () => {
    for (const qkvBias of [false, true]) {
      const files = randomModel('llama', { ...llamaDims, qkvBias }, 6);
      const { weights, config } = await load(files);
      const { heads: NH, kvHeads: NKV, headDim: HS, hidden: C, ffn: F } = config;
      const { qkv, gateUp } = weights.layers[1];
      const parts = [
        ['q_proj', NH * HS],
        ['k_proj', NKV * HS],
        ['v_proj', NKV * HS],
      ] as const;
      expect(qkv).toMatchObject({ layout: 'NK', N: (NH + 2 * NKV) * HS, K: C });
      let row = 0;
      for (const [name, N] of parts) {
        const w = tensor(files, `model.layers.1.self_attn.${name}.weight`);
        expect([...qkv.w.subarray(row * C, (row + N) * C)]).toEqual([...w]);
        if (qkvBias) {
          const b = tensor(files, `model.layers.1.self_attn.${name}.bias`);
          expect([...qkv.b!.subarray(row, row + N)]).toEqual([...b]);
        } else expect(qkv.b).toBeUndefined();
        row += N;
      }
      expect(gateUp).toMatchObject({ N: 2 * F, K: C });
      const gate = tensor(files, 'model.layers.1.mlp.gate_proj.weight');
      const up = tensor(files, 'model.layers.1.mlp.up_proj.weight');
      expect([...gateUp!.w.subarray(0, F * C)]).toEqual([...gate]);
      expect([...gateUp!.w.subarray(F * C)]).toEqual([...up]);
    }
  });

  it('accepts GPT-2 keys without the transformer. prefix and a distinct lm_head', async () => {
    const files = randomModel('gpt2', { ...gpt2Dims, tied: false }, 2);
    const bytes = files['model.safetensors'] as Uint8Array;
    const { tensors } = parseSafetensorsHeader('m', bytes, bytes.length);
    const renamed = Object.fromEntries(
      tensors.map((t) => [
        t.name.replace(/^transformer\./, ''),
        { dtype: t.dtype, shape: t.shape, data: tensorToF32(t, bytes) },
      ]),
    );
    const { weights } = await load({ ...files, 'model.safetensors': writeSafetensors(renamed) });
    expect(weights.wte.name).toBe('wte.weight');
    expect(weights.lmHead).not.toBe(weights.wte);
    expect(weights.lmHead.name).toBe('lm_head.weight');
  });

  it('loads llama tied and untied, GQA shapes, and qwen2 biases', async () => {
    const untied = await load(randomModel('llama', llamaDims, 3));
    expect(untied.weights.lmHead).not.toBe(untied.weights.wte);
    expect(untied.weights.layers[0].qkv).toMatchObject({ N: 64 + 2 * 32, K: 64 });
    expect(untied.weights.layers[0].o).toMatchObject({ N: 64, K: 64 });
    const tied = await load(randomModel('llama', { ...llamaDims, tied: true }, 3));
    expect(tied.weights.lmHead).toBe(tied.weights.wte);
    const qwen = await load(randomModel('llama', { ...llamaDims, qkvBias: true }, 4));
    expect(qwen.config.modelType).toBe('qwen2');
    expect(qwen.weights.layers[1].qkv.b?.length).toBe(64 + 2 * 32);
  });

  it('converts F16 and BF16 checkpoints to f32', async () => {
    for (const dtype of ['F16', 'BF16'] as const) {
      const files = randomModel('llama', { ...llamaDims, dtype }, 5);
      const { weights } = await load(files);
      expect([...weights.layers[0].gateUp!.w.subarray(0, 8)]).toEqual([
        ...tensor(files, 'model.layers.0.mlp.gate_proj.weight').subarray(0, 8),
      ]);
    }
  });

  it('reads shards through model.safetensors.index.json', async () => {
    const files = randomModel('llama', llamaDims, 6);
    const bytes = files['model.safetensors'] as Uint8Array;
    const { tensors } = parseSafetensorsHeader('m', bytes, bytes.length);
    const half = Math.ceil(tensors.length / 2);
    const shards = [tensors.slice(0, half), tensors.slice(half)].map((part) =>
      Object.fromEntries(
        part.map((t) => [t.name, { dtype: t.dtype, shape: t.shape, data: tensorToF32(t, bytes) }]),
      ),
    );
    const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const weight_map = Object.fromEntries(shards.flatMap((s, i) => Object.keys(s).map((n) => [n, names[i]])));
    const { 'model.safetensors': _, ...rest } = files;
    const sharded = {
      ...rest,
      'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map }),
      [names[0]]: writeSafetensors(shards[0]),
      [names[1]]: writeSafetensors(shards[1]),
    };
    const { weights } = await load(sharded);
    const whole = await load(files);
    expect([...weights.lmHead.data.subarray(0, 16)]).toEqual([...whole.weights.lmHead.data.subarray(0, 16)]);
    await expectError(
      load({ ...sharded, [names[1]]: new Uint8Array(0) }),
      ModelFormatError,
      /model-00002-of-00002/,
    );
    const { [names[1]]: __, ...missing } = sharded;
    await expectError(load(missing), ModelLoadError, /model-00002-of-00002/);
  });

  it('names file and tensor for a shape that does not match config.json', async () => {
    const files = randomModel('llama', llamaDims, 7);
    const cfg = JSON.parse(files['config.json'] as string);
    const bad = { ...files, 'config.json': JSON.stringify({ ...cfg, num_key_value_heads: 4 }) };
    const e = await expectError(
      load(bad),
      ModelFormatError,
      /model\.safetensors/,
      /model\.layers\.0\.self_attn\.k_proj\.weight/,
      /expected shape \[64, 64\], found \[32, 64\]/,
    );
    expect(e.tensor).toBe('model.layers.0.self_attn.k_proj.weight');
  });

  it('names a missing tensor and the files searched', async () => {
    const files = randomModel('gpt2', gpt2Dims, 8);
    const bytes = files['model.safetensors'] as Uint8Array;
    const { tensors } = parseSafetensorsHeader('m', bytes, bytes.length);
    const kept = Object.fromEntries(
      tensors
        .filter((t) => t.name !== 'transformer.h.1.mlp.c_fc.bias')
        .map((t) => [t.name, { dtype: t.dtype, shape: t.shape, data: tensorToF32(t, bytes) }]),
    );
    await expectError(
      load({ ...files, 'model.safetensors': writeSafetensors(kept) }),
      ModelFormatError,
      /h\.1\.mlp\.c_fc\.bias/,
      /searched model\.safetensors/,
    );
    const cfg = JSON.parse(files['config.json'] as string);
    await expectError(
      load({ ...files, 'config.json': JSON.stringify({ ...cfg, tie_word_embeddings: false }) }),
      ModelFormatError,
      /lm_head\.weight/,
    );
  });

  it('rejects a malformed or truncated file before converting anything', async () => {
    const files = randomModel('llama', llamaDims, 9);
    const bytes = files['model.safetensors'] as Uint8Array;
    await expectError(
      load({ ...files, 'model.safetensors': bytes.subarray(0, 100) }),
      ModelFormatError,
      /model\.safetensors/,
    );
    await expectError(
      load({ ...files, 'model.safetensors': bytes.subarray(0, bytes.length - 4) }),
      ModelFormatError,
      /out of range/,
    );
  });

  it('reports a source with no weights', async () => {
    const { 'model.safetensors': _, ...rest } = randomModel('gpt2', gpt2Dims, 10);
    await expectError(load(rest), ModelLoadError, /model\.safetensors/, /model\.safetensors\.index\.json/);
  });
});

describe('openSource', () => {
  it('matches map keys by basename and reads strings, Blobs and ArrayBuffers', async () => {
    const src = openSource({
      'folder/config.json': '{"a":1}',
      'folder/x.bin': new Blob([new Uint8Array([1, 2])]),
      'y.bin': new Uint8Array([3]).buffer,
    });
    expect(await src.readJSON('config.json')).toEqual({ a: 1 });
    expect([...(await src.read('x.bin'))]).toEqual([1, 2]);
    expect([...(await src.read('y.bin'))]).toEqual([3]);
    expect(await src.has('nope.json')).toBe(false);
    await expectError(src.read('nope.json'), ModelLoadError, /nope\.json/);
  });

  it('reads a Node folder and names a missing file', async () => {
    const d = await mkdtemp(join(tmpdir(), 'wgpt-src-'));
    await writeFile(join(d, 'a.json'), '[1]');
    const src = openSource(d);
    expect(await src.readJSON('a.json')).toEqual([1]);
    expect(await src.has('b.json')).toBe(false);
    await expectError(src.read('b.json'), ModelLoadError, /b\.json/, /not found/);
  });

  function fakeFetch(files: Record<string, Uint8Array>, seen: string[] = []): typeof fetch {
    return (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      seen.push(`${init?.method ?? 'GET'} ${url}`);
      init?.signal?.throwIfAborted();
      const name = url.split('/').pop()!;
      const body = files[name];
      if (!body) return new Response('nope', { status: 404, statusText: 'Not Found' });
      // Two chunks, to see progress stream.
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(body.subarray(0, body.length >> 1));
          c.enqueue(body.subarray(body.length >> 1));
          c.close();
        },
      });
      return new Response(init?.method === 'HEAD' ? null : stream, {
        headers: { 'content-length': String(body.length) },
      });
    }) as typeof fetch;
  }

  it('fetches a Hugging Face repo id with streaming progress; 404 names file and URL', async () => {
    const seen: string[] = [];
    const events: LoadProgress[] = [];
    const body = new Uint8Array(100).fill(7);
    const src = openSource('owner/name', {
      fetch: fakeFetch({ 'f.bin': body }, seen),
      onProgress: (e) => events.push(e),
    });
    expect([...(await src.read('f.bin'))]).toEqual([...body]);
    expect(seen).toEqual(['GET https://huggingface.co/owner/name/resolve/main/f.bin']);
    expect(events.map((e) => e.loaded)).toEqual([0, 50, 100]);
    expect(events.at(-1)).toMatchObject({
      file: 'f.bin',
      total: 100,
      overallLoaded: 100,
      overallTotal: 100,
      phase: 'download',
    });
    expect(await src.has('g.bin')).toBe(false);
    await expectError(
      src.read('g.bin'),
      ModelLoadError,
      /g\.bin/,
      /404/,
      /https:\/\/huggingface\.co\/owner\/name\/resolve\/main\/g\.bin/,
    );
  });

  it('fetches an http folder URL and honors an AbortSignal', async () => {
    const seen: string[] = [];
    const ctl = new AbortController();
    const src = openSource('http://example.test/m/', {
      fetch: fakeFetch({ 'a.txt': new Uint8Array([65]) }, seen),
      signal: ctl.signal,
    });
    expect(await src.readText('a.txt')).toBe('A');
    expect(seen).toEqual(['GET http://example.test/m/a.txt']);
    ctl.abort();
    const err = await src.read('a.txt').catch((e) => e);
    expect((err as Error).name).toBe('AbortError');
  });

  it('tells folders from repo ids', () => {
    expect(openSource('./x').describe).toBe('folder ./x');
    expect(openSource('/abs/x').describe).toBe('folder /abs/x');
    expect(openSource('https://a.test/x').describe).toBe('https://a.test/x');
    expect(openSource('a/b/c').describe).toBe('folder a/b/c');
  });
});

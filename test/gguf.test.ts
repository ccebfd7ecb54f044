import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type GgufHeader, readGgufHeader } from '../src/checkpoint/gguf';
import { ModelFormatError, ModelLoadError } from '../src/errors';
import { BLOCK, type StorageFormat } from '../src/formats/formats';
import {
  encodeTensor,
  type GgufEntry,
  type GgufWriteOptions,
  ggufTensor,
  meta,
  writeGguf,
} from './gguf-writer';
import { randn, rng } from './kernels/harness';

/** Parses in-memory bytes through ranged reads, recording them. */
async function parse(
  bytes: Uint8Array,
  file = 'm.gguf',
  reads: [number, number][] = [],
): Promise<GgufHeader> {
  return readGgufHeader(
    file,
    async (begin, end) => {
      reads.push([begin, end]);
      return bytes.slice(begin, end);
    },
    bytes.length,
  );
}

async function expectFormat(bytes: Uint8Array, ...patterns: RegExp[]): Promise<ModelFormatError> {
  let err: unknown;
  try {
    await parse(bytes, 'bad.gguf');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ModelFormatError);
  expect((err as Error).message).toMatch(/^bad\.gguf/);
  for (const p of patterns) expect((err as Error).message).toMatch(p);
  return err as ModelFormatError;
}

const f32 = (n: number, seed = 1) => randn(n, seed);

/** A small valid file; `over` replaces any part of it. */
function small(over: Partial<GgufWriteOptions> = {}): Uint8Array {
  return writeGguf({
    metadata: [meta.string('general.architecture', 'llama'), meta.u32('llama.block_count', 2)],
    tensors: [ggufTensor('a', 'f32', [4, 2], f32(8)), ggufTensor('b', 'q8_0', [32, 2], f32(64, 2))],
    ...over,
  });
}

/** Overwrites bytes at the first occurrence of an ASCII marker (plus `skip` bytes). */
function patch(bytes: Uint8Array, marker: string, skip: number, values: number[] | Uint8Array): Uint8Array {
  const m = new TextEncoder().encode(marker);
  const out = bytes.slice();
  for (let i = 0; i + m.length <= out.length; i++) {
    if (m.every((b, j) => out[i + j] === b)) {
      out.set(values, i + skip);
      return out;
    }
  }
  throw new Error(`marker ${marker} not found`);
}
const u32le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const u64le = (v: bigint) => Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));

describe('readGgufHeader: metadata', () => {
  const entries: GgufEntry[] = [
    ['t.u8', 'u8', 255],
    ['t.i8', 'i8', -128],
    ['t.u16', 'u16', 65535],
    ['t.i16', 'i16', -32768],
    ['t.u32', 'u32', 4294967295],
    ['t.i32', 'i32', -2147483648],
    ['t.f32', 'f32', 0.1],
    ['t.true', 'bool', true],
    ['t.false', 'bool', false],
    ['t.string', 'string', 'héllo ✓ 日本'],
    ['t.bom', 'string', '\uFEFFbom kept'],
    ['t.empty', 'string', ''],
    ['t.u64.safe', 'u64', 2 ** 53 - 1],
    ['t.u64.big', 'u64', 2n ** 64n - 1n],
    ['t.i64.neg', 'i64', -5],
    ['t.i64.min', 'i64', -(2n ** 63n)],
    ['t.f64', 'f64', Math.PI],
    ['a.strings', 'array', { array: 'string', values: ['<unk>', '', '▁the', 'ü'] }],
    ['a.u8', 'array', { array: 'u8', values: [0, 1, 255] }],
    ['a.i8', 'array', { array: 'i8', values: [-128, 0, 127] }],
    ['a.u16', 'array', { array: 'u16', values: [0, 65535] }],
    ['a.i16', 'array', { array: 'i16', values: [-32768, 32767] }],
    ['a.u32', 'array', { array: 'u32', values: [0, 4294967295] }],
    ['a.i32', 'array', { array: 'i32', values: [-2147483648, 2147483647, -1] }],
    ['a.f32', 'array', { array: 'f32', values: [0.5, -1e-3, 3e38] }],
    ['a.bool', 'array', { array: 'bool', values: [true, false, true] }],
    ['a.u64', 'array', { array: 'u64', values: [1, 2n ** 53n, 2n ** 64n - 1n] }],
    ['a.i64', 'array', { array: 'i64', values: [-1, -(2n ** 63n), 2n ** 63n - 1n] }],
    ['a.f64', 'array', { array: 'f64', values: [Math.E, -0.25] }],
    ['a.empty', 'array', { array: 'u32', values: [] }],
    [
      'a.nested',
      'array',
      {
        array: 'array',
        values: [
          { array: 'string', values: ['x', 'y'] },
          { array: 'array', values: [{ array: 'i32', values: [7] }] },
          { array: 'u8', values: [] },
        ],
      },
    ],
  ];
  const expected: [string, unknown][] = [
    ['t.u8', 255],
    ['t.i8', -128],
    ['t.u16', 65535],
    ['t.i16', -32768],
    ['t.u32', 4294967295],
    ['t.i32', -2147483648],
    ['t.f32', Math.fround(0.1)],
    ['t.true', true],
    ['t.false', false],
    ['t.string', 'héllo ✓ 日本'],
    ['t.bom', '\uFEFFbom kept'],
    ['t.empty', ''],
    ['t.u64.safe', 2 ** 53 - 1],
    ['t.u64.big', 2n ** 64n - 1n],
    ['t.i64.neg', -5],
    ['t.i64.min', -(2n ** 63n)],
    ['t.f64', Math.PI],
    ['a.strings', ['<unk>', '', '▁the', 'ü']],
    ['a.u8', [0, 1, 255]],
    ['a.i8', [-128, 0, 127]],
    ['a.u16', [0, 65535]],
    ['a.i16', [-32768, 32767]],
    ['a.u32', [0, 4294967295]],
    ['a.i32', [-2147483648, 2147483647, -1]],
    ['a.f32', [0.5, Math.fround(-1e-3), Math.fround(3e38)]],
    ['a.bool', [true, false, true]],
    ['a.u64', [1, 2n ** 53n, 2n ** 64n - 1n]],
    ['a.i64', [-1, -(2n ** 63n), 2n ** 63n - 1n]],
    ['a.f64', [Math.E, -0.25]],
    ['a.empty', []],
    ['a.nested', [['x', 'y'], [[7]], []]],
  ];

  it.each([2, 3] as const)('round-trips every value type in version %i, in file order', async (version) => {
    const h = await parse(writeGguf({ version, metadata: entries, tensors: [] }));
    expect(h.version).toBe(version);
    expect(h.alignment).toBe(32);
    expect(h.tensors).toEqual([]);
    expect([...h.metadata.entries()]).toEqual(expected);
  });
});

describe('readGgufHeader: tensors', () => {
  const formats = Object.keys(BLOCK) as StorageFormat[];

  it.each([8, 32, 64, 1])('lays out tensors of every format at alignment %i', async (alignment) => {
    const tensors = formats.map((format, i) => {
      const per = BLOCK[format].elements;
      const dims = i % 2 ? [per * 2, 3] : [per, 1, 2, 1];
      return ggufTensor(
        `t.${format}`,
        format,
        dims,
        f32(
          dims.reduce((a, d) => a * d, 1),
          i + 1,
        ),
      );
    });
    const bytes = writeGguf({ alignment, metadata: [meta.string('general.name', 'x')], tensors });
    const h = await parse(bytes);
    expect(h.alignment).toBe(alignment);
    expect(h.metadata.get('general.alignment')).toBe(alignment === 32 ? undefined : alignment);
    expect(h.dataStart % alignment).toBe(0);
    expect(h.fileSize).toBe(bytes.length);
    expect(h.tensors.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
    for (const [i, t] of h.tensors.entries()) {
      expect(t.format).toBe(tensors[i].format);
      expect(t.dims).toEqual(tensors[i].dims);
      expect(t.byteLength).toBe(tensors[i].data.length);
      expect((t.offset - h.dataStart) % alignment).toBe(0);
      expect(bytes.subarray(t.offset, t.offset + t.byteLength)).toEqual(tensors[i].data);
    }
  });

  it('reads the vendored stories260K.gguf', async () => {
    const bytes = new Uint8Array(
      readFileSync(new URL('../models/stories260K-gguf/stories260K.gguf', import.meta.url)),
    );
    const h = await parse(bytes, 'stories260K.gguf');
    expect(h.version).toBe(3);
    expect(h.alignment).toBe(32);
    expect(h.dataStart).toBe(14176);
    expect(h.metadata.get('general.architecture')).toBe('llama');
    expect(h.metadata.get('llama.block_count')).toBe(5);
    expect(h.metadata.get('llama.embedding_length')).toBe(64);
    expect(h.metadata.get('llama.feed_forward_length')).toBe(172);
    expect(h.metadata.get('llama.attention.head_count')).toBe(8);
    expect(h.metadata.get('llama.attention.head_count_kv')).toBe(4);
    expect(h.metadata.get('llama.context_length')).toBe(2048);
    expect(h.metadata.get('llama.attention.layer_norm_rms_epsilon')).toBe(Math.fround(1e-5));
    expect(h.metadata.get('tokenizer.ggml.model')).toBe('llama');
    const tokens = h.metadata.get('tokenizer.ggml.tokens') as string[];
    expect(tokens).toHaveLength(512);
    expect(tokens.slice(0, 4)).toEqual(['<unk>', '<s>', '</s>', '<0x00>']);
    expect(h.metadata.get('tokenizer.ggml.scores')).toHaveLength(512);
    expect((h.metadata.get('tokenizer.ggml.token_type') as number[]).slice(0, 4)).toEqual([2, 3, 3, 6]);
    expect(h.metadata.get('tokenizer.ggml.bos_token_id')).toBe(1);
    expect(h.metadata.get('tokenizer.ggml.eos_token_id')).toBe(2);

    expect(h.tensors).toHaveLength(3 + 5 * 9);
    expect(h.tensors.every((t) => t.format === 'f32')).toBe(true);
    const dims = Object.fromEntries(h.tensors.map((t) => [t.name, t.dims]));
    expect(dims['token_embd.weight']).toEqual([64, 512]);
    expect(dims['output_norm.weight']).toEqual([64]);
    expect(dims['output.weight']).toEqual([64, 512]);
    for (let l = 0; l < 5; l++) {
      expect(dims[`blk.${l}.attn_q.weight`]).toEqual([64, 64]);
      expect(dims[`blk.${l}.attn_k.weight`]).toEqual([64, 32]);
      expect(dims[`blk.${l}.attn_v.weight`]).toEqual([64, 32]);
      expect(dims[`blk.${l}.attn_output.weight`]).toEqual([64, 64]);
      expect(dims[`blk.${l}.attn_norm.weight`]).toEqual([64]);
      expect(dims[`blk.${l}.ffn_gate.weight`]).toEqual([64, 172]);
      expect(dims[`blk.${l}.ffn_up.weight`]).toEqual([64, 172]);
      expect(dims[`blk.${l}.ffn_down.weight`]).toEqual([172, 64]);
      expect(dims[`blk.${l}.ffn_norm.weight`]).toEqual([64]);
    }
    const first = h.tensors[0];
    expect(first).toMatchObject({ name: 'token_embd.weight', offset: 14176, byteLength: 64 * 512 * 4 });
    const last = h.tensors[h.tensors.length - 1];
    expect(last.offset + last.byteLength).toBe(bytes.length);
  });

  it('reads a 128k-token vocabulary in a few growing ranged reads, never the same bytes twice', async () => {
    const V = 128 * 1024;
    const r = rng(7);
    const tokens = Array.from({ length: V }, (_, i) => `tok${i}_${'ab▁é'.slice(0, 1 + Math.floor(r() * 4))}`);
    const scores = Array.from({ length: V }, (_, i) => -i / 8);
    const bytes = writeGguf({
      metadata: [
        meta.strings('tokenizer.ggml.tokens', tokens),
        meta.f32s('tokenizer.ggml.scores', scores),
        meta.i32s('tokenizer.ggml.token_type', new Array(V).fill(1)),
      ],
      tensors: [ggufTensor('w', 'f32', [1 << 20], new Float32Array(1 << 20))],
    });
    const reads: [number, number][] = [];
    const t0 = performance.now();
    const h = await parse(bytes, 'big.gguf', reads);
    const ms = performance.now() - t0;
    expect(h.metadata.get('tokenizer.ggml.tokens')).toEqual(tokens);
    expect(h.metadata.get('tokenizer.ggml.scores')).toEqual(scores);
    expect(reads.length).toBeLessThanOrEqual(4);
    for (let i = 0; i < reads.length; i++) expect(reads[i][0]).toBe(i ? reads[i - 1][1] : 0);
    expect(reads[reads.length - 1][1]).toBeLessThan(bytes.length); // the 4 MiB tensor is not read
    expect(ms).toBeLessThan(3000);
  });
});

describe('gguf-writer', () => {
  it('encodes f16 and bf16 rounding to nearest even, f32 as is', () => {
    const v = new Float32Array([1, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 65504, 1 + 2 ** -11]);
    const u16s = (b: Uint8Array) => Array.from(new Uint16Array(b.slice().buffer));
    expect(u16s(encodeTensor('bf16', [6], v))).toEqual([0x3f80, 0xc020, 0x3f80, 0x3f82, 0x4780, 0x3f80]);
    expect(u16s(encodeTensor('f16', [6], v))).toEqual([0x3c00, 0xc100, 0x3c04, 0x3c0c, 0x7bff, 0x3c00]);
    expect(new Float32Array(encodeTensor('f32', [6], v).buffer)).toEqual(v);
  });

  it('pads the header and every tensor to the alignment, offsets counting from the data section', async () => {
    const bytes = writeGguf({
      alignment: 64,
      metadata: [],
      tensors: [ggufTensor('a', 'f32', [3], f32(3)), ggufTensor('b', 'f32', [20], f32(20))],
    });
    const h = await parse(bytes);
    expect(h.tensors.map((t) => t.offset - h.dataStart)).toEqual([0, 64]);
    expect(bytes.length).toBe(h.dataStart + 64 + 128);
  });
});

describe('readGgufHeader: malformed files', () => {
  it('bad magic', async () => {
    await expectFormat(small({ magic: 'GGML' }), /bad magic 47 47 4d 4c/, /not a GGUF file/);
  });

  it.each([1, 4, 0, 0x03000000])('unsupported version %i', async (version) => {
    await expectFormat(
      small({ version }),
      new RegExp(`unsupported GGUF version ${version}\\b`),
      /supported: 2, 3/,
    );
  });

  it('names big-endian files', async () => {
    await expectFormat(small({ version: 0x03000000 }), /big-endian/);
  });

  it('truncated header: in the fixed fields, in a key, in a value, in a tensor info', async () => {
    // One pair: key length at 24, 'general.architecture' at 32, type at 52, value length at 56, 'llama' at 64.
    const kv = writeGguf({ metadata: [meta.string('general.architecture', 'llama')], tensors: [] });
    await expectFormat(kv.slice(0, 2), /header truncated: header: magic at byte 0 needs 4 bytes/);
    await expectFormat(kv.slice(0, 20), /header truncated: header: kv_count at byte 16 needs 8 bytes/);
    await expectFormat(
      kv.slice(0, 40),
      /metadata pair 0: key length 20 at byte 24 runs past the end of the file \(40 bytes\)/,
    );
    await expectFormat(
      kv.slice(0, 54),
      /header truncated: metadata key 'general.architecture': value type at byte 52 needs 4 bytes, past the end of the file \(54 bytes\)/,
    );
    await expectFormat(
      kv.slice(0, 66),
      /metadata key 'general.architecture': value length 5 at byte 56 runs past/,
    );
    // One tensor with a 60-byte name at 32: n_dims at 92, dims at 96 and 104, type at 112, offset at 116.
    const name = 'w'.repeat(60);
    const t = writeGguf({ metadata: [], tensors: [ggufTensor(name, 'f32', [4, 2], f32(8))] });
    let e = await expectFormat(
      t.slice(0, 94),
      new RegExp(`header truncated: tensor '${name}': n_dims at byte 92`),
    );
    expect(e.tensor).toBeUndefined();
    await expectFormat(t.slice(0, 100), /tensor 'w+': dims\[0\] at byte 96/);
    e = await expectFormat(t.slice(0, 120), /tensor 'w+': offset at byte 116 needs 8 bytes/);
  });

  it('string lengths past the end of the file, checked before reading', async () => {
    await expectFormat(
      patch(small(), 'general.architecture', 20 + 4, u64le(2n ** 62n)),
      /metadata key 'general.architecture': value length 4611686018427388000 at byte \d+ runs past the end of the file \(\d+ bytes\)/,
    );
    // The first key's length: at byte 24.
    const b = small();
    b.set(u64le(1000n), 24);
    await expectFormat(b, /metadata pair 0: key length 1000 at byte 24 runs past the end/);
  });

  it('array counts that cannot fit in the file, checked before allocating', async () => {
    const bytes = small({ metadata: [meta.strings('tokens', ['a', 'b'])] });
    await expectFormat(
      patch(bytes, 'tokens', 6 + 4 + 4, u64le(2n ** 40n)),
      /metadata key 'tokens': array of string count 1099511627776 at byte \d+ cannot fit in the rest of the file/,
    );
    const nums = small({ metadata: [meta.f32s('scores', [1, 2])] });
    await expectFormat(patch(nums, 'scores', 6 + 4 + 4, u64le(2n ** 33n)), /array of f32 count 8589934592/);
  });

  it('absurd tensor and key-value counts', async () => {
    const t = small();
    t.set(u64le(2n ** 50n), 8);
    await expectFormat(t, /tensor_count 1125899906842624 at byte 8 cannot fit in the rest of the file/);
    const kv = small();
    kv.set(u64le(1000000n), 16);
    await expectFormat(kv, /kv_count 1000000 at byte 16 cannot fit/);
  });

  it('invalid UTF-8 in a key and in a string value', async () => {
    await expectFormat(
      patch(small(), 'general.architecture', 3, [0xc3, 0x28]),
      /metadata pair 0: key at byte 32 is not valid UTF-8/,
    );
    await expectFormat(
      patch(small(), 'llama', 0, [0xff]),
      /metadata key 'general.architecture': value at byte \d+ is not valid UTF-8/,
    );
  });

  it('unknown metadata value types', async () => {
    await expectFormat(
      patch(small(), 'llama.block_count', 17, u32le(13)),
      /key 'llama.block_count': unknown value type 13/,
    );
    const arr = small({ metadata: [meta.i32s('ids', [1])] });
    await expectFormat(patch(arr, 'ids', 3 + 4, u32le(99)), /key 'ids': unknown array element type 99/);
  });

  it('arrays nested too deep', async () => {
    let v: { array: 'array' | 'u8'; values: unknown[] } = { array: 'u8', values: [] };
    for (let i = 0; i < 40; i++) v = { array: 'array', values: [v] };
    await expectFormat(
      small({ metadata: [['deep', 'array', v as never]] }),
      /key 'deep': arrays nested more than 16 deep/,
    );
  });

  it('duplicate and empty keys, duplicate tensor names', async () => {
    await expectFormat(
      small({ metadata: [meta.u32('x', 1), meta.u32('x', 2)] }),
      /duplicate metadata key 'x'/,
    );
    await expectFormat(small({ metadata: [meta.u32('', 1)] }), /metadata pair 0 has an empty key/);
    const e = await expectFormat(
      small({ tensors: [ggufTensor('w', 'f32', [4], f32(4)), ggufTensor('w', 'f32', [4], f32(4))] }),
      /duplicate tensor name 'w'/,
    );
    expect(e.tensor).toBe('w');
  });

  it('general.alignment of the wrong type or not a power of two', async () => {
    await expectFormat(
      small({ metadata: [['general.alignment', 'u64', 32]] }),
      /'general.alignment' must be a u32 power of two, is u64 32/,
    );
    await expectFormat(
      small({ metadata: [meta.u32('general.alignment', 48)] }),
      /must be a u32 power of two, is u32 48/,
    );
    await expectFormat(small({ metadata: [meta.u32('general.alignment', 0)] }), /is u32 0/);
  });

  it('n_dims 0 or more than 4, a dimension of 0, an element count past 2^53', async () => {
    const w = (dims: number[]) =>
      small({ tensors: [{ name: 'w', format: 'f32', dims, data: new Uint8Array(4) }] });
    let e = await expectFormat(w([]), /\(tensor 'w'\): n_dims is 0; must be 1 to 4/);
    expect(e.tensor).toBe('w');
    await expectFormat(w([1, 1, 1, 1, 1]), /tensor 'w'.*n_dims is 5/);
    e = await expectFormat(w([4, 0]), /tensor 'w'.*dims\[1\] is 0/);
    await expectFormat(w([2 ** 27, 2 ** 27]), /dims \[134217728, 134217728\] hold more than 2\^53 elements/);
  });

  it('unsupported and unknown tensor types, naming the type and the supported ones', async () => {
    const typed = (typeId: number) =>
      small({ tensors: [{ ...ggufTensor('w', 'f32', [256], f32(256)), typeId }] });
    const e = await expectFormat(
      typed(10),
      /\(tensor 'w'\): tensor type Q2_K \(ggml type 10\) is not supported; supported: F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, BF16/,
    );
    expect(e.tensor).toBe('w');
    await expectFormat(typed(4), /tensor type Q4_2 \(ggml type 4\) is not supported/);
    await expectFormat(typed(23), /tensor type IQ4_XS/);
    await expectFormat(typed(99), /unknown tensor type id 99 is not supported; supported: F32/);
  });

  it('a row that is not a whole number of blocks', async () => {
    const w = { ...ggufTensor('w', 'f32', [48, 2], f32(96)), format: 'q8_0' as const, typeId: 8 };
    await expectFormat(
      small({ tensors: [w] }),
      /tensor 'w'.*dims\[0\] = 48 is not a multiple of the q8_0 block of 32/,
    );
    const k = { ...ggufTensor('k', 'f32', [128], f32(128)), typeId: 12 };
    await expectFormat(small({ tensors: [k] }), /dims\[0\] = 128 is not a multiple of the q4_k block of 256/);
  });

  it('a tensor offset off the alignment', async () => {
    const bytes = small({ tensors: [{ ...ggufTensor('w', 'f32', [8], f32(8)), offset: 16 }] });
    await expectFormat(bytes, /tensor 'w'.*data offset 16 is not a multiple of the alignment 32/);
  });

  it('tensor data past the end of the file', async () => {
    const bytes = small();
    const b = (await parse(bytes)).tensors[1];
    await expectFormat(
      bytes.slice(0, b.offset + b.byteLength - 1),
      /tensor 'b'.*runs past the end of the file/,
    );
    await parse(bytes.slice(0, b.offset + b.byteLength)); // without the last padding: fine
    await expectFormat(
      small({ tensors: [{ ...ggufTensor('w', 'f32', [8], f32(8)), offset: 2n ** 40n }] }),
      /tensor 'w'.*data \[1099511627\d+, 1099511627\d+\) runs past the end of the file/,
    );
  });

  it('overlapping tensors', async () => {
    const bytes = small({
      tensors: [
        ggufTensor('a', 'f32', [16], f32(16)),
        { ...ggufTensor('b', 'f32', [8], f32(8)), offset: 32 },
        { ...ggufTensor('c', 'f32', [8], f32(8)), offset: 96 },
      ],
    });
    // a covers [0, 64) of the data section, b starts at 32.
    const e = await expectFormat(bytes, /data at byte \d+ overlaps tensor 'a' \[\d+, \d+\)/);
    expect(e.tensor).toBe('b');
  });

  it('a read that returns fewer bytes than asked is a load error', async () => {
    const bytes = small();
    await expect(
      readGgufHeader('short.gguf', async (b, e) => bytes.slice(b, Math.min(e, 40)), bytes.length),
    ).rejects.toThrow(ModelLoadError);
  });

  it('random truncations and byte flips: a header or a ModelFormatError, never anything else', async () => {
    const base = small({
      metadata: [
        meta.string('general.architecture', 'llama'),
        meta.strings('tokenizer.ggml.tokens', ['<s>', 'a', 'bc']),
        meta.f32s('tokenizer.ggml.scores', [0, -1, -2]),
        ['nested', 'array', { array: 'array', values: [{ array: 'u64', values: [1n, 2n ** 60n] }] }],
        ['big', 'u64', 2n ** 63n],
      ],
      tensors: [
        ggufTensor('a', 'f16', [4, 2], f32(8)),
        ggufTensor('b', 'q4_k', [256], f32(256)),
        ggufTensor('c', 'q6_k', [256, 1, 1], f32(256, 3)),
      ],
    });
    const r = rng(2024);
    const headerEnd = (await parse(base)).dataStart;
    let ok = 0;
    let rejected = 0;
    const t0 = performance.now();
    for (let i = 0; i < 400; i++) {
      let bytes = base.slice();
      const kind = i % 4;
      if (kind === 0) bytes = bytes.slice(0, Math.floor(r() * bytes.length));
      else if (kind === 1) {
        for (let k = 1 + Math.floor(r() * 3); k > 0; k--)
          bytes[Math.floor(r() * headerEnd)] ^= 1 + Math.floor(r() * 255);
      } else if (kind === 2) {
        // A plausible-looking huge or tiny 64-bit field somewhere in the header.
        const at = Math.floor(r() * (headerEnd - 8));
        bytes.set(u64le(BigInt(Math.floor(r() * 2 ** 32)) << BigInt(Math.floor(r() * 33))), at);
      } else {
        bytes[Math.floor(r() * headerEnd)] = [0, 0xff, 0x80, 9, 13][Math.floor(r() * 5)];
      }
      try {
        await parse(bytes, 'fuzz.gguf');
        ok++;
      } catch (e) {
        if (!(e instanceof ModelFormatError)) throw new Error(`mutation ${i} threw ${String(e)}`);
        expect(e.message).toMatch(/^fuzz\.gguf/);
        rejected++;
      }
    }
    expect(ok + rejected).toBe(400);
    expect(rejected).toBeGreaterThan(200);
    expect(performance.now() - t0).toBeLessThan(10000);
  });
});

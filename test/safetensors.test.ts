import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSafetensorsHeader, tensorToF32 } from '../src/checkpoint/safetensors';
import { ModelFormatError } from '../src/errors';
import { f32ToBf16, f32ToF16, writeSafetensors } from '../src/model/testing';

/** A file from a raw header object and a data section of `dataBytes` bytes. */
function raw(header: unknown, dataBytes: number, headerText = JSON.stringify(header)): Uint8Array {
  const h = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + h.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  return out;
}
const parse = (bytes: Uint8Array, file = 'm.safetensors') =>
  parseSafetensorsHeader(file, bytes, bytes.length);
const t = (dtype: string, shape: number[], offsets: unknown) => ({ dtype, shape, data_offsets: offsets });

function expectFormat(fn: () => unknown, ...patterns: RegExp[]) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ModelFormatError);
  for (const p of patterns) expect((err as Error).message).toMatch(p);
  return err as ModelFormatError;
}

describe('parseSafetensorsHeader', () => {
  it('reads the real tinystories file with metadata and absolute offsets', () => {
    const bytes = new Uint8Array(
      readFileSync(new URL('../models/tinystories-656k/model.safetensors', import.meta.url)),
    );
    const { tensors, metadata } = parse(bytes, 'model.safetensors');
    expect(metadata['model.embed_tokens.weight']).toBe('lm_head.weight');
    const head = tensors.find((x) => x.name === 'lm_head.weight')!;
    expect(head).toMatchObject({
      dtype: 'F32',
      shape: [2048, 128],
      file: 'model.safetensors',
      begin: 8 + 2160,
    });
    expect(head.end - head.begin).toBe(2048 * 128 * 4);
  });

  it('round-trips F32, F16 and BF16 written by the helper, exactly', () => {
    const vals = new Float32Array([0, -0, 1, -2.5, 65504, 6.103515625e-5, 2 ** -24, 0.1, 1e-9, 3.0e38]);
    const file = writeSafetensors({
      a: { dtype: 'F32', shape: [2, 5], data: vals },
      b: { dtype: 'F16', shape: [10], data: vals },
      c: { dtype: 'BF16', shape: [5, 2], data: vals },
    });
    const { tensors } = parse(file);
    const get = (n: string) => tensorToF32(tensors.find((x) => x.name === n)!, file);
    expect([...get('a')]).toEqual([...vals]);
    const f16 = get('b');
    expect(f16[4]).toBe(65504);
    expect(f16[5]).toBe(6.103515625e-5);
    expect(f16[6]).toBe(2 ** -24);
    expect(f16[7]).toBe(0.0999755859375);
    expect(f16[9]).toBe(Number.POSITIVE_INFINITY);
    expect(Object.is(f16[1], -0)).toBe(true);
    const bf = get('c');
    expect(bf[3]).toBe(-2.5);
    expect(bf[7]).toBe(0.10009765625);
  });

  it('converts f16 and bf16 bit patterns exactly', () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(-2)).toBe(0xc000);
    expect(f32ToBf16(1)).toBe(0x3f80);
    const file = writeSafetensors({ x: { dtype: 'F16', shape: [1], data: new Float32Array([1 / 3]) } });
    expect(tensorToF32(parse(file).tensors[0], file)[0]).toBe(0.333251953125);
  });

  it('rejects a file shorter than 8 bytes', () => {
    expectFormat(() => parse(new Uint8Array(5), 'short.safetensors'), /short\.safetensors/, /8-byte/);
  });

  it('rejects a header length beyond the file', () => {
    const b = raw({}, 0);
    new DataView(b.buffer).setBigUint64(0, 1000n, true);
    expectFormat(() => parse(b), /m\.safetensors/, /header length 1000 goes beyond/);
  });

  it('rejects a header that is not JSON or not an object', () => {
    expectFormat(() => parse(raw(null, 0, '{"a": ')), /not valid JSON/);
    expectFormat(() => parse(raw([1, 2], 0)), /not a JSON object/);
  });

  it('rejects an unknown dtype, naming it and listing the supported ones', () => {
    const e = expectFormat(() => parse(raw({ w: t('I8', [4], [0, 4]) }, 4)), /'w'/, /I8/, /F32, F16, BF16/);
    expect(e.tensor).toBe('w');
  });

  it('rejects data_offsets that are not two integers', () => {
    expectFormat(() => parse(raw({ w: t('F32', [1], [0]) }, 4)), /'w'/, /data_offsets/);
    expectFormat(() => parse(raw({ w: t('F32', [1], [0, 4.5]) }, 4)), /'w'/, /data_offsets/);
  });

  it('rejects offsets out of range', () => {
    expectFormat(() => parse(raw({ w: t('F32', [4], [0, 16]) }, 8)), /'w'/, /out of range/);
    expectFormat(() => parse(raw({ w: t('F32', [0], [4, 0]) }, 8)), /'w'/, /out of range/);
  });

  it('rejects a byte length that does not match the shape', () => {
    expectFormat(
      () => parse(raw({ w: t('F16', [2, 3], [0, 8]) }, 8)),
      /'w'/,
      /byte length 8.*\[2, 3\].*12 bytes/,
    );
  });

  it('rejects overlapping tensors', () => {
    const h = { a: t('F32', [2], [0, 8]), b: t('F32', [2], [4, 12]) };
    expectFormat(() => parse(raw(h, 12)), /'b'/, /overlaps tensor 'a'/);
  });

  it('rejects gaps between tensors and unused bytes at the end', () => {
    const h = { a: t('F32', [1], [0, 4]), b: t('F32', [1], [8, 12]) };
    expectFormat(() => parse(raw(h, 12)), /'b'/, /gap of 4/);
    expectFormat(() => parse(raw({ a: t('F32', [1], [0, 4]) }, 10)), /6 unused bytes at the end/);
  });

  it('accepts the header alone given the full file size', () => {
    const file = writeSafetensors({ a: { dtype: 'F32', shape: [3], data: new Float32Array(3) } });
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    const { tensors } = parseSafetensorsHeader('m', file.subarray(0, 8 + n), file.length);
    expect(tensors[0].end).toBe(file.length);
  });
});

/**
 * A test-side GGUF writer, laid out as llama.cpp's gguf writer lays it out: header, metadata,
 * tensor infos, zero padding to the alignment, then each tensor's data padded to the alignment,
 * offsets counted from the start of the data section. Value types are explicit, so a test can
 * write every type the format has. Overrides (`typeId`, `offset`, counts, magic) write malformed
 * files for the parser's tests.
 */
import { bf16Bits, f16Bits } from '../src/formats/f16';
import type { StorageFormat } from '../src/formats/formats';
import { quantizeQ4_0, quantizeQ8_0 } from '../src/formats/quantize';
import { quantizeQ4_1, quantizeQ4K, quantizeQ5_0, quantizeQ5_1, quantizeQ5K, quantizeQ6K } from './quantize';

export type GgufScalarType =
  | 'u8'
  | 'i8'
  | 'u16'
  | 'i16'
  | 'u32'
  | 'i32'
  | 'f32'
  | 'bool'
  | 'string'
  | 'u64'
  | 'i64'
  | 'f64';
export type GgufType = GgufScalarType | 'array';

/** An array value; `array: 'array'` nests (its values are GgufArray themselves). */
export interface GgufArray {
  array: GgufType;
  values: GgufWriteValue[];
}
export type GgufWriteValue = number | bigint | boolean | string | GgufArray;
export type GgufEntry = [key: string, type: GgufType, value: GgufWriteValue];

export interface GgufWriteTensor {
  name: string;
  format: StorageFormat;
  /** ggml ne[]: dims[0] is the contiguous dimension. */
  dims: number[];
  /** The tensor's bytes (empty in a `headerOnly` write that states `byteLength`). */
  data: Uint8Array;
  /** Bytes of the data when they are not in `data`: a file too large to hold, streamed to disk later. */
  byteLength?: number;
  /** Writes this ggml type id instead of the format's. */
  typeId?: number;
  /** Writes this data offset instead of the computed one (the data is still laid out in order). */
  offset?: number | bigint;
}

export interface GgufWriteOptions {
  version?: number;
  /** Padding of the data section and of each tensor; written as general.alignment unless 32. */
  alignment?: number;
  metadata: GgufEntry[];
  tensors: GgufWriteTensor[];
  magic?: string;
  tensorCount?: number | bigint;
  kvCount?: number | bigint;
  /**
   * Returns only the header padded to the alignment: the tensor data goes after it, each tensor at
   * the data offset `dataOffsets` gives and padded to the alignment (a caller streams it to disk).
   */
  headerOnly?: boolean;
}

export const GGUF_TYPE_ID: Record<GgufType, number> = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  string: 8,
  array: 9,
  u64: 10,
  i64: 11,
  f64: 12,
};

export const GGML_TYPE_ID: Record<StorageFormat, number> = {
  f32: 0,
  f16: 1,
  q4_0: 2,
  q4_1: 3,
  q5_0: 6,
  q5_1: 7,
  q8_0: 8,
  q4_k: 12,
  q5_k: 13,
  q6_k: 14,
  bf16: 30,
};

/** A growing little-endian byte buffer. */
class Bytes {
  private buf = new Uint8Array(1024);
  private dv = new DataView(this.buf.buffer);
  length = 0;
  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      const grown = new Uint8Array(Math.max(2 * this.buf.length, this.length + n));
      grown.set(this.buf);
      this.buf = grown;
      this.dv = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  // Each write reserves first: growing replaces buf and dv.
  u8(v: number) {
    const at = this.reserve(1);
    this.dv.setUint8(at, v);
  }
  u32(v: number) {
    const at = this.reserve(4);
    this.dv.setUint32(at, v, true);
  }
  u64(v: number | bigint) {
    const at = this.reserve(8);
    this.dv.setBigUint64(at, BigInt(v), true);
  }
  bytes(b: Uint8Array) {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }
  string(s: string) {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  pad(alignment: number) {
    this.reserve((alignment - (this.length % alignment)) % alignment);
  }
  scalar(type: GgufScalarType, v: GgufWriteValue) {
    if (type === 'string') return this.string(v as string);
    if (type === 'bool') return this.u8(v ? 1 : 0);
    const size = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8 }[type];
    const at = this.reserve(size);
    const dv = this.dv;
    switch (type) {
      case 'u8':
        return dv.setUint8(at, v as number);
      case 'i8':
        return dv.setInt8(at, v as number);
      case 'u16':
        return dv.setUint16(at, v as number, true);
      case 'i16':
        return dv.setInt16(at, v as number, true);
      case 'u32':
        return dv.setUint32(at, v as number, true);
      case 'i32':
        return dv.setInt32(at, v as number, true);
      case 'f32':
        return dv.setFloat32(at, v as number, true);
      case 'u64':
        return dv.setBigUint64(at, BigInt(v as number | bigint), true);
      case 'i64':
        return dv.setBigInt64(at, BigInt(v as number | bigint), true);
      case 'f64':
        return dv.setFloat64(at, v as number, true);
    }
  }
  value(type: GgufType, v: GgufWriteValue) {
    if (type !== 'array') return this.scalar(type, v);
    const a = v as GgufArray;
    this.u32(GGUF_TYPE_ID[a.array]);
    this.u64(a.values.length);
    for (const e of a.values) this.value(a.array, e);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** A tensor's byte count: its data's, or the stated `byteLength`. */
function tensorBytes(t: GgufWriteTensor): number {
  return t.byteLength ?? t.data.length;
}

/** Each tensor's offset in the data section (in order, each padded to the alignment), and the section's size. */
export function dataOffsets(tensors: GgufWriteTensor[], alignment = 32): { offsets: number[]; size: number } {
  const offsets: number[] = [];
  let size = 0;
  for (const t of tensors) {
    offsets.push(size);
    size += Math.ceil(tensorBytes(t) / alignment) * alignment;
  }
  return { offsets, size };
}

/** Writes a GGUF file (or, with `headerOnly`, everything before its tensor data). */
export function writeGguf(opts: GgufWriteOptions): Uint8Array {
  const alignment = opts.alignment ?? 32;
  const metadata: GgufEntry[] =
    alignment === 32 || opts.metadata.some(([k]) => k === 'general.alignment')
      ? opts.metadata
      : [['general.alignment', 'u32', alignment], ...opts.metadata];
  const out = new Bytes();
  out.bytes(new TextEncoder().encode(opts.magic ?? 'GGUF'));
  out.u32(opts.version ?? 3);
  out.u64(opts.tensorCount ?? opts.tensors.length);
  out.u64(opts.kvCount ?? metadata.length);
  for (const [key, type, value] of metadata) {
    out.string(key);
    out.u32(GGUF_TYPE_ID[type]);
    out.value(type, value);
  }
  const { offsets } = dataOffsets(opts.tensors, alignment);
  opts.tensors.forEach((t, i) => {
    out.string(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(t.typeId ?? GGML_TYPE_ID[t.format]);
    out.u64(t.offset ?? offsets[i]);
  });
  out.pad(alignment);
  if (opts.headerOnly) return out.result();
  for (const t of opts.tensors) {
    if (t.data.length !== tensorBytes(t)) {
      throw new Error(`${t.name}: byteLength ${t.byteLength} but ${t.data.length} bytes of data`);
    }
    out.bytes(t.data);
    out.pad(alignment);
  }
  return out.result();
}

/**
 * A tensor's bytes in a format from f32 values: floats converted (f16, bf16 rounded to nearest
 * even), quantized formats through the quantizers (rows of dims[0] values).
 */
export function encodeTensor(format: StorageFormat, dims: number[], values: Float32Array): Uint8Array {
  const cols = dims[0];
  const rows = values.length / cols;
  switch (format) {
    case 'f32':
      return new Uint8Array(values.slice().buffer);
    case 'f16':
      return new Uint8Array(Uint16Array.from(values, (v) => f16Bits(v)).buffer);
    case 'bf16':
      return new Uint8Array(Uint16Array.from(values, (v) => bf16Bits(v)).buffer);
    case 'q8_0':
      return quantizeQ8_0(values, rows, cols);
    case 'q4_0':
      return quantizeQ4_0(values, rows, cols);
    case 'q4_1':
      return quantizeQ4_1(values, rows, cols).bytes;
    case 'q5_0':
      return quantizeQ5_0(values, rows, cols).bytes;
    case 'q5_1':
      return quantizeQ5_1(values, rows, cols).bytes;
    case 'q4_k':
      return quantizeQ4K(values, rows, cols).bytes;
    case 'q5_k':
      return quantizeQ5K(values, rows, cols).bytes;
    case 'q6_k':
      return quantizeQ6K(values, rows, cols).bytes;
  }
}

/** A tensor entry from f32 values, encoded in `format`. */
export function ggufTensor(
  name: string,
  format: StorageFormat,
  dims: number[],
  values: Float32Array,
): GgufWriteTensor {
  if (values.length !== dims.reduce((a, d) => a * d, 1)) {
    throw new Error(`${name}: ${values.length} values for dims [${dims.join(', ')}]`);
  }
  return { name, format, dims, data: encodeTensor(format, dims, values) };
}

/** Metadata shorthands: [key, type, value] entries. */
export const meta = {
  string: (key: string, v: string): GgufEntry => [key, 'string', v],
  u32: (key: string, v: number): GgufEntry => [key, 'u32', v],
  i32: (key: string, v: number): GgufEntry => [key, 'i32', v],
  f32: (key: string, v: number): GgufEntry => [key, 'f32', v],
  bool: (key: string, v: boolean): GgufEntry => [key, 'bool', v],
  strings: (key: string, v: string[]): GgufEntry => [key, 'array', { array: 'string', values: v }],
  f32s: (key: string, v: number[]): GgufEntry => [key, 'array', { array: 'f32', values: v }],
  i32s: (key: string, v: number[]): GgufEntry => [key, 'array', { array: 'i32', values: v }],
};

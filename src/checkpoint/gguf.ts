/**
 * GGUF (v2, v3) header: everything before the tensor data, read through ranged reads.
 *
 *   magic 'GGUF' | version u32 | tensor_count u64 | kv_count u64
 *   kv_count x     [key string][value type u32][value]
 *   tensor_count x [name string][n_dims u32][dims u64 x n_dims][ggml type u32][offset u64]
 *   padding to general.alignment (default 32) | tensor data
 *
 * Little-endian throughout; a string is a u64 byte length and UTF-8 bytes; an array value is
 * [element type u32][count u64][elements]. dims are ggml's ne[]: dims[0] is the contiguous one, so
 * a PyTorch [out, in] weight is dims [in, out]. A tensor's offset is relative to the data section.
 *
 * The header is parsed synchronously from the bytes read so far; when a field runs past them the
 * parse stops at the last whole key-value pair or tensor info, more is read (at least doubling what
 * was read, never re-reading) and it carries on. Every length and count is checked against the file
 * size before anything is read or allocated for it, and every error is a ModelFormatError naming
 * the file and the key or tensor.
 */
import { ModelFormatError, ModelLoadError } from '../errors';
import { BLOCK, type StorageFormat } from '../formats/formats';

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  format: StorageFormat;
  /** ggml ne[]: dims[0] is the contiguous (fastest) dimension; 1 to 4 dims. */
  dims: number[];
  /** Absolute byte offset of the tensor's data in the file. */
  offset: number;
  byteLength: number;
}

export interface GgufHeader {
  file: string;
  version: 2 | 3;
  alignment: number;
  /** Absolute byte offset of the data section (the end of the header rounded up to the alignment). */
  dataStart: number;
  fileSize: number;
  metadata: Map<string, GgufValue>;
  /** In file order. */
  tensors: GgufTensorInfo[];
}

/**
 * ggml type names by id (ggml.h; 4, 5, 31-33 and 36-38 are retired ids). wgpt reads those whose
 * lower-cased name is a StorageFormat.
 */
const GGML_TYPES = (
  'F32 F16 Q4_0 Q4_1 Q4_2 Q4_3 Q5_0 Q5_1 Q8_0 Q8_1 Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K IQ2_XXS IQ2_XS IQ3_XXS ' +
  'IQ1_S IQ4_NL IQ3_S IQ2_S IQ4_XS I8 I16 I32 I64 F64 IQ1_M BF16 Q4_0_4_4 Q4_0_4_8 Q4_0_8_8 TQ1_0 TQ2_0 ' +
  'IQ4_NL_4_4 IQ4_NL_4_8 IQ4_NL_8_8 MXFP4 NVFP4 Q1_0'
).split(' ');
const formatOf = (id: number): StorageFormat | undefined => {
  const f = GGML_TYPES[id]?.toLowerCase();
  return f !== undefined && f in BLOCK ? (f as StorageFormat) : undefined;
};
const SUPPORTED = GGML_TYPES.filter((_, id) => formatOf(id)).join(', ');

/** Metadata value type ids and the bytes of one value (0 for the variable-length ones). */
const T_STRING = 8;
const T_ARRAY = 9;
const VALUE_BYTES = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8];
const VALUE_NAMES = 'u8 i8 u16 i16 u32 i32 f32 bool string array u64 i64 f64'.split(' ');
/** Typed arrays reading each fixed-size type, by type id (bool as u8; 8 and 9 are string and array). */
type ArrayOf = new (b: ArrayBuffer) => ArrayLike<number | bigint>;
const TYPED = [
  Uint8Array,
  Int8Array,
  Uint16Array,
  Int16Array,
  Uint32Array,
  Int32Array,
  Float32Array,
  Uint8Array,
  undefined,
  undefined,
  BigUint64Array,
  BigInt64Array,
  Float64Array,
] as ArrayOf[];
/** Fewest bytes an element of each type takes: a string its length, an array its type and count. */
const MIN_BYTES = VALUE_BYTES.map((b, t) => (t === T_STRING ? 8 : t === T_ARRAY ? 12 : b));
/** Arrays of arrays deeper than this are refused rather than recursed into. */
const MAX_NESTING = 16;
/** Fewest bytes of a key-value pair (empty key, u8 value) and of a tensor info (1 dim, empty name). */
const MIN_KV_BYTES = 8 + 4 + 1;
const MIN_TENSOR_BYTES = 8 + 4 + 8 + 4 + 8;
const DEFAULT_ALIGNMENT = 32;
const FIRST_READ = 1 << 20;

/**
 * Reads and validates a GGUF header through ranged reads `read(begin, end)` of bytes [begin, end):
 * the first MiB (the whole file when smaller), then as much again or more until the header is in,
 * never the same bytes twice and never the tensor data beyond that. `fileSize` is the file's size.
 */
export async function readGgufHeader(
  file: string,
  read: (begin: number, end: number) => Promise<Uint8Array>,
  fileSize: number,
): Promise<GgufHeader> {
  const parser = new HeaderParser(file, fileSize);
  let bytes = new Uint8Array(0);
  let want = Math.min(fileSize, FIRST_READ);
  for (;;) {
    if (want > bytes.length) {
      const more = await read(bytes.length, want);
      if (more.length !== want - bytes.length) {
        throw new ModelLoadError(
          file,
          `reading bytes [${bytes.length}, ${want}) returned ${more.length} bytes; the file should be ${fileSize} bytes`,
        );
      }
      const grown = new Uint8Array(want);
      grown.set(bytes);
      grown.set(more, bytes.length);
      bytes = grown;
    }
    try {
      return parser.run(bytes);
    } catch (e) {
      if (!(e instanceof NeedMore)) throw e;
      want = Math.min(fileSize, Math.max(e.end, 2 * bytes.length));
    }
  }
}

/** Thrown inside the parser when a field lies past the bytes read so far (but inside the file). */
class NeedMore {
  constructor(readonly end: number) {}
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A position in the file over the bytes read so far; `where` names the field being read. */
class Cursor {
  pos = 0;
  where = 'header';
  private readonly dv: DataView;
  constructor(
    readonly file: string,
    readonly bytes: Uint8Array,
    readonly fileSize: number,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string, tensor?: string): never {
    throw new ModelFormatError(this.file, message, tensor);
  }

  /** Claims `n` bytes at the position and returns their offset. */
  take(n: number, what: string): number {
    const at = this.pos;
    if (at + n > this.fileSize) {
      this.fail(
        `header truncated: ${this.where}: ${what} at byte ${at} needs ${n} bytes, past the end of the file (${this.fileSize} bytes)`,
      );
    }
    if (at + n > this.bytes.length) throw new NeedMore(at + n);
    this.pos = at + n;
    return at;
  }

  u8(what: string): number {
    return this.bytes[this.take(1, what)];
  }
  u32(what: string): number {
    return this.dv.getUint32(this.take(4, what), true);
  }
  /** A u64 as a number: exact up to 2^53, beyond that approximate but still larger than any file. */
  u64(what: string): number {
    const at = this.take(8, what);
    return this.dv.getUint32(at, true) + this.dv.getUint32(at + 4, true) * 2 ** 32;
  }

  /** A u64 count of things of at least `minBytes` bytes each, refused when they cannot fit in the file. */
  count(what: string, minBytes: number): number {
    const at = this.pos;
    const n = this.u64(what);
    if (n * minBytes > this.fileSize - this.pos) {
      this.fail(
        `${this.where}: ${what} ${n} at byte ${at} cannot fit in the rest of the file (${this.fileSize - this.pos} bytes)`,
      );
    }
    return n;
  }

  /** Checks a string's length and claims its bytes; returns their offset and length. */
  stringBytes(what: string): [number, number] {
    const at = this.pos;
    const n = this.u64(what);
    if (n > this.fileSize - this.pos) {
      this.fail(
        `${this.where}: ${what} length ${n} at byte ${at} runs past the end of the file (${this.fileSize} bytes)`,
      );
    }
    return [this.take(n, what), n];
  }

  string(what: string): string {
    const [begin, n] = this.stringBytes(what);
    try {
      return utf8.decode(this.bytes.subarray(begin, begin + n));
    } catch {
      return this.fail(`${this.where}: ${what} at byte ${begin} is not valid UTF-8`);
    }
  }

  value(type: number, depth: number): GgufValue {
    if (type === T_STRING) return this.string('value');
    if (type === T_ARRAY) return this.array(depth + 1);
    if (!(type in VALUE_BYTES)) this.fail(`${this.where}: unknown value type ${type}`);
    return this.numbers(type, 1, 'value')[0];
  }

  /** `n` values of a fixed-size type as numbers (bigints past 2^53, booleans for bool). */
  numbers(type: number, n: number, what: string): GgufValue[] {
    const at = this.take(n * VALUE_BYTES[type], what);
    // A copy starts 8-byte aligned, so any typed array can view it.
    const view = new TYPED[type](this.bytes.slice(at, at + n * VALUE_BYTES[type]).buffer);
    if (type === 7) return Array.from(view, (b) => b !== 0);
    if (type === 10 || type === 11) return Array.from(view as ArrayLike<bigint>, safe);
    return Array.from(view as ArrayLike<number>);
  }

  array(depth: number): GgufValue[] {
    if (depth > MAX_NESTING) this.fail(`${this.where}: arrays nested more than ${MAX_NESTING} deep`);
    const type = this.u32('array element type');
    if (!(type in VALUE_BYTES)) this.fail(`${this.where}: unknown array element type ${type}`);
    const n = this.count(`array of ${VALUE_NAMES[type]} count`, MIN_BYTES[type]);
    const out: GgufValue[] = new Array(n);
    if (type === T_STRING) {
      // Find the array's end before decoding anything, so that a vocabulary is decoded once even
      // when the header arrives in pieces (NeedMore then asks for exactly the bytes up to its end).
      const begin = this.pos;
      for (let i = 0; i < n; i++) this.stringBytes('string');
      this.pos = begin;
      for (let i = 0; i < n; i++) out[i] = this.string('string');
    } else if (type === T_ARRAY) {
      for (let i = 0; i < n; i++) out[i] = this.array(depth + 1);
    } else {
      return this.numbers(type, n, `array of ${n} ${VALUE_NAMES[type]}`);
    }
    return out;
  }
}

/** A 64-bit integer as a number when that is exact, else as a bigint. */
function safe(v: bigint): number | bigint {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * The header parse, resumable: it keeps what it has read up to the last whole key-value pair or
 * tensor info, and `run` carries on from there over more bytes (the same start, a longer prefix).
 */
class HeaderParser {
  /** File offset after the last whole item read. */
  private pos = 0;
  private started = false;
  private version: 2 | 3 = 3;
  private tensorCount = 0;
  private kvCount = 0;
  private alignment = DEFAULT_ALIGNMENT;
  private readonly metadata = new Map<string, GgufValue>();
  private readonly tensors: GgufTensorInfo[] = [];
  private readonly names = new Set<string>();

  constructor(
    readonly file: string,
    readonly fileSize: number,
  ) {}

  /** Parses on from the last whole item; throws NeedMore when `bytes` end before the header does. */
  run(bytes: Uint8Array): GgufHeader {
    const c = new Cursor(this.file, bytes, this.fileSize);
    c.pos = this.pos;
    if (!this.started) {
      this.fixed(c, bytes);
      this.started = true;
      this.pos = c.pos;
    }
    while (this.metadata.size < this.kvCount) {
      this.pair(c, this.metadata.size);
      this.pos = c.pos;
    }
    while (this.tensors.length < this.tensorCount) {
      this.tensorInfo(c, this.tensors.length);
      this.pos = c.pos;
    }
    return this.layout(c);
  }

  private fixed(c: Cursor, bytes: Uint8Array): void {
    const magic = c.take(4, 'magic');
    if (String.fromCharCode(...bytes.subarray(magic, magic + 4)) !== 'GGUF') {
      const hex = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
      c.fail(`bad magic ${hex}: not a GGUF file (expected 'GGUF')`);
    }
    const version = c.u32('version');
    if (version !== 2 && version !== 3) {
      const hint = version > 0xffff && (version & 0xffff) === 0 ? ' (a big-endian file?)' : '';
      c.fail(`unsupported GGUF version ${version}${hint}; supported: 2, 3`);
    }
    this.version = version;
    this.tensorCount = c.count('tensor_count', MIN_TENSOR_BYTES);
    this.kvCount = c.count('kv_count', MIN_KV_BYTES);
  }

  private pair(c: Cursor, i: number): void {
    c.where = `metadata pair ${i}`;
    const key = c.string('key');
    if (key === '') c.fail(`metadata pair ${i} has an empty key`);
    c.where = `metadata key '${key}'`;
    if (this.metadata.has(key)) c.fail(`duplicate metadata key '${key}'`);
    const type = c.u32('value type');
    const value = c.value(type, 0);
    if (key === 'general.alignment') {
      const a = value as number;
      if (type !== 4 || a === 0 || (a & (a - 1)) !== 0) {
        c.fail(`metadata key '${key}' must be a u32 power of two, is ${VALUE_NAMES[type]} ${String(value)}`);
      }
      this.alignment = a;
    }
    this.metadata.set(key, value);
  }

  private tensorInfo(c: Cursor, i: number): void {
    c.where = `tensor info ${i}`;
    const name = c.string('name');
    c.where = `tensor '${name}'`;
    if (this.names.has(name)) c.fail(`duplicate tensor name '${name}'`, name);
    const nDims = c.u32('n_dims');
    if (nDims === 0 || nDims > 4) c.fail(`n_dims is ${nDims}; must be 1 to 4`, name);
    const dims: number[] = [];
    let elements = 1;
    for (let d = 0; d < nDims; d++) {
      dims.push(c.u64(`dims[${d}]`));
      if (dims[d] === 0) c.fail(`dims[${d}] is 0`, name);
      elements *= dims[d];
    }
    if (elements > Number.MAX_SAFE_INTEGER) {
      c.fail(`dims [${dims.join(', ')}] hold more than 2^53 elements`, name);
    }
    const typeId = c.u32('type');
    const format = formatOf(typeId);
    if (format === undefined) {
      const what = GGML_TYPES[typeId]
        ? `tensor type ${GGML_TYPES[typeId]} (ggml type ${typeId})`
        : `unknown tensor type id ${typeId}`;
      c.fail(`${what} is not supported; supported: ${SUPPORTED}`, name);
    }
    const block = BLOCK[format];
    if (dims[0] % block.elements !== 0) {
      c.fail(
        `dims[0] = ${dims[0]} is not a multiple of the ${format} block of ${block.elements} values`,
        name,
      );
    }
    const offset = c.u64('offset');
    if (offset % this.alignment !== 0) {
      c.fail(`data offset ${offset} is not a multiple of the alignment ${this.alignment}`, name);
    }
    this.names.add(name);
    this.tensors.push({ name, format, dims, offset, byteLength: (elements / block.elements) * block.bytes });
  }

  /** Places the tensors after the header (their offsets made absolute) and checks they fit, apart. */
  private layout(c: Cursor): GgufHeader {
    const { file, fileSize, alignment } = this;
    const dataStart = Math.ceil(this.pos / alignment) * alignment;
    const tensors = this.tensors.map((t) => ({ ...t, offset: dataStart + t.offset }));
    for (const t of tensors) {
      if (t.offset + t.byteLength > fileSize) {
        c.fail(
          `data [${t.offset}, ${t.offset + t.byteLength}) runs past the end of the file (${fileSize} bytes)`,
          t.name,
        );
      }
    }
    const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < byOffset.length; i++) {
      const [prev, t] = [byOffset[i - 1], byOffset[i]];
      if (t.offset < prev.offset + prev.byteLength) {
        c.fail(
          `data at byte ${t.offset} overlaps tensor '${prev.name}' [${prev.offset}, ${prev.offset + prev.byteLength})`,
          t.name,
        );
      }
    }
    const metadata = this.metadata;
    return { file, version: this.version, alignment, dataStart, fileSize, metadata, tensors };
  }
}

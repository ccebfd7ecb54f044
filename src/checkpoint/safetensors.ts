/**
 * safetensors: [u64 little-endian header length N][N bytes of JSON header][tensor data].
 * The header maps tensor names to { dtype, shape, data_offsets: [begin, end] } relative to the
 * start of the data, plus an optional `__metadata__` of string -> string.
 * Everything here is validated on the CPU before anything is converted or uploaded.
 */
import { ModelFormatError } from '../errors';
import type { StorageFormat } from '../formats/formats';
import { dequantize } from '../formats/quant';
import type { FileSource } from './source';
import type { StoredTensor } from './tensor';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** The file holding it. */
  file: string;
  /** Absolute byte offsets into the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: TensorInfo[];
  metadata: Record<string, string>;
}

/** Bytes a header needs to be read: 8 + its length (read the first 8 bytes to learn it). */
export function safetensorsHeaderSize(file: string, first8: Uint8Array): number {
  if (first8.length < 8) {
    throw new ModelFormatError(file, `file is ${first8.length} bytes, shorter than the 8-byte header length`);
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  return 8 + Number(n);
}

/**
 * Parses and validates a safetensors header. `bytes` holds the whole file or at least its header;
 * `fileSize` is the whole file's size. Tensors are returned in file order.
 */
export function parseSafetensorsHeader(file: string, bytes: Uint8Array, fileSize: number): SafetensorsHeader {
  if (fileSize < 8 || bytes.length < 8) {
    throw new ModelFormatError(file, `file is ${fileSize} bytes, shorter than the 8-byte header length`);
  }
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) {
    throw new ModelFormatError(
      file,
      `header length ${n} goes beyond the end of the file (${fileSize} bytes)`,
    );
  }
  const dataStart = 8 + Number(n);
  if (bytes.length < dataStart) {
    throw new ModelFormatError(file, `header needs ${dataStart} bytes, only ${bytes.length} were given`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (e) {
    throw new ModelFormatError(file, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new ModelFormatError(file, 'header is not a JSON object');
  }
  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw new ModelFormatError(file, '__metadata__ is not an object');
      }
      for (const [k, v] of Object.entries(entry)) if (typeof v === 'string') metadata[k] = v;
      continue;
    }
    tensors.push(parseEntry(file, name, entry, dataStart, fileSize));
  }
  checkLayout(file, tensors, dataStart, fileSize);
  return { tensors, metadata };
}

function parseEntry(
  file: string,
  name: string,
  entry: unknown,
  dataStart: number,
  fileSize: number,
): TensorInfo {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new ModelFormatError(file, 'header entry is not an object', name);
  }
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    throw new ModelFormatError(
      file,
      `unknown dtype ${JSON.stringify(dtype)}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`,
      name,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ModelFormatError(
      file,
      `shape ${JSON.stringify(shape)} is not a list of non-negative integers`,
      name,
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o))) {
    throw new ModelFormatError(file, `data_offsets ${JSON.stringify(offsets)} is not two integers`, name);
  }
  const [b, e] = offsets as number[];
  const dataSize = fileSize - dataStart;
  if (b < 0 || e < b || e > dataSize) {
    throw new ModelFormatError(
      file,
      `data_offsets [${b}, ${e}] out of range (data section is ${dataSize} bytes)`,
      name,
    );
  }
  const expected = (shape as number[]).reduce((a, d) => a * d, 1) * DTYPE_BYTES[dtype as SafetensorsDtype];
  if (e - b !== expected) {
    throw new ModelFormatError(
      file,
      `byte length ${e - b} does not match shape [${shape.join(', ')}] of ${dtype} (${expected} bytes)`,
      name,
    );
  }
  return {
    name,
    dtype: dtype as SafetensorsDtype,
    shape: shape as number[],
    file,
    begin: dataStart + b,
    end: dataStart + e,
  };
}

/** Tensors must tile the data section exactly: no overlap, no gap, no unused bytes at the end. */
function checkLayout(file: string, tensors: TensorInfo[], dataStart: number, fileSize: number): void {
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = dataStart;
  let prev: TensorInfo | undefined;
  for (const t of tensors) {
    if (t.begin < pos) {
      throw new ModelFormatError(file, `overlaps tensor '${prev?.name}'`, t.name);
    }
    if (t.begin > pos) {
      throw new ModelFormatError(
        file,
        `gap of ${t.begin - pos} unused bytes before it${prev ? ` (after tensor '${prev.name}')` : ''}`,
        t.name,
      );
    }
    pos = t.end;
    prev = t;
  }
  if (pos !== fileSize) {
    throw new ModelFormatError(
      file,
      `${fileSize - pos} unused bytes at the end of the file${prev ? ` after tensor '${prev.name}'` : ''}`,
    );
  }
}

/** A tensor's values as f32 (F16 and BF16 exactly). `fileBytes` is the whole file, indexed by the absolute offsets in `info`. */
export function tensorToF32(info: TensorInfo, fileBytes: Uint8Array): Float32Array {
  const src = fileBytes.subarray(info.begin, info.end);
  if (src.length !== info.end - info.begin) {
    throw new ModelFormatError(info.file, 'tensor data lies beyond the bytes read', info.name);
  }
  return dequantize(SAFETENSORS_FORMAT[info.dtype], src, src.length / DTYPE_BYTES[info.dtype]);
}

/** The storage format of each safetensors dtype. */
export const SAFETENSORS_FORMAT: Record<SafetensorsDtype, StorageFormat> = {
  F32: 'f32',
  F16: 'f16',
  BF16: 'bf16',
};

/**
 * Reads and validates one safetensors file's header through ranged reads (the 8-byte length, then
 * the JSON), and returns its tensors as stored, each reading its own bytes on demand.
 */
export async function readSafetensors(
  files: FileSource,
  file: string,
): Promise<{ tensors: StoredTensor[]; metadata: Record<string, string> }> {
  const size = await files.size(file);
  const headerSize = safetensorsHeaderSize(file, await files.readRange(file, 0, Math.min(8, size)));
  if (headerSize > size) {
    throw new ModelFormatError(
      file,
      `header length ${headerSize - 8} goes beyond the end of the file (${size} bytes)`,
    );
  }
  const header = parseSafetensorsHeader(file, await files.readRange(file, 0, headerSize), size);
  const tensors = header.tensors.map(
    (t): StoredTensor => ({
      name: t.name,
      file,
      format: SAFETENSORS_FORMAT[t.dtype],
      shape: t.shape,
      byteLength: t.end - t.begin,
      read: (begin = 0, end = t.end - t.begin) => files.readRange(file, t.begin + begin, t.begin + end),
    }),
  );
  return { tensors, metadata: header.metadata };
}

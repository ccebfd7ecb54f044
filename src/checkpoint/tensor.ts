/**
 * A checkpoint tensor as stored: its format and where its bytes are, read only when a consumer
 * (the GPU uploader, the CPU reference) asks, and then only the rows it asks for.
 */
import { ModelFormatError } from '../errors';
import { BLOCK, bytesOf, type StorageFormat } from '../formats/formats';
import { dequantize } from '../formats/quant';

export interface StoredTensor {
  /** Name in the checkpoint, as written there. */
  name: string;
  /** The file holding it, for messages. */
  file: string;
  format: StorageFormat;
  /** Shape, outermost first, as Hugging Face writes it (GGUF's dims reversed): the last is contiguous. */
  shape: number[];
  byteLength: number;
  /** Bytes [begin, end) of the tensor's data (default: all of it), read from its file now. */
  read(begin?: number, end?: number): Promise<Uint8Array>;
}

/** Rows and columns of a tensor seen as a matrix: its last dimension is the row. */
export function matrixShape(t: StoredTensor): { rows: number; cols: number } {
  const cols = t.shape[t.shape.length - 1] ?? 1;
  return { rows: t.shape.slice(0, -1).reduce((a, d) => a * d, 1), cols };
}

/** Bytes of one row (a row is whole blocks in every format). */
export function rowBytes(t: StoredTensor): number {
  const { cols } = matrixShape(t);
  const b = bytesOf(t.format, cols);
  if (b === undefined) {
    throw new ModelFormatError(
      t.file,
      `${t.format} rows need a multiple of ${BLOCK[t.format].elements} values, found ${cols}`,
      t.name,
    );
  }
  return b;
}

/** A tensor held in memory (random benchmark models, test models, quantized-at-load weights). */
export function memoryTensor(
  name: string,
  format: StorageFormat,
  shape: number[],
  bytes: Uint8Array | Float32Array,
): StoredTensor {
  const data =
    bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    name,
    file: 'memory',
    format,
    shape,
    byteLength: data.byteLength,
    read: async (begin = 0, end = data.byteLength) => data.subarray(begin, end),
  };
}

/** Rows [r0, r1) of a tensor as f32 (every format decoded exactly). */
export async function readRowsF32(t: StoredTensor, r0: number, r1: number): Promise<Float32Array> {
  const { cols } = matrixShape(t);
  const rb = rowBytes(t);
  return dequantize(t.format, await t.read(r0 * rb, r1 * rb), (r1 - r0) * cols);
}

/** The whole tensor as f32. */
export function readF32(t: StoredTensor): Promise<Float32Array> {
  return readRowsF32(t, 0, matrixShape(t).rows);
}

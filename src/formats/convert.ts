/**
 * What format a weight takes where it is consumed, and the conversion into it, written once for
 * the GPU uploader and the CPU reference (which decodes the same converted bytes, so both compute
 * with the same numbers).
 */
import { packWeightF16 } from './f16';
import { type GpuWeightFormat, isQuant, type StorageFormat } from './formats';
import { quantizeQ4_0, quantizeQ8_0 } from './quantize';

/**
 * How weights are stored on the GPU. Unset: as the checkpoint stores them (f32 and f16 kept, bf16
 * widened to f32, quantized formats kept). 'f32' / 'f16': every weight in that float format
 * (quantized ones dequantized). 'q8' / 'q4': float weights quantized to q8_0 / q4_0 at load
 * (weights whose rows are not whole blocks of 32 take f16); quantized ones are kept as they are.
 */
export type Dtype = 'f32' | 'f16' | 'q8' | 'q4';

/** The weight storages `dtype` may ask for. */
export const DTYPES: readonly Dtype[] = ['f32', 'f16', 'q8', 'q4'];

/** The GPU format of a stored weight whose rows are `cols` long. */
export function gpuFormat(stored: StorageFormat, dtype: Dtype | undefined, cols: number): GpuWeightFormat {
  if (dtype === 'f32' || dtype === 'f16') return dtype;
  if (isQuant(stored)) return stored;
  if (dtype === undefined) return stored === 'f16' ? 'f16' : 'f32';
  if (cols % 32 !== 0) return 'f16';
  return dtype === 'q8' ? 'q8_0' : 'q4_0';
}

/** f32 rows [rows, cols] in a GPU format's bytes (f16 rows padded to whole u32s). */
export function encodeRows(
  f32: Float32Array,
  rows: number,
  cols: number,
  format: GpuWeightFormat,
): Uint8Array {
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (format === 'f32') return bytes(f32);
  if (format === 'f16') return bytes(packWeightF16(f32, rows, cols));
  if (format === 'q8_0') return quantizeQ8_0(f32, rows, cols);
  if (format === 'q4_0') return quantizeQ4_0(f32, rows, cols);
  throw new Error(`wgpt does not quantize to ${format} at load`);
}

/** The transpose of a [rows, cols] matrix (GPT-2's [K, N] Conv1D weights quantize along k as [N, K]). */
export function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

/**
 * Storage formats of weights, named once. A checkpoint tensor keeps its format and raw bytes; the
 * consumers (the GPU uploader, the CPU reference) convert, pack or dequantize where they read.
 *
 * Quantized formats are ggml's (GGUF): a row of `cols` values is cols / elements blocks, each block
 * `bytes` long, rows back to back. Block layouts (little-endian; d, m, dmin are f16):
 *   q8_0  32 values, 34 B: d, qs[32] i8                          x = d * q
 *   q4_0  32 values, 18 B: d, qs[16] (lo nibbles 0..15, hi 16..31)   x = d * (q - 8)
 *   q4_1  32 values, 20 B: d, m, qs[16]                          x = d * q + m
 *   q5_0  32 values, 22 B: d, qh u32 (bit j: the fifth bit of value j), qs[16]   x = d * (q - 16)
 *   q5_1  32 values, 24 B: d, m, qh u32, qs[16]                  x = d * q + m
 *   q4_k 256 values, 144 B: d, dmin, scales[12] (8 6-bit scales and mins), qs[128]
 *   q5_k 256 values, 176 B: d, dmin, scales[12], qh[32], qs[128]
 *   q6_k 256 values, 210 B: ql[128], qh[64], scales[16] i8, d
 * (exact definitions: src/formats/quant.ts).
 */

export type FloatFormat = 'f32' | 'f16' | 'bf16';
export type QuantFormat = 'q8_0' | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'q4_k' | 'q5_k' | 'q6_k';
export type StorageFormat = FloatFormat | QuantFormat;

/**
 * How a weight is stored on the GPU: f32; f16 packed two per u32 with every row padded to whole
 * u32s (packWeightF16); or a quantized format in its ggml block layout, rows back to back, the
 * buffer padded to a multiple of 4 bytes (every block size is even, so blocks start at byte
 * offsets that are 0 or 2 mod 4). bf16 is never stored on the GPU.
 */
export type GpuWeightFormat = 'f32' | 'f16' | QuantFormat;

export const QUANT_FORMATS: readonly QuantFormat[] = [
  'q8_0',
  'q4_0',
  'q4_1',
  'q5_0',
  'q5_1',
  'q4_k',
  'q5_k',
  'q6_k',
];

/** Values per block and bytes per block. */
export const BLOCK: Record<StorageFormat, { elements: number; bytes: number }> = {
  f32: { elements: 1, bytes: 4 },
  f16: { elements: 1, bytes: 2 },
  bf16: { elements: 1, bytes: 2 },
  q8_0: { elements: 32, bytes: 34 },
  q4_0: { elements: 32, bytes: 18 },
  q4_1: { elements: 32, bytes: 20 },
  q5_0: { elements: 32, bytes: 22 },
  q5_1: { elements: 32, bytes: 24 },
  q4_k: { elements: 256, bytes: 144 },
  q5_k: { elements: 256, bytes: 176 },
  q6_k: { elements: 256, bytes: 210 },
};

export function isQuant(f: StorageFormat): f is QuantFormat {
  return BLOCK[f].elements > 1;
}

/** Bytes of `n` values in a format, or undefined when n is not a whole number of blocks. */
export function bytesOf(format: StorageFormat, n: number): number | undefined {
  const b = BLOCK[format];
  return n % b.elements === 0 ? (n / b.elements) * b.bytes : undefined;
}

/** Bytes of a [rows, cols] weight on the GPU in a format (f16 rows padded to whole u32s). */
export function gpuRowBytes(format: GpuWeightFormat, cols: number): number {
  if (format === 'f16') return Math.ceil(cols / 2) * 4;
  const b = bytesOf(format, cols);
  if (b === undefined) throw new Error(`${format}: a row of ${cols} values is not a whole number of blocks`);
  return b;
}

/**
 * The token embedding matrix explored on the GPU (issue 12). Being written: see src/inspect-types.ts
 * for the contract.
 */
import type { ModelConfig } from '../checkpoint/config';
import type { Tokenizer } from '../checkpoint/tokenizer';
import type { Gpu } from '../gpu/gpu';
import type { Embeddings } from '../inspect-types';
import type { GpuTable } from './gpu-weights';

/** What the embeddings need of the model: its config, tokenizer, and its turn on the GPU. */
export interface EmbeddingsHost {
  config: ModelConfig;
  tokenizer: Tokenizer;
  /** The model's current device (a new one after recover). */
  gpu(): Gpu;
  /** The uploaded token embedding [V, C] (blocks of rows, in their GPU format). */
  table(): GpuTable;
  /** Runs GPU work in the model's request queue (one request at a time). */
  run<T>(work: (gpu: Gpu, table: GpuTable) => Promise<T>): Promise<T>;
}

export function createEmbeddings(_host: EmbeddingsHost): Embeddings {
  throw new Error('embeddings: not written yet');
}

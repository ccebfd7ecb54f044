/** Whole-model checks on the GPU in Node (Dawn); the same checks run in Chromium (e2e/model.spec.ts). */
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { modelChecks } from './model/checks';
import { ggufChecks } from './model/gguf-checks';

const paths = {
  tinystories: fileURLToPath(new URL('../models/tinystories-656k', import.meta.url)),
  gpt2TinyRandom: fileURLToPath(new URL('./fixtures/gpt2-tiny-random', import.meta.url)),
  stories260k: fileURLToPath(new URL('../models/stories260K-gguf/stories260K.gguf', import.meta.url)),
};

describe('model', () => {
  for (const c of modelChecks) it(c.name, () => c.run(paths));
});

describe('model: GGUF and quantized weights', () => {
  for (const c of ggufChecks) it(c.name, () => c.run(paths));
});

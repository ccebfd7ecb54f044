/**
 * GGUF and quantized-weight checks, shared by Node (test/model.test.ts) and Chromium
 * (e2e/model.html): the real stories260K.gguf, the same random model as safetensors and as GGUF,
 * every quantized format against the CPU reference over the dequantized weights, quantizing at
 * load (dtype q8 / q4), ranged reads, and bad GGUF files.
 */
import { ModelFormatError, UnsupportedModelError } from '../../src/errors';
import type { StorageFormat } from '../../src/formats/formats';
import { cpuLogits } from '../../src/model/cpu-ops';
import { randomModel } from '../../src/model/testing';
import { ggufFromHf } from '../gguf-model';
import { ggufTensor, meta, writeGguf } from '../gguf-writer';
import {
  drain,
  expectClose,
  expectError,
  fail,
  type ModelCheck,
  PROMPT,
  reference,
  TINYSTORIES_GOLDEN,
  untouchableDevice,
  withModel,
} from './checks';

/** The greedy continuation of "Once upon a time" by stories260K (shared/models/README.md). */
export const STORIES260K_GOLDEN =
  ', there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.';

const llamaDims = { C: 64, NH: 4, NKV: 2, HS: 16, L: 2, V: 67, F: 96, ctx: 64, tied: false };
/** Rows of 512: two k-quant super-blocks per row, so their order matters. */
const quantDims = { C: 512, NH: 4, NKV: 2, HS: 128, L: 1, V: 67, F: 256, ctx: 32, tied: false };

const gguf = (bytes: Uint8Array) => ({ 'model.gguf': bytes });

/** GGUF vs the CPU reference over the same file's dequantized weights, on every position. */
async function matchesReference(name: string, file: Uint8Array, atol = 2e-4): Promise<void> {
  const ref = await reference(gguf(file));
  const want = await cpuLogits(ref.cfg, ref.w, PROMPT);
  const got = await withModel(gguf(file), { tuning: 'off' }, (m) => m.logits(PROMPT));
  expectClose(name, got, want, atol, 1e-3);
}

/** Formats per llama.cpp tensor name, covering all eight quantized formats in matmuls and gathers. */
const MIXES: Record<string, (name: string) => StorageFormat> = {
  'Q4_K_M-like (q4_k, q5_k, q6_k; q8_0 embedding)': (n) =>
    /attn_v|ffn_down|^output\./.test(n)
      ? 'q6_k'
      : /attn_output/.test(n)
        ? 'q5_k'
        : /token_embd/.test(n)
          ? 'q8_0'
          : 'q4_k',
  'legacy formats (q8_0, q4_0, q4_1, q5_0, q5_1; q4_1 embedding)': (n) =>
    /attn_q/.test(n)
      ? 'q8_0'
      : /attn_k/.test(n)
        ? 'q4_0'
        : /attn_v|token_embd/.test(n)
          ? 'q4_1'
          : /attn_output|ffn_gate/.test(n)
            ? 'q5_0'
            : /ffn_up|^output\./.test(n)
              ? 'q5_1'
              : 'q8_0',
  'one format throughout (q5_0; q6_k embedding)': (n) => (/token_embd/.test(n) ? 'q6_k' : 'q5_0'),
};

export const ggufChecks: ModelCheck[] = [
  {
    name: 'stories260K.gguf: GGUF tokenizer gives the README ids, greedy gives the golden story, logits match the CPU reference',
    async run(paths) {
      const ref = await reference(paths.stories260k);
      await withModel(paths.stories260k, {}, async (m) => {
        if (m.checkpoint.format !== 'gguf') fail(`format ${m.checkpoint.format}`);
        const ids = m.tokenizer.encode('Once upon a time');
        if (ids.join() !== '1,403,407,261,378') fail(`prompt ids ${ids}`);
        expectClose(
          'stories260K logits',
          await m.logits(ids),
          await cpuLogits(ref.cfg, ref.w, ids),
          2e-4,
          1e-3,
        );
        const { text } = await drain(m.generate('Once upon a time', { temperature: 0, maxNewTokens: 48 }));
        if (
          !(text.startsWith(STORIES260K_GOLDEN) || (STORIES260K_GOLDEN.startsWith(text) && text.length > 100))
        ) {
          fail(`greedy story: ${JSON.stringify(text)}`);
        }
      });
    },
  },
  {
    name: 'the same random model as safetensors and as GGUF gives the same logits (llama with q/k permuted for pairs rotary; qwen2 with biases and half-split rotary; gpt2 with transposed Conv1D)',
    async run() {
      for (const [kind, dims] of [
        ['llama', llamaDims],
        ['gpt2', { C: 48, NH: 3, HS: 16, L: 2, V: 67, F: 96, ctx: 64 }],
        ['qwen2', { ...llamaDims, qkvBias: true }],
      ] as const) {
        const files = randomModel(kind === 'qwen2' ? 'llama' : kind, dims, 11);
        const st = await withModel(files, { tuning: 'off' }, (m) => m.logits(PROMPT));
        const gg = await withModel(gguf(ggufFromHf(files)), { tuning: 'off' }, async (m) => {
          const layout = { llama: 'pairs', qwen2: 'half', gpt2: undefined }[kind];
          if (m.config.modelType !== kind || m.config.rope?.layout !== layout) {
            fail(`${kind}: GGUF read as ${m.config.modelType}, rotary ${m.config.rope?.layout}`);
          }
          return m.logits(PROMPT);
        });
        expectClose(`${kind} safetensors vs GGUF`, gg, st, 2e-4, 1e-3);
      }
    },
  },
  ...Object.entries(MIXES).map(
    ([name, formatOf]): ModelCheck => ({
      name: `quantized GGUF, ${name}: logits of every position match the CPU reference over the dequantized weights`,
      async run() {
        const file = ggufFromHf(randomModel('llama', quantDims, 12), formatOf);
        await matchesReference(name, file);
      },
    }),
  ),
  {
    name: "dtype 'q8' / 'q4' quantize the embedded model at load: the GPU matches the reference over the same quantized weights, logits stay near f32 and greedy text stays coherent",
    async run(paths) {
      const ids = [1, 80, 147, 201, 282, 57];
      const f32 = await withModel(paths.tinystories, {}, (m) => m.logits(ids));
      const bound = { q8: 0.05, q4: 0.5 };
      for (const dtype of ['q8', 'q4'] as const) {
        const ref = await reference(paths.tinystories, dtype);
        await withModel(paths.tinystories, { dtype }, async (m) => {
          const got = await m.logits(ids);
          expectClose(`${dtype} vs reference`, got, await cpuLogits(ref.cfg, ref.w, ids), 2e-4, 1e-3);
          let maxLogit = 0;
          let maxDiff = 0;
          for (let i = 0; i < f32.length; i++) {
            maxLogit = Math.max(maxLogit, Math.abs(f32[i]));
            maxDiff = Math.max(maxDiff, Math.abs(got[i] - f32[i]));
          }
          if (maxDiff > bound[dtype] * maxLogit)
            fail(`${dtype}: logits differ from f32 by ${maxDiff} (max |logit| ${maxLogit})`);
          const expected = { q8: 'q8_0', q4: 'q4_0' }[dtype];
          if (
            m.weightBytes >
            0.4 * (await withModel(paths.tinystories, { tuning: 'off' }, async (f) => f.weightBytes))
          )
            fail(`${dtype}: ${m.weightBytes} bytes of weights, not ${expected}`);
          const { text } = await drain(m.generate('Once upon a time', { temperature: 0, maxNewTokens: 12 }));
          if (!/\b(Lily|girl|little)\b/.test(text))
            fail(`${dtype} greedy text: ${JSON.stringify(text)} vs ${TINYSTORIES_GOLDEN}`);
        });
      }
    },
  },
  {
    name: 'a GGUF is read in ranges, never as one whole buffer',
    async run() {
      const bytes = ggufFromHf(randomModel('llama', llamaDims, 13));
      const whole = new Blob([bytes as BlobPart]);
      // Only slices may be read.
      Object.defineProperty(whole, 'arrayBuffer', { value: () => fail('the whole file was read') });
      const got = await withModel({ 'model.gguf': whole }, { tuning: 'off' }, (m) => m.logits(PROMPT));
      const want = await withModel(gguf(bytes), { tuning: 'off' }, (m) => m.logits(PROMPT));
      expectClose('ranged reads', got, want, 0, 0);
    },
  },
  {
    name: 'bad GGUF models get typed errors naming the file and field, before any GPU work',
    async run() {
      const device = untouchableDevice();
      const files = randomModel('llama', llamaDims, 14);
      const good = ggufFromHf(files);
      await expectError('truncated', ModelFormatError, ['model.gguf'], () =>
        withModel(gguf(good.slice(0, good.length - 100)), { device }, async () => {}),
      );
      const noFfn = ggufFromHf(files, (n) => (n === 'blk.1.ffn_up.weight' ? null : 'f32'));
      await expectError('missing tensor', ModelFormatError, ['model.gguf', 'blk.1.ffn_up.weight'], () =>
        withModel(gguf(noFfn), { device }, async () => {}),
      );
      // Metadata that says ffn 80 over tensors of ffn 96.
      const cfg = JSON.parse(files['config.json'] as string);
      const badShape = ggufFromHf({
        ...files,
        'config.json': JSON.stringify({ ...cfg, intermediate_size: 80 }),
      });
      await expectError('shape', ModelFormatError, ['model.gguf', 'blk.0.ffn_gate.weight', '[80, 64]'], () =>
        withModel(gguf(badShape), { device }, async () => {}),
      );
      const arch = (name: string) =>
        writeGguf({
          metadata: [meta.string('general.architecture', name), meta.u32(`${name}.block_count`, 1)],
          tensors: [ggufTensor('token_embd.weight', 'f32', [4, 2], new Float32Array(8))],
        });
      await expectError('architecture', UnsupportedModelError, ['bert', 'llama', 'qwen2', 'gpt2'], () =>
        withModel(gguf(arch('bert')), { device }, async () => {}),
      );
      await expectError('missing key', ModelFormatError, ['model.gguf', 'llama.'], () =>
        withModel(gguf(arch('llama')), { device }, async () => {}),
      );
    },
  },
];

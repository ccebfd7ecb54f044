/**
 * The independent float64 transcription of the transformers modeling code (test/model/hf-reference.ts)
 * against the engine's CPU reference forward (cpuLogits):
 * (a) gpt2 and llama-family models, where the engine path is already verified against real Hugging
 *     Face outputs (tinystories golden run): this validates the transcription;
 * (b) every newer family (issue 10 §4), random tiny models of src/model/testing.ts: the engine must
 *     agree at every position; plus one check per family that the feature really changes the
 *     reference's logits at these sizes (so agreement means the feature is implemented).
 */

import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { openCheckpoint } from '../src/checkpoint/checkpoint';
import { cpuLogits, cpuWeights } from '../src/model/cpu-ops';
import { NEWER_RANDOM_MODELS, randomModel } from '../src/model/testing';
import type { ModelSource } from '../src/types';
import { hfReferenceLogits } from './model/hf-reference';

type Files = Record<string, Uint8Array | string>;

const PROMPT = [5, 17, 3, 66, 0, 12, 40, 41, 9, 1, 2, 30, 31, 7, 60, 22, 19];

async function engineLogits(source: ModelSource, ids: number[]): Promise<Float32Array> {
  const ckpt = await openCheckpoint(source);
  return cpuLogits(ckpt.config, await cpuWeights(ckpt.weights), ids);
}

/** Throws naming the first element outside |got - want| <= atol + rtol*|want|; returns the max error. */
function expectClose(what: string, got: Float32Array, want: Float32Array, atol = 1e-4, rtol = 1e-3): number {
  expect(got.length, `${what}: length`).toBe(want.length);
  let max = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= atol + rtol * Math.abs(want[i])))
      throw new Error(
        `${what}[${i}] (position ${Math.floor(i / (want.length / PROMPT.length))}): engine ${got[i]} vs hf ${want[i]}`,
      );
    max = Math.max(max, err);
  }
  return max;
}

const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

/** The file map with config.json edited. */
// biome-ignore lint/suspicious/noExplicitAny: config.json edits of any shape
function withConfig(files: Files, edit: (cfg: Record<string, any>) => void): Files {
  const cfg = JSON.parse(files['config.json'] as string);
  edit(cfg);
  return { ...files, 'config.json': JSON.stringify(cfg) };
}

/** The file map with tensors renamed in the safetensors header (same-length names keep the offsets). */
function renameTensors(files: Files, from: string, to: string): Files {
  if (from.length !== to.length) throw new Error('renameTensors needs same-length names');
  const bytes = (files['model.safetensors'] as Uint8Array).slice();
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  if (!header.includes(from)) throw new Error(`no tensor name contains ${from}`);
  bytes.set(new TextEncoder().encode(header.split(from).join(to)), 8);
  return { ...files, 'model.safetensors': bytes };
}

/** The feature changes the reference's logits: editing it away moves some logit by more than 1e-3. */
function expectMatters(what: string, files: Files, edited: Files) {
  const d = maxDiff(hfReferenceLogits(edited, PROMPT), hfReferenceLogits(files, PROMPT));
  expect(d, `${what}: max logit change ${d}`).toBeGreaterThan(1e-3);
}

describe('(a) hf reference vs the engine CPU reference on verified families', () => {
  const models: Record<string, () => Files> = {
    gpt2: () => randomModel('gpt2', { C: 48, NH: 3, HS: 16, L: 2, V: 67, F: 172, ctx: 64 }, 1),
    'gpt2 untied bf16': () =>
      randomModel('gpt2', { C: 48, NH: 3, L: 2, V: 67, F: 100, ctx: 64, tied: false, dtype: 'BF16' }, 5),
    'llama GQA 4/2 untied': () =>
      randomModel('llama', { C: 64, NH: 4, NKV: 2, HS: 16, L: 2, V: 67, F: 172, ctx: 64, tied: false }, 2),
    'llama tied, head size 24': () =>
      randomModel('llama', { C: 72, NH: 3, NKV: 1, HS: 24, L: 2, V: 67, F: 100, ctx: 64, tied: true }, 3),
    'qwen2 q/k/v biases, f16 file': () =>
      randomModel(
        'llama',
        { C: 64, NH: 4, NKV: 2, HS: 16, L: 1, V: 67, F: 172, ctx: 64, qkvBias: true, dtype: 'F16' },
        4,
      ),
    'llama rope_parameters form': () =>
      randomModel(
        'llama',
        { C: 64, NH: 4, NKV: 2, HS: 16, L: 2, V: 67, F: 172, ctx: 64, ropeParameters: true },
        2,
      ),
  };
  for (const [name, make] of Object.entries(models)) {
    test(name, async () => {
      const files = make();
      expectClose(name, await engineLogits(files, PROMPT), hfReferenceLogits(files, PROMPT));
    });
  }

  test('llama rope_parameters form gives the same logits as rope_theta + rope_scaling', () => {
    expect(hfReferenceLogits(models['llama rope_parameters form'](), PROMPT)).toEqual(
      hfReferenceLogits(models['llama GQA 4/2 untied'](), PROMPT),
    );
  });

  const folder = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
  const readFolder = async (dir: string): Promise<Files> => {
    const { readFileSync } = await import('node:fs');
    return {
      'config.json': readFileSync(`${dir}/config.json`, 'utf8'),
      'model.safetensors': new Uint8Array(readFileSync(`${dir}/model.safetensors`)),
    };
  };
  test('tinystories-656k (the embedded real Llama)', async () => {
    const dir = folder('../models/tinystories-656k');
    const ids = [1, 403, 407, 261, 378, 1270, 15, 2047, 0, 99, 1000, 7, 7, 7, 512, 300, 2];
    expectClose('tinystories', await engineLogits(dir, ids), hfReferenceLogits(await readFolder(dir), ids));
  });
  test('gpt2-tiny-random fixture (a real GPT-2 file)', async () => {
    const dir = folder('fixtures/gpt2-tiny-random');
    const ids = [50256, 15496, 11, 616, 1438, 318, 0, 50000, 13, 198, 464, 3290, 257, 1110, 286, 262, 5];
    expectClose(
      'gpt2-tiny-random',
      await engineLogits(dir, ids),
      hfReferenceLogits(await readFolder(dir), ids),
    );
  });
});

describe('(b) newer families: engine CPU reference equals the hf reference at every position', () => {
  for (const [name, make] of Object.entries(NEWER_RANDOM_MODELS)) {
    test(name, async () => {
      const files = make();
      expectClose(name, await engineLogits(files, PROMPT), hfReferenceLogits(files, PROMPT));
    });
  }
});

describe('(b) the random sizes exercise each feature (hf reference only)', () => {
  const m = NEWER_RANDOM_MODELS;
  const cases: Record<string, () => void> = {
    'llama3: scaling, and its smoothing, change the logits': () => {
      const f = m.llama3();
      expectMatters(
        'no rope_scaling',
        f,
        withConfig(f, (c) => (c.rope_scaling = null)),
      );
      expectMatters(
        'linear x8 instead of llama3',
        f,
        withConfig(f, (c) => (c.rope_scaling = { rope_type: 'linear', factor: 8 })),
      );
      expectMatters(
        'llama3 without the smoothed band',
        f,
        withConfig(f, (c) => (c.rope_scaling.high_freq_factor = c.rope_scaling.low_freq_factor + 1e-9)),
      );
    },
    'llama-linear: scaling changes the logits': () => {
      const f = m['llama-linear']();
      expectMatters(
        'no rope_scaling',
        f,
        withConfig(f, (c) => (c.rope_scaling = null)),
      );
    },
    'rope_parameters forms: the same logits as the legacy forms, and they are read': () => {
      for (const k of ['llama3', 'llama-linear', 'gemma3', 'phi']) {
        expect(hfReferenceLogits(m[`${k} rope_parameters`](), PROMPT), k).toEqual(
          hfReferenceLogits(m[k](), PROMPT),
        );
      }
      const f = m['llama3 rope_parameters']();
      expectMatters(
        'v5 rope_type default',
        f,
        withConfig(f, (c) => (c.rope_parameters.rope_type = 'default')),
      );
      const g = m['gemma3 rope_parameters']();
      expectMatters(
        'v5 gemma3 local theta',
        g,
        withConfig(g, (c) => (c.rope_parameters.sliding_attention.rope_theta = 10000)),
      );
    },
    'qwen3: the q/k norms matter': () => {
      const f = m.qwen3();
      expectMatters('no q_norm', f, renameTensors(f, 'q_norm', 'q_nrmx'));
      expectMatters('no k_norm', f, renameTensors(f, 'k_norm', 'k_nrmx'));
    },
    'gemma: (1 + w) norms, sqrt(C) scale, GeGLU differ from llama': () => {
      const f = m.gemma();
      expectMatters(
        'read as llama',
        f,
        withConfig(f, (c) => (c.model_type = 'llama')),
      );
    },
    'gemma2: soft-capping, sliding window, query_pre_attn_scalar, layer kinds matter': () => {
      const f = m.gemma2();
      expectMatters(
        'no attention softcap',
        f,
        withConfig(f, (c) => (c.attn_logit_softcapping = null)),
      );
      expectMatters(
        'no final softcap',
        f,
        withConfig(f, (c) => (c.final_logit_softcapping = null)),
      );
      expectMatters(
        'no sliding window',
        f,
        withConfig(f, (c) => (c.sliding_window = 64)),
      );
      expectMatters(
        'scale by head_dim',
        f,
        withConfig(f, (c) => (c.query_pre_attn_scalar = c.head_dim)),
      );
      expectMatters(
        'layer kinds swapped',
        f,
        withConfig(f, (c) => (c.layer_types = ['full_attention', 'sliding_attention', 'full_attention'])),
      );
    },
    'gemma3: local/global rope bases, rope scaling, sliding pattern, q/k norms matter': () => {
      const f = m.gemma3();
      expectMatters(
        'local base = global',
        f,
        withConfig(f, (c) => (c.rope_local_base_freq = c.rope_theta)),
      );
      expectMatters(
        'no global scaling',
        f,
        withConfig(f, (c) => (c.rope_scaling = null)),
      );
      expectMatters(
        'no sliding window',
        f,
        withConfig(f, (c) => (c.sliding_window = 64)),
      );
      expectMatters(
        'pattern read as layer % 2',
        f,
        withConfig(f, (c) => (c.layer_types = ['full_attention', 'sliding_attention', 'full_attention'])),
      );
      expectMatters('no q_norm', f, renameTensors(f, 'q_norm', 'q_nrmx'));
      expectMatters(
        'scale by head_dim',
        f,
        withConfig(f, (c) => (c.query_pre_attn_scalar = c.head_dim)),
      );
    },
    'phi3: the sliding window matters': () => {
      const f = m.phi3();
      expectMatters(
        'no sliding window',
        f,
        withConfig(f, (c) => (c.sliding_window = null)),
      );
    },
    'phi: partial rotary and lm_head bias matter': () => {
      const f = m.phi();
      expectMatters(
        'full rotary',
        f,
        withConfig(f, (c) => (c.partial_rotary_factor = 1)),
      );
      expectMatters('no lm_head bias', f, renameTensors(f, 'lm_head.bias', 'lm_head.bixs'));
    },
    'smollm3: the no-rope layers matter': () => {
      const f = m.smollm3();
      expectMatters(
        'rope everywhere',
        f,
        withConfig(f, (c) => (c.no_rope_layers = c.no_rope_layers.map(() => 1))),
      );
    },
  };
  for (const [name, run] of Object.entries(cases)) test(name, run);
});

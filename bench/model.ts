/**
 * Model-level benchmark: prefill tokens/s, decode tokens/s and ms per token, for the embedded
 * default model and for a random GPT-2-small-shaped model (12 layers, 768 wide, vocab 50257).
 *
 *   npm run bench:model -- [--quick] [--dtype f32|f16] [--json out.json]
 *
 * --quick (what the suite and SwiftShader can afford) uses short prompts and few tokens.
 * Figures are printed and written as JSON (default bench-out/model.json), rows in the ModelRow form
 * of bench/schema.json: the roofline is weightBytes / the bandwidth bench_copy measures first.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { peakCases } from '../src/bench/cases';
import { MODEL_COLUMNS, modelCells } from '../src/bench/format';
import type { ModelRow } from '../src/bench/schema';
import { runBenchCase, TIMING } from '../src/bench/sweep';
import { Gpu } from '../src/gpu/gpu';
import type { ModelConfig } from '../src/model/config';
import { parseConfig } from '../src/model/config';
import { defaultModelPath } from '../src/model/default-model';
import { GpuRunner } from '../src/model/runner';
import { openSource } from '../src/model/source';
import { loadWeights, type ModelWeights } from '../src/model/weights';
import { randn } from '../test/kernels/harness';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    dtype: { type: 'string', default: 'f32' },
    json: { type: 'string', default: 'bench-out/model.json' },
  },
});
const dtype = values.dtype === 'f16' ? 'f16' : 'f32';
const quick = values.quick;

/** A GPT-2-small-shaped model with random weights (only speed is measured). */
function gpt2Small(): { cfg: ModelConfig; w: ModelWeights } {
  const C = 768;
  const V = 50257;
  const F = 3072;
  const P = 1024;
  const L = 12;
  const cfg = parseConfig({
    model_type: 'gpt2',
    vocab_size: V,
    n_embd: C,
    n_layer: L,
    n_head: 12,
    n_positions: P,
    layer_norm_epsilon: 1e-5,
    activation_function: 'gelu_new',
  });
  let seed = 1;
  const mat = (rows: number, cols: number, name: string) => ({
    data: randn(rows * cols, seed++, 0.02, false),
    rows,
    cols,
    name,
  });
  const lin = (K: number, N: number, name: string) => ({
    w: randn(K * N, seed++, 0.02, false),
    layout: 'KN' as const,
    N,
    K,
    b: new Float32Array(N),
    name,
  });
  const norm = (name: string) => ({ w: new Float32Array(C).fill(1), b: new Float32Array(C), name });
  const wte = mat(V, C, 'wte');
  const layers = Array.from({ length: L }, (_, l) => ({
    attnNorm: norm(`h.${l}.ln_1`),
    qkv: lin(C, 3 * C, `h.${l}.attn.c_attn`),
    o: lin(C, C, `h.${l}.attn.c_proj`),
    mlpNorm: norm(`h.${l}.ln_2`),
    fc: lin(C, F, `h.${l}.mlp.c_fc`),
    proj: lin(F, C, `h.${l}.mlp.c_proj`),
  }));
  return { cfg, w: { wte, wpe: mat(P, C, 'wpe'), layers, finalNorm: norm('ln_f'), lmHead: wte } };
}

async function defaultModel(): Promise<{ cfg: ModelConfig; w: ModelWeights }> {
  const files = openSource(defaultModelPath());
  const cfg = parseConfig(await files.readJSON('config.json'));
  return { cfg, w: await loadWeights(files, cfg) };
}

async function measure(
  gpu: Gpu,
  name: string,
  m: { cfg: ModelConfig; w: ModelWeights },
  bandwidthGBps: number | null,
): Promise<ModelRow> {
  const promptTokens = quick ? 16 : 128;
  const decodeTokens = quick ? 4 : 64;
  const maxContext = Math.min(m.cfg.maxContext, promptTokens + decodeTokens + 1);
  const runner = await GpuRunner.create(gpu, m.cfg, m.w, { dtype, maxContext, validVocab: m.cfg.vocabSize });
  try {
    const ids = Array.from({ length: promptTokens }, (_, i) => (i * 7919) % m.cfg.vocabSize);
    await runner.prefill(ids.slice(0, 2), true); // warm-up: builds every pipeline of both paths
    await runner.step(1, 2, true);
    let t = performance.now();
    let next = (await runner.prefill(ids, true)) as number;
    const prefillMs = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < decodeTokens; i++) next = (await runner.step(next, promptTokens + i, true)) as number;
    const decodeMs = performance.now() - t;
    const msPerToken = decodeMs / decodeTokens;
    const roofline = bandwidthGBps ? runner.weightBytes / (bandwidthGBps * 1e6) : null;
    return {
      model: name,
      dtype,
      weightBytes: runner.weightBytes,
      promptTokens,
      decodeTokens,
      prefillTokensPerSecond: promptTokens / (prefillMs / 1000),
      decodeTokensPerSecond: decodeTokens / (decodeMs / 1000),
      msPerToken,
      rooflineMsPerToken: roofline,
      shareOfRoofline: roofline === null ? null : roofline / msPerToken,
    };
  } finally {
    runner.destroy();
  }
}

const gpu = await Gpu.create();
console.log(
  `adapter: ${gpu.adapter.vendor} ${gpu.adapter.architecture} ${gpu.adapter.description}` +
    (gpu.adapter.isSoftware ? ' (software: these figures measure the CPU, not a GPU)' : ''),
);
const copy = peakCases('quick').find((c) => c.kernel === 'bench_copy' && c.dims.N === 4 << 20)!;
const bw = await runBenchCase(gpu, copy, TIMING.quick);
const bandwidthGBps = bw.status === 'ok' ? bw.gbps : null;
console.log(`bandwidth (bench_copy ${copy.shape}): ${bandwidthGBps?.toFixed(2) ?? '—'} GB/s`);
const rows: ModelRow[] = [];
rows.push(await measure(gpu, 'tinystories-656k (default)', await defaultModel(), bandwidthGBps));
rows.push(await measure(gpu, 'gpt2-small-shaped (random)', gpt2Small(), bandwidthGBps));
const table = [MODEL_COLUMNS, ...rows.map(modelCells)];
const widths = MODEL_COLUMNS.map((_, c) => Math.max(...table.map((r) => r[c].length)));
for (const r of table)
  console.log(r.map((x, c) => (c < 2 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  '));
const report = { date: new Date().toISOString(), adapter: gpu.adapter, quick, bandwidthGBps, rows };
mkdirSync(dirname(values.json!), { recursive: true });
writeFileSync(values.json!, `${JSON.stringify(report, null, 2)}\n`);
console.log(`wrote ${values.json}`);
gpu.destroy();

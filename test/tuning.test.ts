/**
 * Kernel selection per adapter: a candidate that does not match its CPU twin is never chosen, a
 * second load reads the cache instead of tuning, a corrupt or stale cache is ignored and rewritten,
 * forced variants are used or refused with InvalidOptionError.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { version } from '../package.json';
import { matmul as matmulCpu } from '../src/cpu/matmul';
import { InvalidOptionError } from '../src/errors';
import { type GpuWeightFormat, QUANT_FORMATS } from '../src/formats/formats';
import { runAndCompare, uniform, uploadCheckData } from '../src/gpu/check';
import { Gpu } from '../src/gpu/gpu';
import { Tuning, type TuningChoice } from '../src/gpu/tuning';
import { matmul } from '../src/kernels/matmul';
import { defaultModelPath } from '../src/model/default-model';
import { matmulShapeKey, matmulTrial } from '../src/model/kernel-choice';
import { loadModel } from '../src/model/model';

const dir = mkdtempSync(join(tmpdir(), 'wgpt-tuning-'));
const cachePath = (name: string) => join(dir, name);

async function greedy(model: Awaited<ReturnType<typeof loadModel>>): Promise<number[]> {
  for await (const e of model.generate('Once upon a time', { maxNewTokens: 8, temperature: 0 })) {
    if ('done' in e) return e.tokenIds;
  }
  throw new Error('no summary');
}

const sources = (choices: TuningChoice[]) => new Set(choices.map((c) => c.source));

describe('tuning table', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await Gpu.create({ tuning: { store: null } });
  });
  afterAll(() => gpu?.destroy());

  it('never chooses a candidate that fails its check against the CPU twin, however fast', async () => {
    const M = 1;
    const K = 256;
    const N = 300;
    const x = uniform(M * K, 1);
    const w = uniform(N * K, 2);
    const expected = new Float32Array(M * N);
    matmulCpu(expected, x, w, null, M, K, N, { wLayout: 'NK', format: 'f32' });
    const data = { inputs: { x, w }, outputs: { out: M * N } };
    const up = await uploadCheckData(gpu, 'tuning test', data);
    // 'wrong' reads one k of each row instead of all of them: far faster, and wrong.
    const run = (name: string) =>
      name === 'wrong'
        ? matmul(gpu, up.out.out, up.inp.x, up.inp.w, null, M, 1, N, { wLayout: 'NK', format: 'f32' })
        : matmul(gpu, up.out.out, up.inp.x, up.inp.w, null, M, K, N, {
            wLayout: 'NK',
            format: 'f32',
            kernel: { kind: 'gemv', R: 1 },
          });
    const tuning = new Tuning(gpu, { store: null });
    try {
      const name = await tuning.choose('matmul', 'test', () => ({
        candidates: ['wrong', 'right'],
        fallback: 'right',
        check: async (n) => {
          const d = await run(n);
          try {
            return await runAndCompare(gpu, d, up.out, { out: expected }, { atol: 1e-4, rtol: 1e-4 });
          } finally {
            d.destroy();
          }
        },
        build: run,
      }));
      expect(name).toBe('right');
      const [choice] = await tuning.choices();
      expect(choice.source).toBe('tuned');
      expect(choice.candidates.find((c) => c.name === 'wrong')).toMatchObject({ status: 'failed', ms: null });
      expect(choice.candidates.find((c) => c.name === 'right')?.status).toBe('chosen');
    } finally {
      up.destroy();
    }
  });

  it('a candidate that throws while building is skipped with a note, not an error', async () => {
    const notes: string[] = [];
    const tuning = new Tuning(gpu, { store: null, log: (m) => notes.push(m) });
    const ok = { pass: true, maxError: 0, message: '' };
    const name = await tuning.choose('matmul', 'test', () => ({
      candidates: ['broken', 'fine'],
      fallback: 'fine',
      check: async (n) => {
        if (n === 'broken') throw new Error('does not compile');
        return ok;
      },
      build: async () => {
        const [o, x, w] = await Promise.all(['o', 'x', 'w'].map((n) => gpu.createBuffer(n, 64)));
        const d = await matmul(gpu, o, x, w, null, 1, 4, 4, { wLayout: 'NK', format: 'f32' });
        return Object.assign(d, {
          destroy: () => {
            for (const b of [o, x, w]) b.destroy();
          },
        });
      },
    }));
    expect(name).toBe('fine');
    expect(notes.some((n) => n.includes('broken') && n.includes('does not compile'))).toBe(true);
  });

  it('the matmul trial checks candidates of every weight format against the CPU twin', async () => {
    const formats: GpuWeightFormat[] = ['f32', 'f16', ...QUANT_FORMATS];
    for (const format of formats) {
      const s = { M: 1, K: 512, N: 19, wLayout: 'NK' as const, format, bias: true, accumulate: true };
      expect(matmulShapeKey(s)).toBe(`M1 K512 N19 NK${format === 'f32' ? '' : ` ${format}`} +b +=`);
      const trial = matmulTrial(gpu, s, () => Promise.reject(new Error('not timed here')));
      try {
        // The default and a cooperative kernel: the two ways a quantized weight is read (w4, wdot).
        for (const name of [trial.fallback, trial.candidates.find((c) => c.startsWith('coop'))!]) {
          const r = await trial.check(name);
          expect(r.message, `${format} ${name}`).toBe('');
          expect(r.pass).toBe(true);
        }
      } finally {
        trial.dispose?.();
      }
    }
  });
});

describe('tuned models', () => {
  it('tunes on the first load, reads the cache on the second, and both generate the same tokens', async () => {
    const path = cachePath('second-load.json');
    const first = await loadModel(defaultModelPath(), { tuningCache: path });
    const tuned = await first.kernelChoices();
    const ids = await greedy(first);
    first.dispose();
    expect(tuned.length).toBeGreaterThan(4);
    expect(sources(tuned).has('tuned')).toBe(true);
    expect(sources(tuned).has('cache')).toBe(false);
    for (const c of tuned.filter((c) => c.source === 'tuned')) {
      expect(c.candidates.filter((r) => r.status === 'chosen').map((r) => r.name)).toEqual([c.name]);
    }
    const file = JSON.parse(readFileSync(path, 'utf8'));
    const [adapter] = Object.values(file.adapters) as { version: string; entries: object }[];
    expect(adapter.version).toBe(version);

    const notes: string[] = [];
    const second = await loadModel(defaultModelPath(), {
      tuningCache: path,
      onTuningNote: (m) => notes.push(m),
    });
    const cached = await second.kernelChoices();
    expect(await greedy(second)).toEqual(ids);
    second.dispose();
    expect(sources(cached).has('tuned')).toBe(false);
    expect(cached.filter((c) => c.source === 'cache').length).toBe(
      tuned.filter((c) => c.source === 'tuned').length,
    );
    expect(notes).toEqual([]);
    for (const c of cached)
      expect(c.name).toBe(tuned.find((t) => t.op === c.op && t.shape === c.shape)?.name);
  });

  it('ignores and rewrites a corrupt, stale or foreign cache', async () => {
    const path = cachePath('bad.json');
    const load = async () => {
      const m = await loadModel(defaultModelPath(), { tuningCache: path });
      const choices = await m.kernelChoices();
      m.dispose();
      return choices;
    };
    writeFileSync(path, '{ this is not json');
    expect(sources(await load()).has('tuned')).toBe(true);
    const good = JSON.parse(readFileSync(path, 'utf8'));
    const key = Object.keys(good.adapters)[0];
    expect(sources(await load())).not.toContain('tuned');

    // Another wgpt version, then an entry naming a variant that does not exist.
    writeFileSync(
      path,
      JSON.stringify({ ...good, adapters: { [key]: { ...good.adapters[key], version: '0.0.0' } } }),
    );
    expect(sources(await load()).has('tuned')).toBe(true);
    const entries = JSON.parse(readFileSync(path, 'utf8')).adapters[key].entries;
    const [firstKey] = Object.keys(entries);
    entries[firstKey] = { ...entries[firstKey], name: 'gemv.wg64.r9' };
    writeFileSync(path, JSON.stringify({ format: 1, adapters: { [key]: { version, entries } } }));
    const again = await load();
    const retuned = again.filter((c) => c.source === 'tuned');
    expect(retuned.map((c) => `${c.op} ${c.shape}`)).toEqual([firstKey]);
    expect(retuned[0].name).not.toBe('gemv.wg64.r9');
  });

  it("uses forced variants, refuses unknown or unfitting ones with InvalidOptionError, and 'off' uses the defaults", async () => {
    const forced = await loadModel(defaultModelPath(), {
      tuningCache: false,
      kernels: { matmul: 'tile', attention: 'online.wg32', rmsnorm: 'wg64', argmax: 'wg16' },
    });
    const choices = await forced.kernelChoices();
    expect(sources(choices)).toEqual(new Set(['forced']));
    expect(new Set(choices.filter((c) => c.op === 'matmul').map((c) => c.name))).toEqual(
      new Set(['tile.wg64']),
    );
    const ids = await greedy(forced);
    forced.dispose();

    const off = await loadModel(defaultModelPath(), { tuning: 'off', tuningCache: false });
    expect(sources(await off.kernelChoices())).toEqual(new Set(['default']));
    expect(await greedy(off)).toEqual(ids);
    off.dispose();

    const bad: Record<string, string>[] = [
      { matmul: 'no-such-kernel' },
      { softmax: 'online.wg64' },
      { attention: 'split.wg64' },
    ];
    for (const kernels of bad) {
      const e = await loadModel(defaultModelPath(), { kernels }).catch((x) => x);
      expect(e).toBeInstanceOf(InvalidOptionError);
      expect(e.option).toBe('kernels');
    }
    // A well-formed name that this adapter cannot run (a workgroup over its limits).
    const e = await loadModel(defaultModelPath(), {
      tuningCache: false,
      kernels: { matmul: 'gemv.wg4096' },
    }).catch((x) => x);
    expect(e).toBeInstanceOf(InvalidOptionError);
    expect(e.message).toContain('gemv.wg4096');
  });
});

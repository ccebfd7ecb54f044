/**
 * The sampling rule's CPU pieces (src/cpu/sample.ts: the draw, the seen bits, the twin's outputs)
 * and the GPU wrapper's argument checks. The GPU kernel against the twin: test/kernels/sample.cases.ts
 * and test/sample-draws.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawFrom, filterDistribution, type SampleStep, sample, seenBits } from '../src/cpu/sample';
import { Gpu } from '../src/gpu/gpu';
import { sample as sampleGpu, seenWords, writeSeen } from '../src/kernels/sample';
import { Rng, sample as sampleRng } from '../src/model/sampler';

describe('drawFrom', () => {
  const p = new Float64Array([0, 0.25, 0, 0.5, 0.25]);
  it('takes the first id where r < the running sum, skipping zeros', () => {
    expect(drawFrom(p, 0)).toBe(1);
    expect(drawFrom(p, 0.2499)).toBe(1);
    expect(drawFrom(p, 0.25)).toBe(3);
    expect(drawFrom(p, 0.75)).toBe(4);
    expect(drawFrom(p, 0.999999)).toBe(4);
  });
  it('takes the last candidate when rounding leaves the sum under r', () => {
    expect(drawFrom(new Float64Array([0.3, 0.3, 0.3999999, 0]), 0.99999999)).toBe(2);
  });
  it('is what the seeded sampler draws with the next r', () => {
    const logits = new Float32Array([1, 2, 0.5, 3, -1]);
    const opts = { temperature: 0.9, topK: 4, validVocab: 5 };
    const a = new Rng(9);
    const b = new Rng(9);
    for (let k = 0; k < 50; k++) {
      expect(sampleRng(logits, opts, a)).toBe(drawFrom(filterDistribution(logits, opts), b.next()));
    }
  });
});

describe('seenBits', () => {
  it('sets bit i%32 of word i/32 for each id below V, once', () => {
    const w = seenBits([0, 31, 32, 31, 69, 70, -1], 70);
    expect(w.length).toBe(3);
    expect(Array.from(w)).toEqual([0x80000001, 1, 32]);
    expect(seenWords(70)).toBe(3);
  });
});

describe('the CPU twin', () => {
  const logits = new Float32Array([2, Number.NaN, 5, 5, -1, 9]);
  it('draws from the history in seen, marks the pick, and lists the top N with the log-sum-exp', () => {
    const out = new Uint32Array(1 + 4);
    const top = new Float32Array(1 + 4);
    const seen = seenBits([2], 6);
    // validVocab 5: id 5 is never chosen; id 2 is penalized (5 / 2), so greedy picks 3.
    sample(out, top, seen, logits, 6, 5, { temperature: 0, repetitionPenalty: 2, r: 0.5 }, { topN: 4 });
    expect(out[0]).toBe(3);
    expect(Array.from(seen)).toEqual([(1 << 2) | (1 << 3)]);
    // Raw logits, largest first, lower id on ties; NaN as -inf; past validVocab none.
    expect(Array.from(out.subarray(1))).toEqual([2, 3, 0, 4]);
    expect(Array.from(top.subarray(1))).toEqual([5, 5, 2, -1]);
    const lse = Math.log(Math.exp(2) + 2 * Math.exp(5) + Math.exp(-1));
    expect(top[0]).toBeCloseTo(lse, 5);
  });
  it('leaves seen alone when markSeen is false, and pads the list past n', () => {
    const out = new Uint32Array(1 + 3);
    const top = new Float32Array(1 + 3);
    const seen = new Uint32Array(1);
    const step: SampleStep = { temperature: 0.5, r: 0.3 };
    sample(out, top, seen, logits, 6, 2, step, { topN: 3, markSeen: false });
    expect(out[0]).toBe(0);
    expect(seen[0]).toBe(0);
    expect(Array.from(out.subarray(1))).toEqual([0, 1, 0xffffffff]);
    expect(Array.from(top.subarray(1))).toEqual([2, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    expect(top[0]).toBeCloseTo(4, 5); // log exp(2 / 0.5)
  });
});

describe('the GPU wrapper', () => {
  let gpu: Gpu;
  let row: GPUBuffer;
  let seen: GPUBuffer;
  let out: GPUBuffer;
  beforeAll(async () => {
    // No adapter means failure, never a skip.
    gpu = await Gpu.create();
    row = await gpu.createBuffer('row', 100 * 4);
    seen = await gpu.createBuffer('seen', 16);
    out = await gpu.createBuffer('out', 256);
  });
  afterAll(() => gpu?.destroy());
  const step: SampleStep = { temperature: 1, r: 0.5 };

  it('rejects bad sizes, buffers and options before any GPU work', async () => {
    const bad = (f: () => Promise<unknown>, msg: RegExp) => expect(f()).rejects.toThrow(msg);
    await bad(() => sampleGpu(gpu, out, null, seen, row, 0, 1, step), /V must be/);
    await bad(() => sampleGpu(gpu, out, null, seen, row, 101, 101, step), /logits holds fewer/);
    await bad(() => sampleGpu(gpu, out, null, seen, row, 100, 0, step), /validVocab/);
    await bad(() => sampleGpu(gpu, out, null, seen, row, 100, 100, step, { topN: 65 }), /topN/);
    await bad(() => sampleGpu(gpu, out, null, seen, row, 100, 100, step, { topN: 4 }), /top output/);
    await bad(() => sampleGpu(gpu, out, out, seen, row, 100, 100, step), /top output/);
    await bad(
      () => sampleGpu(gpu, out, null, seen, row, 100, 100, step, { workgroupSize: 40 }),
      /workgroupSize/,
    );
    const small = { buffer: seen, offset: 0, size: 8 };
    await bad(() => sampleGpu(gpu, out, null, small, row, 100, 100, step), /seen holds fewer/);
    for (const [s, msg] of [
      [{ temperature: -1, r: 0.5 }, /temperature/],
      [{ temperature: 1, topK: 1.5, r: 0.5 }, /topK/],
      [{ temperature: 1, topP: 0, r: 0.5 }, /topP/],
      [{ temperature: 1, minP: 2, r: 0.5 }, /minP/],
      [{ temperature: 1, repetitionPenalty: 0, r: 0.5 }, /repetitionPenalty/],
      [{ temperature: 1, r: 1 }, /r must be/],
    ] as const) {
      await bad(() => sampleGpu(gpu, out, null, seen, row, 100, 100, s), msg);
    }
  });

  it('checks every update, and writeSeen sets the bits of the history', async () => {
    const d = await sampleGpu(gpu, out, null, seen, row, 100, 100, step);
    expect(() => d.update({ temperature: 1, r: -0.1 })).toThrow(/r must be/);
    writeSeen(gpu, seen, [1, 64, 99, 200], 100);
    expect(Array.from(new Uint32Array(await gpu.read(seen, 16)))).toEqual([2, 0, 1, 1 << 3]);
    d.destroy();
  });
});

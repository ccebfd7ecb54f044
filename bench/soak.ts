/**
 * Soak test: many short generations and aborts on one model, printing the live GPU buffers (count
 * and bytes) at the start and the end, which must be equal. Exits 1 when they are not, or when any
 * request ends with an error.
 *
 *   npm run soak                                   # 1000 generations, 100 aborts, the embedded model
 *   npm run soak -- --generations 200 --aborts 20 --model path/to/model
 */
import { parseArgs } from 'node:util';
import { defaultModelPath } from '../src/model/default-model';
import { loadModel } from '../src/model/model';
import type { GenerateEvent, GenerateSummary } from '../src/types';

const { values } = parseArgs({
  options: {
    generations: { type: 'string', default: '1000' },
    aborts: { type: 'string', default: '100' },
    model: { type: 'string' },
    json: { type: 'string' },
  },
});
const generations = Number(values.generations);
const aborts = Number(values.aborts);
const PROMPTS = ['Once upon a time', 'The cat', 'Lily and Tom went to', 'One day, a little bird', 'Hi'];

const model = await loadModel(values.model ?? defaultModelPath(), { tuning: 'off' });
/** Buffers live once the model is loaded and has run once (lazily created pipelines' uniforms included). */
const drain = async (it: AsyncIterable<GenerateEvent>): Promise<GenerateSummary> => {
  let summary: GenerateSummary | undefined;
  for await (const e of it) if ('done' in e) summary = e;
  if (!summary) throw new Error('no summary');
  return summary;
};
await drain(model.generate('warm up', { maxNewTokens: 2, temperature: 1, seed: 1 }));
const start = model.gpu.liveBuffers();
console.log(`start: ${start.count} live GPU buffers, ${start.bytes} bytes`);

const t0 = performance.now();
const reasons: Record<string, number> = {};
let tokens = 0;
for (let i = 0; i < generations; i++) {
  const greedy = i % 3 === 0;
  const s = await drain(
    model.generate(PROMPTS[i % PROMPTS.length], {
      maxNewTokens: 1 + (i % 6),
      temperature: greedy ? 0 : 0.8,
      topK: i % 4 === 1 ? 20 : 0,
      topP: i % 4 === 2 ? 0.9 : 1,
      seed: i,
    }),
  );
  reasons[s.finishReason] = (reasons[s.finishReason] ?? 0) + 1;
  tokens += s.generatedTokens;
  if ((i + 1) % 100 === 0) {
    const live = model.gpu.liveBuffers();
    console.log(`${i + 1} generations: ${live.count} buffers, ${live.bytes} bytes`);
  }
}
// Aborts: before the request runs (queued behind another), and in the middle of a generation.
let aborted = 0;
for (let i = 0; i < aborts; i++) {
  const c = new AbortController();
  if (i % 2 === 0) {
    const first = drain(model.generate(PROMPTS[i % PROMPTS.length], { maxNewTokens: 3, seed: i }));
    const queued = drain(model.generate('queued', { maxNewTokens: 3, signal: c.signal }));
    c.abort();
    await first;
    if ((await queued).finishReason === 'abort') aborted++;
  } else {
    let n = 0;
    for await (const e of model.generate(PROMPTS[i % PROMPTS.length], {
      maxNewTokens: 20,
      signal: c.signal,
    })) {
      if ('done' in e) {
        if (e.finishReason === 'abort') aborted++;
      } else if (++n === 2) c.abort();
    }
  }
}
const end = model.gpu.liveBuffers();
const seconds = (performance.now() - t0) / 1000;
console.log(`end: ${end.count} live GPU buffers, ${end.bytes} bytes`);
console.log(
  `${generations} generations (${tokens} tokens; ${JSON.stringify(reasons)}), ${aborted}/${aborts} aborted, in ${seconds.toFixed(1)} s`,
);
const flat = end.count === start.count && end.bytes === start.bytes;
console.log(flat ? 'buffers flat: OK' : 'buffers changed: LEAK');
if (values.json) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    values.json,
    JSON.stringify({ start, end, generations, tokens, reasons, aborts, aborted, seconds }, null, 2),
  );
}
await model.dispose();
process.exit(flat && aborted === aborts ? 0 : 1);

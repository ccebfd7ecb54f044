/**
 * inspect's cost against a plain prefill of the same prompt (issue 12: within 3x): the embedded
 * model by default, a 64-token prompt, every layer and head, median of several runs.
 *
 *   npm run bench:inspect                     # prints the figures
 *   npm run bench:inspect -- --tokens 32 --runs 7 --model path --json out.json
 */
import { parseArgs } from 'node:util';
import { defaultModelPath } from '../src/model/default-model';
import { loadModel } from '../src/model/model';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '64' },
    runs: { type: 'string', default: '5' },
    model: { type: 'string' },
    json: { type: 'string' },
  },
});
const model = await loadModel(values.model ?? defaultModelPath());
const T = Math.min(Number(values.tokens), model.inspectMaxTokens);
const ids = Array.from({ length: T }, (_, i) => 1 + ((i * 7) % (model.config.vocabSize - 1)));
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn: () => Promise<unknown>) => {
  await fn(); // warm: tapes recorded, kernels compiled
  const ms: number[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    // Another prompt in the KV cache, so the prefill cannot reuse the last run's.
    await model.logits([0]);
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
};
// A prefill: the whole prompt through the model, the next token read back (generate's first step).
const prefill = await time(async () => {
  for await (const e of model.generate({ ids }, { temperature: 0, maxNewTokens: 1 })) void e;
});
const all = { attention: true, logitLens: true, residual: true };
const inspect = await time(() => model.inspect(ids, all));
const attentionOnly = await time(() => model.inspect(ids, { attention: true }));
const ratio = inspect / prefill;
console.log(
  `${model.checkpoint.source}, ${T} tokens, ${model.config.layers} layers x ${model.config.heads} heads, ${model.adapter.description || model.adapter.vendor}`,
);
console.log(`prefill + 1 token: ${prefill.toFixed(1)} ms`);
console.log(
  `inspect (attention, logit lens, residual): ${inspect.toFixed(1)} ms  (${ratio.toFixed(2)}x the prefill; target <= 3x)`,
);
console.log(`inspect (attention only): ${attentionOnly.toFixed(1)} ms`);
if (values.json) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    values.json,
    JSON.stringify(
      {
        model: model.checkpoint.source,
        tokens: T,
        prefillMs: prefill,
        inspectMs: inspect,
        attentionOnlyMs: attentionOnly,
        ratio,
      },
      null,
      2,
    ),
  );
}
await model.dispose();

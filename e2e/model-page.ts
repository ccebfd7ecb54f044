/**
 * Runs the whole-model checks (test/model/checks.ts) in the browser against the shipped models,
 * fetched over HTTP from the dev server. Results land in `window.modelResults`.
 */
import { modelChecks } from '../test/model/checks';
import { embeddingChecks } from '../test/model/explain-checks';
import { ggufChecks } from '../test/model/gguf-checks';

// The embeddings' GPU-vs-CPU checks of one GPT-2 and one Llama in f32 (the Node suite runs them all).
const browserEmbeddingChecks = embeddingChecks.filter((c) =>
  /^random (gpt2|llama GQA[^(]*) \(f32\)/.test(c.name),
);

interface CheckResult {
  name: string;
  pass: boolean;
  message: string;
  ms: number;
}

declare global {
  interface Window {
    modelResults?: CheckResult[];
  }
}

const log = document.getElementById('log')!;
const paths = {
  tinystories: new URL('/models/tinystories-656k', location.href).href,
  gpt2TinyRandom: new URL('/test/fixtures/gpt2-tiny-random', location.href).href,
  stories260k: new URL('/models/stories260K-gguf/stories260K.gguf', location.href).href,
};

async function main(): Promise<void> {
  const results: CheckResult[] = [];
  if (browserEmbeddingChecks.length !== 2)
    throw new Error('the embedding checks were renamed: update model-page.ts');
  // ?part=i&parts=n runs every n-th check from the i-th: one Playwright test per part, each in its time limit.
  const q = new URLSearchParams(location.search);
  const parts = Number(q.get('parts') ?? 1);
  const part = Number(q.get('part') ?? 0);
  const all = [...modelChecks, ...ggufChecks, ...browserEmbeddingChecks];
  for (const c of all.filter((_, i) => i % parts === part)) {
    const t = performance.now();
    try {
      await c.run(paths);
      results.push({ name: c.name, pass: true, message: '', ms: performance.now() - t });
    } catch (e) {
      const err = e as Error;
      results.push({
        name: c.name,
        pass: false,
        message: `${err.name}: ${err.message}`,
        ms: performance.now() - t,
      });
    }
    log.textContent = results.map((r) => `${r.pass ? 'ok  ' : 'FAIL'} ${r.name} ${r.message}`).join('\n');
  }
  window.modelResults = results;
}

void main();

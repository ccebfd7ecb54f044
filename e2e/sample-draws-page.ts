/**
 * Runs the GPU sampler's draw check (test/sample-draws.ts) in the browser, both heads; the
 * statistics land in `window.sampleDraws` and in the page text.
 */
import { Gpu } from '../src/gpu/gpu';
import { type DrawStats, runDraws } from '../test/sample-draws';

declare global {
  interface Window {
    sampleDraws?: { stats: DrawStats[]; error?: string };
  }
}

const log = document.getElementById('log')!;

async function main(): Promise<void> {
  const gpu = await Gpu.create();
  const stats: DrawStats[] = [];
  for (const head of ['steep', 'flat'] as const) {
    const s = await runDraws(gpu, head);
    stats.push(s);
    log.textContent = stats
      .map(
        (x) =>
          `${x.head}: support ${x.support}, tv ${x.tv.toFixed(4)} <= ${x.bound.toFixed(4)}, agree ${x.agree}/${x.draws}`,
      )
      .join('\n');
  }
  window.sampleDraws = { stats };
  gpu.destroy();
}

main().catch((e: Error) => {
  log.textContent = `error: ${e.message}`;
  window.sampleDraws = { stats: [], error: `${e.name}: ${e.message}` };
});

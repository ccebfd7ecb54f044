/**
 * Runs the kernel case tables (test/kernels/*.cases.ts) in the browser. `?kernel=NAME` selects
 * one table; the results land in `window.kernelResults` and in the page text.
 */
import { Gpu } from '../src/gpu/gpu';
import { type CaseResult, loadCaseTables, runCase } from '../test/kernels/harness';

declare global {
  interface Window {
    kernelResults?: { results: CaseResult[]; variantsCompiled: number; adapter: string; error?: string };
  }
}

const log = document.getElementById('log')!;
const kernel = new URLSearchParams(location.search).get('kernel');

async function main(): Promise<void> {
  const gpu = await Gpu.create();
  const tables = await loadCaseTables();
  const table = kernel ? tables[kernel] : undefined;
  if (!table) throw new Error(`no case table for kernel '${kernel}'`);
  let variantsCompiled = 0;
  for (const v of table.variants) {
    await gpu.pipeline(kernel!, v);
    variantsCompiled++;
  }
  const results: CaseResult[] = [];
  for (const c of table.cases) {
    const r = await runCase(gpu, kernel!, c);
    results.push(r);
    log.textContent = results.map((x) => `${x.pass ? 'ok  ' : 'FAIL'} ${x.name} ${x.message}`).join('\n');
  }
  window.kernelResults = { results, variantsCompiled, adapter: gpu.adapter.architecture };
  gpu.destroy();
}

main().catch((e: Error) => {
  log.textContent = `error: ${e.message}`;
  window.kernelResults = { results: [], variantsCompiled: 0, adapter: '', error: `${e.name}: ${e.message}` };
});

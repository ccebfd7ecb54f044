/**
 * Every kernel's table of cases on the GPU in Node (Dawn), against its CPU twin; every shader
 * variant compiles. The same tables run in Chromium (e2e/kernels.spec.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gpu } from '../src/gpu/gpu';
import { loadCaseTables, runCase } from './kernels/harness';

const tables = await loadCaseTables();
let gpu: Gpu;

beforeAll(async () => {
  // No adapter means failure, never a skip.
  gpu = await Gpu.create();
});
afterAll(() => gpu?.destroy());

for (const [kernel, table] of Object.entries(tables)) {
  describe(kernel, () => {
    it('compiles every variant', async () => {
      expect(table.variants.length).toBeGreaterThan(0);
      for (const v of table.variants) await gpu.pipeline(kernel, v);
    });
    for (const c of table.cases) {
      it(c.name, async () => {
        const r = await runCase(gpu, kernel, c);
        expect(r.message).toBe('');
        expect(r.pass).toBe(true);
      });
    }
  });
}

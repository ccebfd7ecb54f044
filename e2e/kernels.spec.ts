/** The kernel case tables in headless Chromium (WebGPU on SwiftShader), one test per kernel. */
import { readdirSync } from 'node:fs';
import { expect, test } from '@playwright/test';

const kernels = readdirSync(new URL('../test/kernels', import.meta.url))
  .filter((f) => f.endsWith('.cases.ts'))
  .map((f) => f.replace('.cases.ts', ''));

test('every kernel has a case table', () => {
  const shaders = readdirSync(new URL('../shaders', import.meta.url)).map((f) => f.replace('.wgsl', ''));
  expect(kernels.sort()).toEqual(shaders.sort());
});

for (const kernel of kernels) {
  test(`kernel ${kernel} matches its CPU twin in Chromium`, async ({ page }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`/e2e/kernels.html?kernel=${kernel}`);
    const handle = await page.waitForFunction(() => window.kernelResults, undefined, { timeout: 540_000 });
    const out = (await handle.jsonValue())!;
    expect(out.error).toBeUndefined();
    expect(out.results.length).toBeGreaterThan(0);
    const failed = out.results.filter((r) => !r.pass).map((r) => `${r.name}: ${r.message}`);
    expect(failed).toEqual([]);
    expect(out.variantsCompiled).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });
}

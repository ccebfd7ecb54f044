/** The GPU sampler's draw check (test/sample-draws.ts) in headless Chromium (WebGPU on SwiftShader). */
import { expect, test } from '@playwright/test';

test('GPU sampler draws match the CPU rule and distribution in Chromium', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/e2e/sample-draws.html');
  const handle = await page.waitForFunction(() => window.sampleDraws, undefined, { timeout: 540_000 });
  const out = (await handle.jsonValue())!;
  expect(out.error).toBeUndefined();
  expect(out.stats.map((s) => s.head)).toEqual(['steep', 'flat']);
  for (const s of out.stats) {
    expect(s.filtered).toBe(0);
    expect(s.agree).toBeGreaterThanOrEqual(s.draws * 0.995);
    for (const d of s.disagreements) expect(d.boundaryDistance).toBeLessThan(1e-5);
    expect(s.tv).toBeLessThanOrEqual(s.bound);
  }
  expect(errors).toEqual([]);
});

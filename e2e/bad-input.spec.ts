/** The bad-input corpus and a fuzz run of the loading paths (e2e/bad-input-page.ts) in headless Chromium. */
import { expect, test } from '@playwright/test';

test('malformed model files fail typed, naming file and tensor or field, in Chromium', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/e2e/bad-input.html');
  const handle = await page.waitForFunction(() => window.badInput, undefined, { timeout: 300_000 });
  const out = (await handle.jsonValue())!;
  expect(out.error).toBeUndefined();
  expect(out.cases).toBeGreaterThanOrEqual(60);
  expect(out.failures).toEqual([]);
  expect(out.fuzzed).toBe(300);
  expect(out.fuzzFailures).toEqual([]);
  expect(errors).toEqual([]);
});

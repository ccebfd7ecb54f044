/**
 * The demo's "Cached models" panel in Chromium: after the embedded model loads, the panel lists
 * it with its size; Evict removes it, and the next load downloads its files again.
 */
import { expect, test } from '@playwright/test';

test('the Cached models panel lists the loaded model with its size and evicts it', async ({
  page,
  context,
}) => {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
  const requests: string[] = [];
  context.on('request', (r) => {
    if (r.url().includes('model.safetensors')) requests.push(`${r.method()} ${r.url()}`);
  });
  await page.goto('/demo/');
  await expect(page.locator('#model-status')).toHaveAttribute('data-state', 'loaded');
  const panel = page.locator('#cache-panel');
  await panel.locator('summary').click();
  const row = panel.locator('li[data-model$="/models/tinystories-656k"]');
  await expect(row).toHaveCount(1);
  // The embedded model: config, tokenizer files and 2.6 MB of weights.
  await expect(row.locator('.size')).toContainText(/\d+ files, 2\.\d MB/);
  await expect(panel.locator('summary')).toContainText(/Cached models \(\d+, /);

  await row.locator('button', { hasText: 'Evict' }).click();
  await expect(row).toHaveCount(0);
  requests.length = 0;
  await page.click('#load');
  await expect(page.locator('#model-status')).toHaveAttribute('data-loads', '2');
  expect(requests.length).toBeGreaterThan(0);
  await expect(row).toHaveCount(1);
  await page.screenshot({ path: 'test-results/cache-panel.png', fullPage: true });
  expect(problems).toEqual([]);
});

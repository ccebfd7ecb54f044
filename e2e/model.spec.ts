/** The whole-model checks in headless Chromium (WebGPU on SwiftShader), models fetched over HTTP. */
import { expect, test } from '@playwright/test';

test('model checks pass in Chromium: random GPT-2/Llama, tinystories golden, gpt2-tiny-random, sampling, abort, bad input, stories260K.gguf, quantized GGUF, dtype q8/q4', async ({
  page,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/e2e/model.html');
  const handle = await page.waitForFunction(() => window.modelResults, undefined, { timeout: 580_000 });
  const results = (await handle.jsonValue())!;
  expect(results.length).toBeGreaterThanOrEqual(25);
  expect(results.filter((r) => !r.pass).map((r) => `${r.name}: ${r.message}`)).toEqual([]);
  expect(errors).toEqual([]);
});

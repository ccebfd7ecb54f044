/** The whole-model checks in headless Chromium (WebGPU on SwiftShader), models fetched over HTTP. */
import { expect, test } from '@playwright/test';

const PARTS = 3;

for (let part = 0; part < PARTS; part++) {
  test(`model checks pass in Chromium (part ${part + 1} of ${PARTS}): random models of every family, tinystories golden, gpt2-tiny-random, sampling, abort, bad input, reliability, inspect, embeddings, GGUF, dtype q8/q4`, async ({
    page,
  }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`/e2e/model.html?part=${part}&parts=${PARTS}`);
    const handle = await page.waitForFunction(() => window.modelResults, undefined, { timeout: 580_000 });
    const results = (await handle.jsonValue())!;
    expect(results.length).toBeGreaterThanOrEqual(15);
    expect(results.filter((r) => !r.pass).map((r) => `${r.name}: ${r.message}`)).toEqual([]);
    expect(errors).toEqual([]);
  });
}

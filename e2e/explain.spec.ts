/**
 * The explainer page (demo/explain/) in headless Chromium, WebGPU on SwiftShader, on the embedded
 * model: every panel renders for "Once upon a time" with the model's numbers, read back from the
 * DOM's data attributes: attention rows sum to 1 and are zero above the diagonal, the last layer's
 * logit lens agrees with the next-token panel, a token's nearest neighbour is itself, and Step
 * appends the engine's greedy token. Fails on a console error; saves a screenshot of each panel to
 * test-results/ (and the whole page to docs/explainer.png when WGPT_DOCS_SCREENSHOT=1).
 */
import { expect, type Page, test } from '@playwright/test';
import { watchProblems } from './page-problems';

/** The greedy continuation of "Once upon a time" (see models/tinystories-656k/PROVENANCE.md). */
const GOLDEN = ', a little girl named Lily lived in a small house with her mom, dad, and her dog, Spot';
const LAYERS = 2;
const HEADS = 8;
const HIDDEN = 128;
const PANELS = ['tokens', 'embeddings', 'attention', 'residual', 'lens', 'next', 'step'];

watchProblems('explain');

/** Opens the page and waits until the default model has explained the default prompt. */
async function openExplainer(page: Page): Promise<void> {
  await page.setViewportSize({ width: 1500, height: 1000 });
  await page.goto('/demo/explain/');
  await expect(page.locator('#model-status')).toHaveAttribute('data-state', 'loaded');
  await expect(page.locator('#inspect-status')).toHaveAttribute('data-state', 'ready');
  await expect(page.locator('#arithmetic-result li').first()).toBeVisible();
}

const runs = async (page: Page) => Number(await page.locator('#inspect-status').getAttribute('data-runs'));
const attr = (page: Page, selector: string, name: string) =>
  page.locator(selector).first().getAttribute(name);

test('every panel renders for "Once upon a time" with the model’s own numbers', async ({ page }) => {
  await openExplainer(page);
  expect(await page.locator('#prompt').inputValue()).toBe('Once upon a time');

  // 1 · Tokens, and a hovered token's embedding row.
  const chips = page.locator('#token-chips .token-chip');
  await expect(chips).toHaveCount(6);
  await chips.nth(2).hover();
  const strip = page.locator('#vector-strip');
  await expect(strip).toHaveAttribute('data-token-id', (await chips.nth(2).getAttribute('data-token-id'))!);
  expect(Number(await strip.getAttribute('data-length'))).toBe(HIDDEN);
  expect(Number(await strip.getAttribute('data-norm'))).toBeGreaterThan(0);

  // 2 · A token's nearest neighbour is itself; arithmetic answers; the scatter has every point.
  await chips.nth(3).click();
  const query = (await chips.nth(3).getAttribute('data-token-id'))!;
  await expect(page.locator('#nearest')).toHaveAttribute('data-query', query);
  await expect(page.locator('#nearest li')).toHaveCount(8);
  expect(await attr(page, '#nearest li', 'data-token-id')).toBe(query);
  expect(Number(await attr(page, '#nearest li', 'data-similarity'))).toBeCloseTo(1, 4);
  await expect(page.locator('#arithmetic-terms')).toContainText('king');
  expect(Number(await page.locator('#scatter').getAttribute('data-points'))).toBeGreaterThanOrEqual(6);

  // 3 · Attention: a map per layer and head; rows sum to 1, nothing above the diagonal.
  const cells = page.locator('#attention-grid canvas');
  await expect(cells).toHaveCount(LAYERS * HEADS);
  const maps = await cells.evaluateAll((all) =>
    all.map((c) => ({
      rowSums: (c as HTMLElement).dataset.rowSums!.split(',').map(Number),
      above: Number((c as HTMLElement).dataset.aboveDiagonal),
    })),
  );
  for (const map of maps) {
    expect(map.rowSums).toHaveLength(6);
    for (const sum of map.rowSums) expect(Math.abs(sum - 1)).toBeLessThan(1e-3);
    expect(map.above).toBe(0);
  }
  await cells.nth(HEADS + 3).click();
  await expect(page.locator('#attention-detail-title')).toContainText('Layer 2, head 4');
  await page.locator('#attention-tokens .token-chip').nth(4).hover();
  await expect(page.locator('#attention-tokens .token-chip').nth(4)).toHaveClass(/query/);
  const looks = await page
    .locator('#attention-tokens .token-chip')
    .evaluateAll((all) => all.map((c) => Number((c as HTMLElement).dataset.probability)));
  expect(Math.abs(looks.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-3);
  expect(looks[5]).toBe(0);

  // 4 · Residual stream: the embedding row and three rows per layer, finite positive norms.
  const rows = page.locator('#residual tr[data-kind]');
  await expect(rows).toHaveCount(1 + 3 * LAYERS);
  const norms = await rows.evaluateAll((all) =>
    all.flatMap((r) => (r as HTMLElement).dataset.values!.split(',').map(Number)),
  );
  for (const n of norms) expect(Number.isFinite(n) && n > 0, String(n)).toBe(true);

  // 5 · Logit lens, 6 · next token: the last layer's top token is the next-token panel's top token.
  const lens = page.locator('#lens tr[data-layer]');
  await expect(lens).toHaveCount(LAYERS);
  const lensTop = await lens.last().getAttribute('data-top-token-id');
  await expect(page.locator('#top-tokens li')).toHaveCount(10);
  expect(await attr(page, '#top-tokens li', 'data-token-id')).toBe(lensTop);
  expect(await page.locator('#stage-step').getAttribute('data-greedy-id')).toBe(lensTop);
  const entropy = Number(await page.locator('#entropy').getAttribute('data-entropy'));
  expect(entropy).toBeGreaterThan(0);
  expect(entropy).toBeLessThan(11);

  // The temperature: sharper below 1, all on one token (entropy 0) at 0.
  await page.fill('#temperature-number', '0.5');
  await expect
    .poll(async () => Number(await page.locator('#entropy').getAttribute('data-entropy')))
    .toBeLessThan(entropy);
  await page.fill('#temperature-number', '0');
  await expect(page.locator('#entropy')).toHaveAttribute('data-entropy', '0');
  await expect(page.locator('#top-tokens .pct').first()).toHaveText('100.0%');
  await page.fill('#temperature-number', '1');
  await expect(page.locator('#entropy')).toHaveAttribute('data-entropy', String(entropy));

  for (const panel of PANELS) {
    await page.locator(`#stage-${panel}`).screenshot({ path: `test-results/explain-panel-${panel}.png` });
  }
  if (process.env.WGPT_DOCS_SCREENSHOT) {
    await page.screenshot({ path: 'docs/explainer.png', fullPage: true });
  }
});

test('Step appends the engine’s greedy token and explains the longer text', async ({ page }) => {
  await openExplainer(page);
  let text = '';
  for (let i = 0; i < 3; i++) {
    const before = await runs(page);
    const greedy = await page.locator('#stage-step').getAttribute('data-greedy-id');
    await page.click('#step');
    await expect.poll(() => runs(page)).toBeGreaterThan(before);
    await expect(page.locator('#inspect-status')).toHaveAttribute('data-state', 'ready');
    // The engine's greedy step (generate at temperature 0) appended the argmax the page showed.
    expect(await page.locator('#stage-step').getAttribute('data-last-id')).toBe(greedy);
    await expect(page.locator('#token-chips .token-chip')).toHaveCount(7 + i);
    const ids = (await page.locator('#stage-step').getAttribute('data-ids'))!.split(',');
    expect(ids.at(-1)).toBe(greedy);
    text = (await page.locator('#step-text .stepped').allTextContents()).join('');
    // Every panel follows the longer text.
    await expect(page.locator('#residual tr[data-kind="mlp"]').first().locator('td')).toHaveCount(7 + i);
    const lensTop = await page.locator('#lens tr[data-layer]').last().getAttribute('data-top-token-id');
    expect(await attr(page, '#top-tokens li', 'data-token-id')).toBe(lensTop);
  }
  expect(GOLDEN.startsWith(text), `stepped ${JSON.stringify(text)}`).toBe(true);
  expect(text.length).toBeGreaterThan(3);
});

/** Other sources the demo supports: a GPT-2 folder (its real byte-level BPE) and a GGUF file, by URL. */
for (const [what, path, layers, heads] of [
  ['a GPT-2 folder', '/test/fixtures/gpt2-tiny-random/', 1, 1],
  ['a GGUF file', '/models/stories260K-gguf/stories260K.gguf', 5, 8],
] as const) {
  test(`explains ${what} loaded by URL`, async ({ page }) => {
    await openExplainer(page);
    const before = await runs(page);
    await page.locator('#source-hub').check();
    await page.locator('#hub-id').fill(new URL(path, page.url()).href);
    await page.locator('#load').click();
    await expect(page.locator('#model-status')).toHaveAttribute('data-state', 'loaded');
    await expect.poll(() => runs(page)).toBeGreaterThan(before);
    await expect(page.locator('#inspect-status')).toHaveAttribute('data-state', 'ready');
    await expect(page.locator('#attention-grid canvas')).toHaveCount(layers * heads);
    await expect(page.locator('#lens tr[data-layer]')).toHaveCount(layers);
    const lensTop = await page.locator('#lens tr[data-layer]').last().getAttribute('data-top-token-id');
    await expect.poll(() => attr(page, '#top-tokens li', 'data-token-id')).toBe(lensTop);
    expect(await page.locator('#stage-step').getAttribute('data-greedy-id')).toBe(lensTop);
  });
}

/**
 * The bench page (demo/bench/) in headless Chromium on SwiftShader: the quick preset on two
 * kernels fills the table with finite, checked figures and draws the uPlot charts; matmul and
 * attention show every tuner candidate of a shape with one marked chosen; the model benchmark
 * reports dispatches per token, the profile and the kernel choices; every report matches the
 * schema. Headless WebGPU canvases may screenshot black, so charts are checked through the DOM and
 * uPlot's data.
 */
import { expect, type Page, test } from '@playwright/test';

function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return errors;
}

test('bench page runs the quick preset on two kernels', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto('/demo/bench/?preset=quick&kernels=rmsnorm,residual');
  await expect(page.locator('#run')).toBeEnabled({ timeout: 60_000 });
  await expect(page.locator('#software')).toBeVisible(); // SwiftShader says so plainly
  await page.locator('#run').click();
  await page.waitForFunction(() => window.benchState !== undefined, undefined, { timeout: 300_000 });
  expect(await page.evaluate(() => window.benchState)).toBe('done');

  const rows = page.locator('#kernel-rows tr');
  const kernels = await rows.evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.kernel));
  expect(new Set(kernels)).toEqual(new Set(['bench_copy', 'bench_fma', 'rmsnorm', 'residual']));
  const cells = await rows.evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
  );
  for (const c of cells) {
    expect(c[3]).toMatch(/^ok/); // check column
    for (const i of [4, 5, 7])
      expect(Number.isFinite(Number.parseFloat(c[i])), `${c.join(' | ')}`).toBe(true);
    expect(c[8]).toMatch(/^\d+(\.\d+)?% (bw|flop)$/);
    expect(c[9]).toBe(''); // tuner column: these kernels are not tuned
  }

  // The report behind the table: finite figures, every row passed.
  const report = (await page.evaluate(() => window.benchReport))!;
  expect(report.kernels.every((r) => r.status === 'ok' && Number.isFinite(r.ms) && r.ms! > 0)).toBe(true);
  expect(report.peaks.bandwidthGBps).toBeGreaterThan(0);
  expect(report.environment.runtime).toBe('browser');
  expect(report.environment.userAgent).toContain('Chrome');
  expect(await page.evaluate(() => window.benchProblems)).toEqual([]);

  // Charts: uPlot canvases with a size, and series holding the variants' figures.
  const charts = await page.evaluate(() =>
    Object.fromEntries(
      Object.entries(window.benchCharts ?? {}).map(([k, list]) => [
        k,
        list.map((u) => ({
          series: u.series.slice(1).map((s) => s.label),
          points: u.data
            .slice(1)
            .flat()
            .filter((x) => x !== null && Number.isFinite(x)).length,
          width: u.width,
          height: u.height,
        })),
      ]),
    ),
  );
  expect(charts.residual[0].series).toEqual(['out-of-place', 'in-place']);
  expect(charts.residual[0].points).toBeGreaterThan(0);
  expect(charts.rmsnorm.length).toBe(2); // GFLOP/s and GB/s
  const canvas = page.locator('#charts .chart[data-kernel="residual"] canvas').first();
  const box = await canvas.boundingBox();
  expect(box!.width).toBeGreaterThan(100);
  expect(box!.height).toBeGreaterThan(100);

  await page.locator('#charts').screenshot({ path: 'test-results/bench-charts.png' });
  await page.screenshot({ path: 'test-results/bench-page.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('bench page: tuner candidates side by side, and a model benchmark', async ({ page }) => {
  const errors = collectErrors(page);
  await page.goto(
    '/demo/bench/?preset=quick&kernels=matmul,attention&shapes=ts-656k&model-prompt=8&model-decode=3',
  );
  await expect(page.locator('#run')).toBeEnabled({ timeout: 60_000 });
  await page.locator('#run').click();
  await page.waitForFunction(() => window.benchState !== undefined, undefined, { timeout: 400_000 });
  expect(await page.evaluate(() => window.benchState)).toBe('done');
  expect(await page.evaluate(() => window.benchProblems)).toEqual([]);

  // Per matmul and attention shape: several candidate rows, exactly one chosen, the fastest that passed.
  const report = (await page.evaluate(() => window.benchReport))!;
  const tuned = report.kernels.filter((r) => r.kernel === 'matmul' || r.kernel === 'attention');
  const shapes = [...new Set(tuned.map((r) => `${r.kernel} ${r.shape}`))];
  expect(shapes.filter((s) => s.startsWith('matmul')).length).toBeGreaterThanOrEqual(2);
  for (const s of shapes) {
    const rows = tuned.filter((r) => `${r.kernel} ${r.shape}` === s);
    expect(rows.length, s).toBeGreaterThan(1);
    const chosen = rows.filter((r) => r.chosen);
    expect(chosen, s).toHaveLength(1);
    expect(chosen[0].ms).toBe(Math.min(...rows.filter((r) => r.status === 'ok').map((r) => r.ms!)));
  }
  const chosenCells = await page
    .locator('#kernel-rows tr[data-chosen="true"]')
    .evaluateAll((trs) => trs.map((tr) => tr.lastElementChild?.textContent));
  expect(chosenCells).toEqual(shapes.map(() => 'chosen'));

  // The model benchmark of the default model: a row with dispatches per token, and the detail.
  await page.locator('#run-model').click();
  await page.waitForFunction(() => window.benchModelState !== undefined, undefined, { timeout: 400_000 });
  expect(await page.evaluate(() => window.benchModelState)).toBe('done');
  expect(await page.evaluate(() => window.benchProblems)).toEqual([]);
  const model = (await page.evaluate(() => window.benchReport))!.models[0];
  expect(model.dispatchesPerToken).toBeGreaterThan(0);
  expect(model.decodeTokensPerSecond).toBeGreaterThan(0);
  expect(model.profile!.ops.length).toBeGreaterThan(0);
  expect(model.kernelChoices.length).toBeGreaterThan(0);
  const tr = page.locator('#model-rows tr').first();
  expect(Number(await tr.getAttribute('data-dispatches'))).toBe(model.dispatchesPerToken);
  await expect(page.locator('#model-detail')).toContainText('dispatches/token');
  await expect(page.locator('#model-detail')).toContainText('kernel choices');
  expect(errors).toEqual([]);
});

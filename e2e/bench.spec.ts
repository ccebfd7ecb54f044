/**
 * The bench page (demo/bench/) in headless Chromium on SwiftShader: the quick preset on two
 * kernels fills the table with finite, checked figures and draws the uPlot charts. Headless
 * WebGPU canvases may screenshot black, so the charts are checked through the DOM and uPlot's data.
 */
import { expect, test } from '@playwright/test';

test('bench page runs the quick preset on two kernels', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
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
  }

  // The report behind the table: finite figures, every row passed.
  const report = (await page.evaluate(() => window.benchReport))!;
  expect(report.kernels.every((r) => r.status === 'ok' && Number.isFinite(r.ms) && r.ms! > 0)).toBe(true);
  expect(report.peaks.bandwidthGBps).toBeGreaterThan(0);
  expect(report.environment.runtime).toBe('browser');
  expect(report.environment.userAgent).toContain('Chrome');

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

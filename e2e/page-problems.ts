/**
 * What a page may not do in the demo and explainer tests: log a console error (page or worker),
 * throw, or leave a promise rejection unhandled. `watchProblems` registers the hooks for every
 * test of a spec file and fails each test that saw any, after saving a full-page screenshot as
 * test-results/<prefix>-<test title>.png.
 */
import { expect, test } from '@playwright/test';

export function watchProblems(prefix: string): void {
  const problems: string[] = [];
  test.beforeEach(async ({ page }) => {
    problems.length = 0;
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('worker', (w) =>
      w.on('console', (m) => m.type() === 'error' && problems.push(`worker: ${m.text()}`)),
    );
    await page.addInitScript(() => {
      window.addEventListener('unhandledrejection', (e) => console.error(`unhandled rejection: ${e.reason}`));
    });
  });
  test.afterEach(async ({ page }, info) => {
    const name = info.title.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    await page.screenshot({ path: `test-results/${prefix}-${name}.png`, fullPage: true });
    expect(problems).toEqual([]);
  });
}

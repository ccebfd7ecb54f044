import { defineConfig } from '@playwright/test';
import { CHROMIUM_LAUNCH } from './e2e/chromium';

const PORT = Number(process.env.WGPT_E2E_PORT ?? 5179);

export default defineConfig({
  testDir: 'e2e',
  timeout: 600_000,
  expect: { timeout: 120_000 },
  workers: 1,
  reporter: process.env.CI ? 'list' : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    launchOptions: CHROMIUM_LAUNCH,
  },
  webServer: {
    command: `npx vite --host 127.0.0.1 --port ${PORT} --strictPort`,
    url: `http://127.0.0.1:${PORT}/e2e/kernels.html`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
  },
});

import { defineConfig } from '@playwright/test';

const PORT = Number(process.env.WGPT_E2E_PORT ?? 5179);

/** Debian's Chromium (a browser download cannot work on these machines), WebGPU on SwiftShader. */
export default defineConfig({
  testDir: 'e2e',
  timeout: 600_000,
  expect: { timeout: 120_000 },
  workers: 1,
  reporter: process.env.CI ? 'list' : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--enable-unsafe-webgpu',
        '--enable-features=Vulkan',
        '--use-webgpu-adapter=swiftshader',
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  webServer: {
    command: `npx vite --host 127.0.0.1 --port ${PORT} --strictPort`,
    url: `http://127.0.0.1:${PORT}/e2e/kernels.html`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
  },
});

// Runs before `npm test`: the suite needs Chromium (Playwright drives it; WebGPU runs on its
// SwiftShader) and the Vulkan loader (Dawn in Node loads libvulkan.so.1). When either is missing
// this stops at once with one line saying what to install, instead of failing deep in a test run.
import { existsSync } from 'node:fs';

const missing = [];
if (process.platform === 'linux') {
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) missing.push({ what: `Chromium (${chromium})`, apt: 'chromium' });
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];
  if (!dirs.some((d) => existsSync(`${d}/libvulkan.so.1`))) {
    missing.push({ what: 'the Vulkan loader (libvulkan.so.1)', apt: 'libvulkan1' });
  }
}
if (missing.length) {
  console.error(
    `wgpt's tests need ${missing.map((m) => m.what).join(' and ')}: run \`sudo apt-get install -y ${missing.map((m) => m.apt).join(' ')}\` (or \`bash .ci/run\`, which installs them), or set CHROMIUM_PATH to a Chromium build.`,
  );
  process.exit(1);
}

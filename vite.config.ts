import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vitest/config';

/** `/` opens the demo page. */
const rootToDemo: Plugin = {
  name: 'root-to-demo',
  configureServer(server) {
    server.middlewares.use((req, res, next) => {
      if (req.url === '/' || req.url === '/index.html') {
        res.statusCode = 302;
        res.setHeader('Location', '/demo/');
        res.end();
      } else next();
    });
  },
};

/** build:demo copies the embedded default model beside the page, so the built demo loads it from its own origin. */
function demoModels(names: string[]): Plugin {
  return {
    name: 'wgpt-demo-models',
    apply: 'build',
    generateBundle() {
      for (const name of names) {
        const dir = resolve(import.meta.dirname, 'models', name);
        for (const file of readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile())) {
          this.emitFile({
            type: 'asset',
            fileName: `models/${name}/${file}`,
            source: readFileSync(join(dir, file)),
          });
        }
      }
    },
  };
}

export default defineConfig(({ mode }) => ({
  plugins: [rootToDemo, ...(mode === 'demo' ? [demoModels(['tinystories-656k'])] : [])],
  server: { host: '127.0.0.1', port: 5173 },
  worker: { format: 'es' },
  build:
    mode === 'demo'
      ? {
          outDir: 'dist-demo',
          rollupOptions: {
            input: {
              demo: resolve(import.meta.dirname, 'demo/index.html'),
              bench: resolve(import.meta.dirname, 'demo/bench/index.html'),
              explain: resolve(import.meta.dirname, 'demo/explain/index.html'),
            },
          },
        }
      : {
          outDir: 'dist',
          target: 'es2022',
          minify: false,
          sourcemap: true,
          lib: {
            entry: {
              index: resolve(import.meta.dirname, 'src/index.ts'),
              cli: resolve(import.meta.dirname, 'src/cli.ts'),
              server: resolve(import.meta.dirname, 'src/server.ts'),
            },
            formats: ['es'],
          },
          rollupOptions: {
            external: [/^node:/, 'webgpu', /^@huggingface\//],
          },
        },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
}));

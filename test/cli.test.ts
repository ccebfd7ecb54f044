/** The built CLI (bin/wgpt.js over dist/), as a user runs it. `npm test` builds before this runs. */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import OpenAI, { NotFoundError } from 'openai';
import { describe, expect, it } from 'vitest';
import { TINYSTORIES_GOLDEN } from './model/checks';
import { STORIES260K_GOLDEN } from './model/gguf-checks';

const run = promisify(execFile);
const bin = new URL('../bin/wgpt.js', import.meta.url).pathname;

async function wgpt(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return wgptIn(process.env, ...args);
}

async function wgptIn(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [bin, ...args], { timeout: 240_000, env });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('wgpt CLI', () => {
  it('is built', () => {
    expect(existsSync(new URL('../dist/cli.js', import.meta.url))).toBe(true);
  });

  it('generates the golden story with the embedded default model and prints tokens/s', async () => {
    const r = await wgpt(
      'generate',
      '--prompt',
      'Once upon a time',
      '--temperature',
      '0',
      '--max-tokens',
      '24',
    );
    expect(r.stderr).not.toMatch(/wgpt:/);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(`Once upon a time${TINYSTORIES_GOLDEN}`)).toBe(true);
    expect(r.stdout).toMatch(
      /6 prompt tokens, prefill [\d.]+ tokens\/s; 24 generated, decode [\d.]+ tokens\/s/,
    );
  });

  it('--json prints the prompt and generated token ids', async () => {
    const r = await wgpt(
      'generate',
      '--prompt',
      'Once upon a time',
      '--temperature',
      '0',
      '--max-tokens',
      '5',
      '--json',
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.promptIds).toEqual([1, 80, 147, 201, 282, 57]);
    expect(out.tokenIds).toHaveLength(5);
    expect(out.text.length).toBeGreaterThan(0);
  });

  it('runs with an f16 KV cache and a forced kernel variant', async () => {
    const r = await wgpt(
      ...['generate', '--prompt', 'Once upon a time', '--temperature', '0', '--max-tokens', '5'],
      ...['--kv-dtype', 'f16', '--kernel', 'matmul=gemv.r1', '--tuning', 'off', '--json'],
    );
    expect(r.stderr).not.toMatch(/wgpt:/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).tokenIds).toHaveLength(5);
  });

  it('tells the golden story of stories260K.gguf, and quantizes the default model with --dtype q8', async () => {
    const gguf = new URL('../models/stories260K-gguf/stories260K.gguf', import.meta.url).pathname;
    const r = await wgpt(
      ...['generate', '--model', gguf, '--prompt', 'Once upon a time', '--temperature', '0'],
      ...['--max-tokens', '40', '--tuning', 'off'],
    );
    expect(r.stderr).not.toMatch(/wgpt:/);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(`Once upon a time${STORIES260K_GOLDEN.slice(0, 100)}`)).toBe(true);
    const q = await wgpt(
      ...['generate', '--prompt', 'Once upon a time', '--temperature', '0', '--max-tokens', '8'],
      ...['--dtype', 'q8', '--tuning', 'off', '--json'],
    );
    expect(q.code).toBe(0);
    expect(JSON.parse(q.stdout).tokenIds).toHaveLength(8);
    const bad = await wgpt('generate', '--prompt', 'x', '--dtype', 'q3');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--dtype.*f32, f16, q8, q4/);
  });

  it('serve: the official openai client streams a chat completion from `wgpt serve`', async () => {
    const child = spawn('node', [bin, 'serve', '--port', '0', '--tuning', 'off'], { stdio: 'pipe' });
    try {
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (out.includes('model loaded')) {
            clearInterval(timer);
            resolve();
          }
        }, 100);
        child.once('exit', (code) => reject(new Error(`wgpt serve exited (${code}): ${out}`)));
      });
      const url = /at (http:\/\/\S+\/v1)/.exec(out)?.[1];
      expect(url).toBeDefined();
      const client = new OpenAI({ baseURL: url, apiKey: 'none' });
      const stream = await client.chat.completions.create({
        model: 'tinystories-656k',
        messages: [{ role: 'user', content: 'Once upon a time' }],
        max_tokens: 6,
        temperature: 0,
        stream: true,
      });
      let text = '';
      let finish: string | null = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect(text.length).toBeGreaterThan(0);
      expect(finish).toBe('length');
      // Without --any-model, another model name is OpenAI's 404 model_not_found.
      const other = await client.chat.completions
        .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1 })
        .catch((e) => e);
      expect(other).toBeInstanceOf(NotFoundError);
      expect(other.error).toMatchObject({ code: 'model_not_found', param: 'model' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('serve --help lists the serve options, --any-model among them', async () => {
    const r = await wgpt('serve', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--max-body-bytes/);
    expect(r.stdout).toMatch(/--any-model\s+accept a request's "model" whatever it names/);
  });

  it('rejects a bad option with a typed message and exit code 1', async () => {
    const r = await wgpt('generate', '--prompt', 'x', '--top-p', '2');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/InvalidOptionError: invalid option 'topP'/);
    const k = await wgpt('generate', '--prompt', 'x', '--kernel', 'matmul=nope');
    expect(k.code).toBe(1);
    expect(k.stderr).toMatch(
      /InvalidOptionError: invalid option 'kernels': "nope" is not a matmul variant name/,
    );
    const m = await wgpt('generate', '--model', '/nonexistent/model', '--prompt', 'x');
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/config\.json/);
  });

  it('caches a model downloaded by URL: the second run reads no weights from the server; --no-cache downloads', async () => {
    const { createServer } = await import('node:http');
    const { readFile, mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const folder = new URL('../models/tinystories-656k/', import.meta.url);
    const gets: string[] = [];
    const server = createServer(async (req, res) => {
      const name = (req.url ?? '/').slice(1);
      if (req.method === 'GET') gets.push(name);
      try {
        const body = await readFile(new URL(name, folder));
        res.writeHead(200, { 'content-length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const home = await mkdtemp(join(tmpdir(), 'wgpt-home-'));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
      const env = { ...process.env, HOME: home };
      const args = [
        'generate',
        '--model',
        url,
        '--prompt',
        'Once upon a time',
        '--temperature',
        '0',
        '--max-tokens',
        '4',
      ];
      const first = await wgptIn(env, ...args);
      expect(first.code, first.stderr).toBe(0);
      expect(gets).toContain('model.safetensors');
      gets.length = 0;
      const second = await wgptIn(env, ...args);
      expect(second.code, second.stderr).toBe(0);
      // The same greedy text (the line before the statistics).
      expect(second.stdout.split('\n')[0]).toBe(first.stdout.split('\n')[0]);
      expect(gets).not.toContain('model.safetensors');
      const uncached = await wgptIn(env, ...args, '--no-cache');
      expect(uncached.code, uncached.stderr).toBe(0);
      expect(gets).toContain('model.safetensors');
    } finally {
      server.close();
      await rm(home, { recursive: true, force: true });
    }
  });
});

/**
 * The demo page (demo/) in headless Chromium, WebGPU on SwiftShader: the default model, greedy
 * text, Stop, the next-token bars and temperature, a corrupt folder, the download cache, the
 * messages for failures, and chat mode (a model with a chat template, and one without). Every test fails on a console error or an unhandled rejection, and saves
 * a screenshot to test-results/.
 */
import { readFileSync } from 'node:fs';
import { expect, type Page, test } from '@playwright/test';
import { watchProblems } from './page-problems';

const MODEL_DIR = new URL('../models/tinystories-656k/', import.meta.url);
const GGUF_FILE = new URL('../models/stories260K-gguf/stories260K.gguf', import.meta.url);
/** stories260K's greedy continuation of "Once upon a time" (models/stories260K-gguf/PROVENANCE.md). */
const GGUF_GOLDEN = ', there was a little girl named Lily. She loved to play outside in the park.';
/** The greedy continuation of "Once upon a time" (see models/tinystories-656k/PROVENANCE.md). */
const GOLDEN = ', a little girl named Lily lived in a small house with her mom, dad, and her dog, Spot';

/** A template for the embedded model (which has none): ChatML-like turns in words it knows. */
const CHAT_TEMPLATE =
  '{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}';

watchProblems('demo');

/** Opens the page and waits for the default model, which loads by itself. */
async function openDemo(page: Page): Promise<void> {
  await page.goto('/demo/');
  await expect(page.locator('#model-status')).toHaveAttribute('data-state', 'loaded');
  await expect(page.locator('#top-tokens li')).toHaveCount(10);
}

async function generate(page: Page, options: Record<string, string>): Promise<void> {
  for (const [id, value] of Object.entries(options)) await page.fill(`#${id}`, value);
  await page.click('#generate');
}

const stat = (page: Page, name: string) => page.locator(`[data-stat=${name}]`);

async function probabilities(page: Page): Promise<number[]> {
  return page
    .locator('#top-tokens li')
    .evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.probability)));
}

test('loads the default model and generates the greedy continuation', async ({ page }) => {
  await openDemo(page);
  await expect(page.locator('#messages')).toContainText('software adapter');
  await generate(page, { prompt: 'Once upon a time', 'temperature-number': '0', 'max-new-tokens': '24' });
  await expect(stat(page, 'finishReason')).toHaveAttribute('data-value', 'length');
  const text = (await page.locator('#output .generated').textContent()) ?? '';
  expect(text.length).toBeGreaterThan(40);
  expect(GOLDEN.startsWith(text) || text.startsWith(GOLDEN), `generated ${JSON.stringify(text)}`).toBe(true);
  await expect(stat(page, 'promptTokens')).toHaveAttribute('data-value', '6');
  await expect(stat(page, 'generatedTokens')).toHaveAttribute('data-value', '24');
  for (const name of ['timeToFirstTokenMs', 'prefillTokensPerSecond', 'decodeTokensPerSecond']) {
    const value = Number(await stat(page, name).getAttribute('data-value'));
    expect(Number.isFinite(value) && value > 0, `${name} = ${value}`).toBe(true);
  }
});

test('Stop ends a running generation and a new one works', async ({ page }) => {
  await openDemo(page);
  await generate(page, { 'temperature-number': '1', seed: '7', 'max-new-tokens': '400' });
  await expect(page.locator('#output .generated')).not.toBeEmpty();
  await expect(page.locator('#stop')).toBeEnabled();
  await page.click('#stop');
  await expect(stat(page, 'finishReason')).toHaveAttribute('data-value', 'abort');
  expect(Number(await stat(page, 'generatedTokens').getAttribute('data-value'))).toBeLessThan(400);
  await expect(page.locator('#stop')).toBeDisabled();
  await generate(page, { 'max-new-tokens': '5' });
  await expect(stat(page, 'finishReason')).toHaveAttribute('data-value', 'length');
  await expect(stat(page, 'generatedTokens')).toHaveAttribute('data-value', '5');
});

test('the temperature reshapes the next-token bars; 0 puts everything on one token', async ({ page }) => {
  await openDemo(page);
  await page.fill('#temperature-number', '1');
  await expect.poll(async () => (await probabilities(page))[0]).toBeLessThan(1);
  const atOne = await probabilities(page);
  expect(atOne.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);

  await page.locator('#temperature').fill('2'); // the slider
  await expect.poll(async () => (await probabilities(page))[0]).toBeLessThan(atOne[0]);
  expect(await page.locator('#temperature-number').inputValue()).toBe('2');

  await page.fill('#temperature-number', '0.5');
  await expect.poll(async () => (await probabilities(page))[0]).toBeGreaterThan(atOne[0]);

  await page.fill('#temperature-number', '0');
  await expect.poll(async () => probabilities(page)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  await expect(page.locator('#top-tokens .pct').first()).toHaveText('100.0%');
});

test('a corrupt model folder names the file; the default model still loads', async ({ page }) => {
  await openDemo(page);
  const file = (name: string, buffer: Buffer) => ({ name, mimeType: 'application/octet-stream', buffer });
  const weights = readFileSync(new URL('model.safetensors', MODEL_DIR));
  await page.setInputFiles('#file-input', [
    ...['config.json', 'tokenizer.json', 'tokenizer_config.json'].map((n) =>
      file(n, readFileSync(new URL(n, MODEL_DIR))),
    ),
    file('model.safetensors', weights.subarray(0, Math.floor(weights.length / 3))),
  ]);
  await expect(page.locator('#model-status')).toHaveAttribute('data-state', 'failed');
  const error = page.locator('#messages .message.error');
  await expect(error).toContainText('model.safetensors');
  await expect(page.locator('#generate')).toBeDisabled();

  await page.check('#source-default');
  await page.click('#load');
  await expect(page.locator('#model-status')).toHaveAttribute('data-state', 'loaded');
  await expect(error).toHaveCount(0);
  await generate(page, { 'temperature-number': '0', 'max-new-tokens': '3' });
  await expect(stat(page, 'finishReason')).toHaveAttribute('data-value', 'length');
});

test('a model folder chosen from disk loads and generates', async ({ page }) => {
  await openDemo(page);
  await page.setInputFiles('#folder-input', decodeURIComponent(MODEL_DIR.pathname));
  await expect(page.locator('#local-summary')).toContainText('model.safetensors');
  await expect(page.locator('#model-status')).toHaveAttribute('data-loads', '2');
  await expect(page.locator('#model-status')).toContainText('Loaded tinystories-656k');
  await generate(page, { 'temperature-number': '0', 'max-new-tokens': '8' });
  await expect(stat(page, 'finishReason')).toHaveAttribute('data-value', 'length');
  expect(GOLDEN.startsWith((await page.locator('#output .generated').textContent()) ?? '-')).toBe(true);
});

test('a GGUF file chosen from disk loads, shows its architecture and tensor types, and tells the golden story', async ({
  page,
}) => {
  await openDemo(page);
  await page.setInputFiles('#file-input', decodeURIComponent(GGUF_FILE.pathname));
  await expect(page.locator('#local-summary')).toContainText('stories260K.gguf');
  await expect(page.locator('#model-status')).toHaveAttribute('data-loads', '2');
  await expect(page.locator('#model-status')).toContainText('GGUF llama, 5 layers, hidden 64');
  await expect(page.locator('#model-status')).toContainText('f32 ×48');
  await expect(page.locator('#top-tokens li')).toHaveCount(10);
  await generate(page, { prompt: 'Once upon a time', 'temperature-number': '0', 'max-new-tokens': '20' });
  await expect(stat(page, 'finishReason')).toHaveAttribute('data-value', 'length');
  const text = (await page.locator('#output .generated').textContent()) ?? '-';
  expect(text.length).toBeGreaterThan(40);
  expect(GGUF_GOLDEN.startsWith(text) || text.startsWith(GGUF_GOLDEN)).toBe(true);
});

test('a GGUF from a URL is read in ranges from the cache: a second load makes no network request', async ({
  page,
  context,
}) => {
  const requests: string[] = [];
  context.on('request', (r) => {
    if (r.url().includes('stories260K')) requests.push(`${r.method()} ${r.url()}`);
  });
  await openDemo(page);
  await page.check('#source-hub');
  await page.fill('#hub-id', '/models/stories260K-gguf/stories260K.gguf');
  await page.click('#load');
  await expect(page.locator('#model-status')).toHaveAttribute('data-loads', '2');
  await expect(page.locator('#model-status')).toContainText('GGUF llama');
  expect(requests.length).toBeGreaterThan(0);
  requests.length = 0;
  await page.click('#load');
  await expect(page.locator('#model-status')).toHaveAttribute('data-loads', '3');
  expect(requests).toEqual([]);
  // The next-token panel of the new model is drawn: its analysis is done.
  await expect(page.locator('#top-tokens li')).toHaveCount(10);
  await generate(page, { prompt: 'Once upon a time', 'temperature-number': '0', 'max-new-tokens': '6' });
  await expect(stat(page, 'finishReason')).toHaveAttribute('data-value', 'length');
  expect(GGUF_GOLDEN.startsWith((await page.locator('#output .generated').textContent()) ?? '-')).toBe(true);
});

test('a second load of a model makes no network request for its files', async ({ page, context }) => {
  const requests: string[] = [];
  context.on('request', (r) => {
    if (r.url().includes('/models/')) requests.push(`${r.method()} ${r.url()}`);
  });
  await openDemo(page);
  expect(requests.filter((r) => r.includes('model.safetensors')).length).toBeGreaterThan(0);

  requests.length = 0;
  await page.click('#load');
  await expect(page.locator('#model-status')).toHaveAttribute('data-loads', '2');
  expect(requests).toEqual([]);

  await page.reload();
  await expect(page.locator('#model-status')).toHaveAttribute('data-state', 'loaded');
  expect(requests).toEqual([]);

  await page.click('#clear-cache');
  await expect(page.locator('#messages')).toContainText('Cache cleared');
  await page.click('#load');
  await expect(page.locator('#model-status')).toHaveAttribute('data-loads', '2');
  expect(requests.filter((r) => r.includes('model.safetensors')).length).toBeGreaterThan(0);
});

test('a prompt longer than the context and an invalid option get clear messages', async ({ page }) => {
  await openDemo(page);
  await page.fill('#prompt', 'Once upon a time there was a cat. '.repeat(80));
  await expect(page.locator('#messages')).toContainText('longer than the model’s context');
  await page.click('#generate');
  await expect(page.locator('#messages .message.error')).toHaveCount(1);

  await page.fill('#prompt', 'Once upon a time');
  await expect(page.locator('#messages .message.error')).toHaveCount(0);
  await generate(page, { 'top-p': '1.5' });
  await expect(page.locator('#messages')).toContainText('Invalid setting: topP');
  await expect(page.locator('#generate')).toBeEnabled();

  await generate(page, { 'top-p': '0.9', 'max-new-tokens': '3' });
  await expect(stat(page, 'finishReason')).toHaveAttribute('data-value', 'length');
});

test('a browser without WebGPU is told what to do', async ({ page }) => {
  await page.addInitScript(() => Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined }));
  await page.goto('/demo/');
  await expect(page.locator('#messages')).toContainText('This browser has no WebGPU');
  await expect(page.locator('#messages')).toContainText('Chrome');
  await expect(page.locator('#generate')).toBeDisabled();
});

/** Picks the embedded model's files, tokenizer_config.json given a chat template. */
async function loadChatModel(page: Page): Promise<void> {
  const file = (name: string, buffer: Buffer) => ({ name, mimeType: 'application/octet-stream', buffer });
  const tokenizerConfig = JSON.parse(readFileSync(new URL('tokenizer_config.json', MODEL_DIR), 'utf8'));
  await page.setInputFiles('#file-input', [
    ...['config.json', 'tokenizer.json', 'model.safetensors'].map((n) =>
      file(n, readFileSync(new URL(n, MODEL_DIR))),
    ),
    file(
      'tokenizer_config.json',
      Buffer.from(JSON.stringify({ ...tokenizerConfig, chat_template: CHAT_TEMPLATE })),
    ),
  ]);
  await expect(page.locator('#model-status')).toHaveAttribute('data-loads', '2');
}

const chatStat = (page: Page, name: string) => page.locator(`[data-chat-stat=${name}]`);

async function chatStatValue(page: Page, name: string): Promise<number> {
  return Number(await chatStat(page, name).getAttribute('data-value'));
}

test('chat mode streams an answer, shows the rendered prompt, reuses the KV cache, and stops', async ({
  page,
}) => {
  await openDemo(page);
  await loadChatModel(page);
  await expect(page.locator('#chat-unavailable')).toBeHidden();
  await page.click('#mode-chat');
  await expect(page.locator('#chat-view')).toBeVisible();
  await expect(page.locator('#completion-view')).toBeHidden();
  await expect(page.locator('#chat-stop-tokens')).toContainText('<|end_story|>');

  await page.fill('#temperature-number', '0');
  await page.fill('#max-new-tokens', '12');
  await page.fill('#chat-input', 'Tell me a story about a cat.');
  await expect(page.locator('#chat-prompt')).toBeHidden();
  await page.check('#chat-show-prompt');
  await expect(page.locator('#chat-prompt')).toHaveText(
    '<|start_story|>user: Tell me a story about a cat.\nassistant:',
  );

  await page.click('#chat-send');
  await expect(chatStat(page, 'finishReason')).toHaveAttribute('data-value', /^(stop|length)$/);
  const answer = page.locator('#chat-log .turn.assistant .content');
  await expect(answer).toHaveCount(1);
  const first = (await answer.textContent()) ?? '';
  expect(first.trim().length).toBeGreaterThan(0);
  await expect(page.locator('#chat-log .turn.user .content')).toHaveText(['Tell me a story about a cat.']);
  expect(await chatStatValue(page, 'completionTokens')).toBeGreaterThan(0);
  expect(await chatStatValue(page, 'promptTokens')).toBeGreaterThan(10);
  expect(await chatStatValue(page, 'tokensPerSecond')).toBeGreaterThan(0);
  // After the answer, the prompt shows the whole conversation as the next request would send it.
  await expect(page.locator('#chat-prompt')).toContainText(
    `user: Tell me a story about a cat.\nassistant: ${first.trim()}`,
  );

  // The next turn prefills only what is new: the first turn's K/V are reused.
  const firstPrompt = await chatStatValue(page, 'promptTokens');
  await page.fill('#chat-input', 'What happened next?');
  await page.click('#chat-send');
  await expect(answer).toHaveCount(2);
  await expect(page.locator('#chat-send')).toBeDisabled();
  await expect(chatStat(page, 'finishReason')).toHaveAttribute('data-value', /^(stop|length)$/);
  expect(await chatStatValue(page, 'promptTokens')).toBeGreaterThan(firstPrompt);
  expect(await chatStatValue(page, 'reusedTokens')).toBeGreaterThanOrEqual(firstPrompt);

  // Stop ends a long answer; the conversation goes on.
  await page.fill('#temperature-number', '1');
  await page.fill('#seed', '7');
  await page.fill('#max-new-tokens', '300');
  await page.fill('#chat-input', 'And then?');
  await page.click('#chat-send');
  await expect(answer.nth(2)).not.toBeEmpty();
  await page.click('#chat-stop');
  await expect(chatStat(page, 'finishReason')).toHaveAttribute('data-value', 'abort');
  expect(await chatStatValue(page, 'completionTokens')).toBeLessThan(300);
  await expect(page.locator('#chat-log .turn.assistant.stopped')).toHaveCount(1);
  await expect(page.locator('#chat-stop')).toBeDisabled();
  await page.fill('#max-new-tokens', '3');
  await page.fill('#chat-input', 'The end.');
  await page.click('#chat-send');
  await expect(answer).toHaveCount(4);
  await expect(chatStat(page, 'finishReason')).toHaveAttribute('data-value', /^(stop|length)$/);

  await page.click('#chat-clear');
  await expect(page.locator('#chat-log .turn.user')).toHaveCount(0);
});

test('a model without a chat template: chat mode is unavailable, said plainly; completion works', async ({
  page,
}) => {
  await openDemo(page);
  await expect(page.locator('#mode-chat')).toBeDisabled();
  await expect(page.locator('#chat-unavailable')).toBeVisible();
  await expect(page.locator('#chat-unavailable')).toHaveText(
    'This model has no chat template, so chat is unavailable; completion works.',
  );
  await expect(page.locator('#chat-view')).toBeHidden();
  await generate(page, { 'temperature-number': '0', 'max-new-tokens': '3' });
  await expect(stat(page, 'finishReason')).toHaveAttribute('data-value', 'length');

  // A model with a template offers chat; loading the default one again takes it away.
  await loadChatModel(page);
  await expect(page.locator('#mode-chat')).toBeEnabled();
  await expect(page.locator('#chat-unavailable')).toBeHidden();
  await page.click('#mode-chat');
  await page.check('#source-default');
  await page.click('#load');
  await expect(page.locator('#model-status')).toHaveAttribute('data-loads', '3');
  await expect(page.locator('#mode-chat')).toBeDisabled();
  await expect(page.locator('#completion-view')).toBeVisible();
});

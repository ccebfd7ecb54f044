/**
 * The OpenAI-compatible server (src/server.ts) with the official `openai` client, on the embedded
 * tinystories-656k model (no chat template of its own: chat requests get the plain template).
 */
import OpenAI, { BadRequestError, NotFoundError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModelPath } from '../src/model/default-model';
import { loadModel, type Model } from '../src/model/model';
import { type RunningServer, startServer } from '../src/server';
import type { GenerateSummary } from '../src/types';

let model: Model;
let server: RunningServer;
let client: OpenAI;

const messages = [{ role: 'user' as const, content: 'Once upon a time' }];

beforeAll(async () => {
  model = await loadModel(defaultModelPath(), { tuning: 'off', tuningCache: false });
  server = await startServer(model, { port: 0, maxBodyBytes: 4096, modelId: 'tinystories' });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
  model?.dispose();
});

async function post(path: string, body: string): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
}

describe('wgpt server', () => {
  it('listens on the port it picked', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url).not.toMatch(/:0$/);
  });

  it('lists its model', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(['tinystories']);
  });

  it('renders chat with the plain template when the model has none', () => {
    const plain = model.tokenizer.applyChatTemplate(messages, {
      addGenerationPrompt: true,
      fallback: 'plain',
    });
    expect(plain.endsWith('user: Once upon a time\nassistant:')).toBe(true);
  });

  it('answers a chat completion, with max_tokens and usage', async () => {
    const r = await client.chat.completions.create({
      model: 'tinystories',
      messages,
      max_tokens: 6,
      temperature: 0,
    });
    expect(r.object).toBe('chat.completion');
    expect(r.model).toBe('tinystories');
    expect(r.choices[0].message.role).toBe('assistant');
    expect(r.choices[0].message.content?.length).toBeGreaterThan(0);
    expect(r.choices[0].finish_reason).toBe('length');
    expect(r.usage?.completion_tokens).toBe(6);
    // The same prompt as the plain fallback renders it.
    const plain = model.tokenizer.applyChatTemplate(messages, {
      addGenerationPrompt: true,
      fallback: 'plain',
    });
    expect(r.usage?.prompt_tokens).toBe(model.tokenizer.encode(plain, { addSpecialTokens: false }).length);
  });

  it('streams a chat completion that matches the non-streamed one', async () => {
    const request = { model: 'tinystories', messages, max_tokens: 8, temperature: 0 };
    const whole = await client.chat.completions.create(request);
    const stream = await client.chat.completions.create({ ...request, stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0].delta.content ?? '';
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    expect(text).toBe(whole.choices[0].message.content);
    expect(finish).toBe('length');
  });

  it('stops at a stop string, which is not part of the content', async () => {
    const request = { model: 'tinystories', messages, max_tokens: 12, temperature: 0 };
    const whole = (await client.chat.completions.create(request)).choices[0].message.content ?? '';
    const stop = whole.trim().split(/\s+/)[1];
    const r = await client.chat.completions.create({ ...request, stop: [stop] });
    expect(r.choices[0].finish_reason).toBe('stop');
    expect(r.choices[0].message.content).toBe(whole.slice(0, whole.indexOf(stop)));
  });

  it('gives the same answer for the same seed', async () => {
    const request = { model: 'tinystories', messages, max_tokens: 10, temperature: 1, seed: 7 };
    const a = await client.chat.completions.create(request);
    const b = await client.chat.completions.create(request);
    expect(b.choices[0].message.content).toBe(a.choices[0].message.content);
  });

  it('refuses a bad request with 400 and an OpenAI error body', async () => {
    const err = await client.chat.completions
      .create({ model: 'tinystories', messages, max_tokens: 4, temperature: -1 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.status).toBe(400);
    expect(err.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'temperature',
      code: 'INVALID_OPTION',
    });

    const r = await post('/v1/chat/completions', JSON.stringify({ messages, max_tokens: 100_000 }));
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatchObject({ code: 'CONTEXT_LENGTH', param: null });
  });

  it('answers malformed JSON with 400, an oversized body with 413, an unknown route with 404', async () => {
    const bad = await post('/v1/chat/completions', '{"messages": [');
    expect(bad.status).toBe(400);
    const body = await bad.json();
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json', param: null });
    expect(typeof body.error.message).toBe('string');

    const big = await post('/v1/chat/completions', JSON.stringify({ messages, pad: 'x'.repeat(10_000) }));
    expect(big.status).toBe(413);
    expect((await big.json()).error.code).toBe('body_too_large');

    const missing = await fetch(`${server.url}/v1/nothing`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('not_found');
  });

  it('answers a model other than the one it serves with 404, an empty or absent one as its own', async () => {
    const err = await client.chat.completions
      .create({ model: 'gpt-4o', messages, max_tokens: 2 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });
    expect(err.error.message).toContain("'gpt-4o'");
    expect(err.error.message).toContain("'tinystories'");
    const text = await client.completions
      .create({ model: 'gpt-4o', prompt: 'Once', max_tokens: 2 })
      .catch((e) => e);
    expect(text).toBeInstanceOf(NotFoundError);
    expect(text.error.code).toBe('model_not_found');
    for (const model of ['', null, undefined]) {
      const r = await post('/v1/chat/completions', JSON.stringify({ model, messages, max_tokens: 1 }));
      expect(r.status, String(model)).toBe(200);
    }
    await expect(startServer(model, { port: 0, anyModel: 'yes' as unknown as boolean })).rejects.toThrow(
      /anyModel/,
    );
  });

  it('answers each bad input with its 4xx and OpenAI error body, then serves a normal request', async () => {
    const ok = { model: 'tinystories', messages, max_tokens: 2 };
    const refusesSystem =
      "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}" +
      '{% for m in messages %}{{ m.content }}{% endfor %}';
    const system = [{ role: 'system', content: 'Be brief' }, ...messages];
    const user = (content: unknown) => ({ ...ok, messages: [{ role: 'user', content }] });
    const chat = '/v1/chat/completions';
    const text = '/v1/completions';
    const prompt = { model: 'tinystories', prompt: 'Once upon a time', max_tokens: 2 };
    // [route, body, status, code, param, text of the message]
    const cases: [string, string, number, string, string | null, string][] = [
      [chat, '{"messages": [', 400, 'invalid_json', null, 'not valid JSON'],
      [chat, '[1, 2]', 400, 'INVALID_OPTION', 'request', 'must be a JSON object'],
      [chat, JSON.stringify({ ...ok, messages: [] }), 400, 'INVALID_OPTION', 'messages', 'at least one'],
      [
        chat,
        JSON.stringify({ ...ok, messages: [{ role: 'robot', content: 'x' }] }),
        400,
        'INVALID_OPTION',
        'messages[0].role',
        'robot',
      ],
      [chat, JSON.stringify(user(42)), 400, 'INVALID_OPTION', 'messages[0].content', 'found number'],
      [chat, JSON.stringify(user({ a: 1 })), 400, 'INVALID_OPTION', 'messages[0].content', 'found object'],
      [chat, JSON.stringify(user(null)), 400, 'INVALID_OPTION', 'messages[0].content', 'found null'],
      [
        chat,
        JSON.stringify(user([{ type: 'image_url', image_url: { url: 'http://x/y.png' } }])),
        400,
        'INVALID_OPTION',
        'messages[0].content[0].type',
        'text only',
      ],
      [
        chat,
        JSON.stringify({ ...ok, messages: system, chat_template: refusesSystem }),
        400,
        'CHAT_TEMPLATE',
        null,
        'System role not supported',
      ],
      [
        chat,
        JSON.stringify({ ...ok, chat_template: '{% for %}' }),
        400,
        'CHAT_TEMPLATE',
        null,
        'could not be parsed',
      ],
      [
        chat,
        JSON.stringify({ ...ok, max_tokens: 100_000 }),
        400,
        'CONTEXT_LENGTH',
        null,
        'exceeds the context length',
      ],
      [
        chat,
        JSON.stringify({ ...ok, temprature: 0 }),
        400,
        'INVALID_OPTION',
        'temprature',
        'unrecognized request argument supplied',
      ],
      [chat, JSON.stringify({ ...ok, n: 3 }), 400, 'INVALID_OPTION', 'n', 'not supported'],
      [chat, JSON.stringify({ ...ok, logprobs: true }), 400, 'INVALID_OPTION', 'logprobs', 'not supported'],
      [
        chat,
        JSON.stringify({ ...ok, tools: [{ type: 'function', function: { name: 'f' } }] }),
        400,
        'INVALID_OPTION',
        'tools',
        'not supported',
      ],
      [
        chat,
        JSON.stringify({ ...ok, response_format: { type: 'json_object' } }),
        400,
        'INVALID_OPTION',
        'response_format',
        'not supported',
      ],
      [
        chat,
        JSON.stringify({ ...ok, logit_bias: { 1: 5 } }),
        400,
        'INVALID_OPTION',
        'logit_bias',
        'not supported',
      ],
      [chat, JSON.stringify({ ...ok, model: 7 }), 400, 'INVALID_OPTION', 'model', 'must be a string'],
      [
        chat,
        JSON.stringify({ ...ok, pad: 'x'.repeat(10_000) }),
        413,
        'body_too_large',
        null,
        'exceeds the limit of 4096',
      ],
      [text, '{"prompt"', 400, 'invalid_json', null, 'not valid JSON'],
      [text, JSON.stringify({ ...prompt, prompt: 5 }), 400, 'INVALID_OPTION', 'prompt', 'non-empty string'],
      [text, JSON.stringify({ ...prompt, echo: true }), 400, 'INVALID_OPTION', 'echo', 'not supported'],
      [text, JSON.stringify({ ...prompt, best_of: 2 }), 400, 'INVALID_OPTION', 'best_of', 'not supported'],
      [text, JSON.stringify({ ...prompt, promt: 'x' }), 400, 'INVALID_OPTION', 'promt', 'unrecognized'],
      [
        text,
        JSON.stringify({ ...prompt, max_tokens: 100_000 }),
        400,
        'CONTEXT_LENGTH',
        null,
        'context length',
      ],
      [
        text,
        JSON.stringify({ ...prompt, pad: 'x'.repeat(10_000) }),
        413,
        'body_too_large',
        null,
        'exceeds the limit',
      ],
    ];
    for (const [path, body, status, code, param, message] of cases) {
      const r = await post(path, body);
      const what = `${path} ${body.slice(0, 120)}`;
      expect(r.status, what).toBe(status);
      const { error } = await r.json();
      expect(error, what).toMatchObject({ type: 'invalid_request_error', code, param });
      expect(error.message, what).toContain(message);
    }
    // The same refusals through the official client.
    const err = await client.chat.completions
      .create({
        ...ok,
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.error.param).toBe('messages[0].content[0].type');
    // Text parts are accepted; values that ask for nothing too; the server still serves.
    const r = await client.chat.completions.create({
      ...ok,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Once upon a time' }] }],
      n: 1,
      stream_options: null,
      user: 'me',
      temperature: 0,
    });
    expect(r.usage?.completion_tokens).toBe(2);
    const c = await client.completions.create({ ...prompt, temperature: 0 });
    expect(c.usage?.completion_tokens).toBe(2);
  });

  it('aborts a stream when the client disconnects, then serves the next request', async () => {
    // Watch the summaries of the generations the server runs.
    const summaries: GenerateSummary[] = [];
    const generateIds = model.generateIds.bind(model);
    model.generateIds = (...args) => {
      const events = generateIds(...args);
      return (async function* () {
        for await (const e of events) {
          if ('done' in e) summaries.push(e);
          yield e;
        }
      })();
    };
    try {
      const controller = new AbortController();
      const stream = await client.chat.completions.create(
        { model: 'tinystories', messages, max_tokens: 200, temperature: 0, stream: true },
        { signal: controller.signal },
      );
      let chunks = 0;
      // The client ends its iteration quietly when aborted.
      for await (const _ of stream) {
        if (++chunks === 3) controller.abort();
      }
      expect(chunks).toBe(3);
      await expect.poll(() => summaries.length).toBe(1);
      expect(summaries[0].finishReason).toBe('abort');
      expect(summaries[0].generatedTokens).toBeLessThan(200);
      // The aborted generation released the model: a normal request runs.
      const r = await client.chat.completions.create({
        model: 'tinystories',
        messages,
        max_tokens: 3,
        temperature: 0,
      });
      expect(r.usage?.completion_tokens).toBe(3);
      expect(summaries[1].finishReason).toBe('length');
    } finally {
      model.generateIds = generateIds;
    }
  });

  it('completes a prompt on /v1/completions, streamed or not', async () => {
    const request = { model: 'tinystories', prompt: 'Once upon a time', max_tokens: 8, temperature: 0 };
    const r = await client.completions.create(request);
    expect(r.object).toBe('text_completion');
    expect(r.choices[0].text.length).toBeGreaterThan(0);
    expect(r.choices[0].finish_reason).toBe('length');
    expect(r.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 8, total_tokens: 14 });

    const stream = await client.completions.create({ ...request, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0].text;
    expect(text).toBe(r.choices[0].text);

    const err = await client.completions.create({ ...request, max_tokens: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.error.param).toBe('max_tokens');
  });

  it('uses its chatTemplate for requests without their own, accepts any model name with anyModel, and answers a wrong method with 405', async () => {
    const chatTemplate = '{% for m in messages %}{{ m.content }}{% endfor %}';
    const s = await startServer(model, { port: 0, chatTemplate, anyModel: true });
    try {
      const c = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      // anyModel: a name other than the listed id is accepted.
      const r = await c.chat.completions.create({ model: 'any', messages, max_tokens: 2, temperature: 0 });
      expect(r.usage?.prompt_tokens).toBe(
        model.tokenizer.encode('Once upon a time', { addSpecialTokens: false }).length,
      );
      const wrong = await fetch(`${s.url}/v1/chat/completions`);
      expect(wrong.status).toBe(405);
      expect((await wrong.json()).error.code).toBe('method_not_allowed');
    } finally {
      await s.close();
    }
  });

  it('answers 503 while the model loads', async () => {
    let resolve!: (m: Model) => void;
    const loading = startServer(() => new Promise<Model>((r) => (resolve = r)), { port: 0 });
    const s = await loading;
    try {
      const r = await fetch(`${s.url}/v1/models`);
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
      expect((await r.json()).error.code).toBe('model_loading');
    } finally {
      // Hand it a stand-in: close() disposes what the loader returned.
      const standIn = {
        dispose: async () => {},
        applyChatTemplate: model.applyChatTemplate.bind(model),
        checkpoint: model.checkpoint,
      };
      resolve(standIn as unknown as Model);
      await s.close();
    }
  });
});

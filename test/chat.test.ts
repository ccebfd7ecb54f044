/**
 * Requests in turn (FIFO queue, abort while queued), KV-cache reuse across requests, and
 * `model.chat.completions.create` (shapes, end-of-turn tokens, stop strings, bad requests), on a
 * random tiny GPT-2 with a character tokenizer (every character of the prompts is one token).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatTemplateError, ContextLengthError, InvalidOptionError } from '../src/errors';
import type { ChatCompletionChunk, ChatCompletionRequest } from '../src/model/chat';
import { loadModel, type Model } from '../src/model/model';
import { randomModel } from '../src/model/testing';
import type { TopToken } from '../src/types';
import { drain } from './model/checks';

// V = 71: every character of testing.ts's CHARS is a token (no '<unk>' in these prompts).
const files = () =>
  randomModel('llama', { C: 64, NH: 4, NKV: 2, HS: 16, L: 2, V: 71, F: 172, ctx: 128, tied: false }, 2);

/** One line per message, characters the tokenizer knows; no end-of-turn token of its own. */
const TEMPLATE =
  '{% for m in messages %}{{ m.role }} {{ m.content }}. {% endfor %}{% if add_generation_prompt %}assistant {% endif %}';

const greedy = { temperature: 0 } as const;
/** Seeded sampling: the random model's greedy answers are one repeated character. */
const sampled = { temperature: 1, seed: 11 } as const;

/** The prompt ids a chat request runs on. */
function chatIds(m: Model, messages: ChatCompletionRequest['messages']): number[] {
  const text = m.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, source: TEMPLATE });
  return m.tokenizer.encode(text, { addSpecialTokens: false });
}

function argmaxRow(logits: Float32Array, row: number, V: number): number {
  let best = 0;
  for (let j = 1; j < V; j++) if (logits[row * V + j] > logits[row * V + best]) best = j;
  return best;
}

/** The top tokens' logits against a row of a full prefill: |a - b| <= 1e-4 + 1e-3 |b|. */
function expectTopMatches(top: TopToken[], logits: Float32Array, row: number, V: number) {
  for (const t of top) {
    const want = logits[row * V + t.tokenId];
    expect(Math.abs(t.logit - want)).toBeLessThanOrEqual(1e-4 + 1e-3 * Math.abs(want));
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('requests in turn, KV reuse and chat completions', () => {
  let m: Model;
  beforeAll(async () => {
    m = await loadModel(files());
  });
  afterAll(() => m?.dispose());

  it('runs concurrent requests first come first served, each as a sequential run gives', async () => {
    // Prompts with different first tokens: no request reuses another's cache.
    const a = [5, 6, 7, 8, 9];
    const b = [10, 11, 12];
    const c = [13, 14, 15, 16];
    const order: string[] = [];
    const done =
      <T>(name: string) =>
      (r: T) => {
        order.push(name);
        return r;
      };
    const together = await Promise.all([
      drain(m.generate({ ids: a }, { ...greedy, maxNewTokens: 6 })).then(done('a')),
      m.logits(b).then(done('b')),
      drain(m.generate({ ids: c }, { temperature: 0.9, seed: 3, maxNewTokens: 6 })).then(done('c')),
      m.chat.completions
        .create({
          messages: [{ role: 'user', content: 'hi' }],
          chat_template: TEMPLATE,
          max_tokens: 4,
          seed: 1,
        })
        .then(done('d')),
    ]);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    const alone = [
      await drain(m.generate({ ids: a }, { ...greedy, maxNewTokens: 6 })),
      await m.logits(b),
      await drain(m.generate({ ids: c }, { temperature: 0.9, seed: 3, maxNewTokens: 6 })),
      await m.chat.completions.create({
        messages: [{ role: 'user', content: 'hi' }],
        chat_template: TEMPLATE,
        max_tokens: 4,
        seed: 1,
      }),
    ] as const;
    expect(together[0].summary.tokenIds).toEqual(alone[0].summary.tokenIds);
    expect(together[0].text).toBe(alone[0].text);
    expect(together[1]).toEqual(alone[1]);
    expect(together[2].summary.tokenIds).toEqual(alone[2].summary.tokenIds);
    expect(together[3].choices[0].message.content).toBe(alone[3].choices[0].message.content);
    for (const r of [together[0], together[2], alone[0], alone[2]]) expect(r.summary.reusedTokens).toBe(0);
  });

  it('drops an aborted request from the queue without running it', async () => {
    const ctrl = new AbortController();
    const order: string[] = [];
    const first = drain(m.generate({ ids: [20, 21, 22] }, { ...greedy, maxNewTokens: 20 })).then((r) => {
      order.push('first');
      return r;
    });
    const dropped = drain(
      m.generate({ ids: [23, 24] }, { ...greedy, maxNewTokens: 20, signal: ctrl.signal }),
    ).then((r) => {
      order.push('dropped');
      return r;
    });
    const chat = m.chat.completions.create({
      messages: [{ role: 'user', content: 'x' }],
      chat_template: TEMPLATE,
      signal: ctrl.signal,
      max_tokens: 3,
    });
    const chatError = chat.then(
      () => null,
      (e: unknown) => {
        order.push('chat');
        return e;
      },
    );
    const last = drain(m.generate({ ids: [25] }, { ...greedy, maxNewTokens: 2 })).then((r) => {
      order.push('last');
      return r;
    });
    ctrl.abort();
    const [a, b, e, c] = await Promise.all([first, dropped, chatError, last]);
    // The dropped ones end before the running request does; the one behind them still runs.
    expect(order).toEqual(['dropped', 'chat', 'first', 'last']);
    expect(b.summary).toMatchObject({
      finishReason: 'abort',
      generatedTokens: 0,
      tokenIds: [],
      reusedTokens: 0,
    });
    expect(b.text).toBe('');
    expect((e as Error).name).toBe('AbortError');
    expect(a.summary.generatedTokens).toBeGreaterThan(0);
    expect(c.summary.generatedTokens).toBeGreaterThan(0);
    // Already aborted: nothing runs.
    const pre = await drain(m.generate({ ids: [26] }, { signal: AbortSignal.abort() }));
    expect(pre.summary).toMatchObject({ finishReason: 'abort', generatedTokens: 0 });
  });

  it('reuses the cached prefix of the next turn: the logits equal a fresh prefill', async () => {
    const V = m.config.vocabSize;
    const p1 = [3, 4, 5, 6, 7, 8, 9, 10, 11];
    const r1 = await drain(m.generate({ ids: p1 }, { ...sampled, maxNewTokens: 5 }));
    expect(r1.summary.reusedTokens).toBe(0);
    // Next turn: the whole history, then new tokens.
    const p2 = [...p1, ...r1.summary.tokenIds, 30, 31, 32];
    let firstTop: TopToken[] = [];
    const r2 = await drain(
      m.generate(
        { ids: p2 },
        {
          ...greedy,
          maxNewTokens: 5,
          onTopTokens: (t) => {
            if (firstTop.length === 0) firstTop = t;
          },
        },
      ),
    );
    // The last generated token of turn 1 was never fed back: its K/V is not in the cache.
    expect(r2.summary.reusedTokens).toBe(p1.length + r1.summary.tokenIds.length - 1);
    const fresh = await m.logits([...p2, ...r2.summary.tokenIds]);
    expectTopMatches(firstTop, fresh, p2.length - 1, V);
    r2.summary.tokenIds.forEach((id, i) => {
      expect(id).toBe(argmaxRow(fresh, p2.length - 1 + i, V));
    });

    // The cache now holds the ids of that logits call: a request diverging after 4 of them
    // reuses exactly 4.
    const p3 = [...p2.slice(0, 4), 50, 51, 52];
    let top3: TopToken[] = [];
    const r3 = await drain(
      m.generate(
        { ids: p3 },
        {
          ...greedy,
          maxNewTokens: 3,
          onTopTokens: (t) => {
            if (top3.length === 0) top3 = t;
          },
        },
      ),
    );
    expect(r3.summary.reusedTokens).toBe(4);
    const fresh3 = await m.logits(p3);
    expectTopMatches(top3, fresh3, p3.length - 1, V);
    expect(r3.summary.tokenIds[0]).toBe(argmaxRow(fresh3, p3.length - 1, V));

    // The same prompt again: all but its last token are reused, and the answer is the same.
    const again = await drain(m.generate({ ids: p3 }, { ...greedy, maxNewTokens: 3 }));
    expect(again.summary.reusedTokens).toBe(p3.length - 1);
    expect(again.summary.tokenIds).toEqual(r3.summary.tokenIds);
  });

  it('answers a chat completion: shapes, stream chunks, usage and cached tokens of the next turn', async () => {
    const messages: ChatCompletionRequest['messages'] = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'tell me a story' },
    ];
    const ids = chatIds(m, messages);
    const want = await drain(m.generate({ ids }, { ...sampled, maxNewTokens: 8 }));
    const res = await m.chat.completions.create({
      model: 'ignored',
      messages,
      chat_template: TEMPLATE,
      ...sampled,
      max_tokens: 8,
      frequency_penalty: 0,
    });
    expect(res.id).toMatch(/^chatcmpl-[0-9a-f]+$/);
    expect(res.object).toBe('chat.completion');
    expect(Number.isInteger(res.created)).toBe(true);
    expect(res.model).toBe(m.checkpoint.source);
    expect(res.choices).toHaveLength(1);
    expect(res.choices[0]).toEqual({
      index: 0,
      message: { role: 'assistant', content: want.text },
      finish_reason: want.summary.finishReason === 'stop' ? 'stop' : 'length',
    });
    const completion = want.summary.generatedTokens;
    expect(res.usage).toEqual({
      prompt_tokens: ids.length,
      completion_tokens: completion,
      total_tokens: ids.length + completion,
      prompt_tokens_details: { cached_tokens: ids.length - 1 },
    });

    const stream = await m.chat.completions.create({
      messages,
      chat_template: TEMPLATE,
      ...sampled,
      max_completion_tokens: 8,
      stream: true,
    });
    const chunks: ChatCompletionChunk[] = await collect(stream);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    for (const c of chunks) {
      expect(c.object).toBe('chat.completion.chunk');
      expect(c.id).toBe(chunks[0].id);
      expect(c.choices).toHaveLength(1);
    }
    expect(chunks[0].choices[0]).toEqual({
      index: 0,
      delta: { role: 'assistant', content: '' },
      finish_reason: null,
    });
    const end = chunks[chunks.length - 1];
    expect(end.choices[0]).toEqual({ index: 0, delta: {}, finish_reason: res.choices[0].finish_reason });
    expect(end.usage).toEqual(res.usage);
    const middle = chunks.slice(1, -1);
    for (const c of middle) {
      expect(c.usage).toBeUndefined();
      expect(c.choices[0].finish_reason).toBeNull();
      expect(c.choices[0].delta.role).toBeUndefined();
    }
    expect(middle.map((c) => c.choices[0].delta.content).join('')).toBe(res.choices[0].message.content);

    // The next turn reuses at least the whole previous prompt.
    const next = await m.chat.completions.create({
      messages: [
        ...messages,
        { role: 'assistant', content: res.choices[0].message.content },
        { role: 'user', content: 'more' },
      ],
      chat_template: TEMPLATE,
      ...sampled,
      max_tokens: 4,
    });
    expect(next.usage.prompt_tokens_details.cached_tokens).toBeGreaterThanOrEqual(ids.length);
  });

  it('ends at stop strings, which are left out of the content', async () => {
    const request = {
      messages: [{ role: 'user' as const, content: 'once upon a time' }],
      chat_template: TEMPLATE,
      ...sampled,
      max_tokens: 16,
    };
    const full = (await m.chat.completions.create(request)).choices[0].message.content;
    expect(full.length).toBeGreaterThanOrEqual(4);
    const stop = full.slice(2, 4);
    const cut = full.slice(0, full.indexOf(stop));
    for (const s of [stop, ['zzzz', stop]]) {
      const res = await m.chat.completions.create({ ...request, stop: s });
      expect(res.choices[0].message.content).toBe(cut);
      expect(res.choices[0].finish_reason).toBe('stop');
    }
  });

  it('refuses bad requests, naming the field', async () => {
    const ok = { messages: [{ role: 'user' as const, content: 'hi' }], chat_template: TEMPLATE };
    const create = (r: unknown) => m.chat.completions.create(r as ChatCompletionRequest & { stream?: false });
    const user = (content: unknown) => ({ ...ok, messages: [{ role: 'user', content }] });
    // [request, field InvalidOptionError names, text of its message]
    const cases: [unknown, string, string][] = [
      [[ok], 'request', 'must be an object'],
      [{ ...ok, messages: [] }, 'messages', 'at least one message'],
      [{ ...ok, messages: undefined }, 'messages', 'must be an array'],
      [{ ...ok, messages: [{ role: 'robot', content: 'hi' }] }, 'messages[0].role', '"robot"'],
      [user(3), 'messages[0].content', 'found number'],
      [user({ text: 'hi' }), 'messages[0].content', 'found object'],
      [user(null), 'messages[0].content', 'found null'],
      [user([]), 'messages[0].content', 'at least one text part'],
      [
        user([
          { type: 'text', text: 'hi' },
          { type: 'image_url', image_url: { url: 'x' } },
        ]),
        'messages[0].content[1].type',
        '"image_url" parts not supported: wgpt models read text only',
      ],
      [user(['hi']), 'messages[0].content[0].type', 'a part without a type'],
      [user([{ type: 'text', text: 5 }]), 'messages[0].content[0].text', 'must be a string'],
      [{ ...ok, frequency_penalty: 0.5 }, 'frequency_penalty', 'not supported'],
      [{ ...ok, top_p: 2 }, 'top_p', ''],
      [{ ...ok, max_tokens: 0 }, 'max_tokens', '>= 1'],
      [{ ...ok, model: 3 }, 'model', 'must be a string'],
      [{ ...ok, user: 3 }, 'user', 'must be a string'],
      // Fields OpenAI does not define: unrecognized, all of them listed.
      [
        { ...ok, temprature: 0, foo: 1 },
        'temprature',
        "unrecognized request arguments supplied: 'temprature', 'foo'",
      ],
      // OpenAI's fields wgpt does not implement: not supported (unrecognized ones are named first).
      [{ ...ok, n: 2, foo: 1 }, 'foo', 'unrecognized'],
      [{ ...ok, n: 2 }, 'n', 'not supported by wgpt: one choice per request'],
      [{ ...ok, logprobs: true }, 'logprobs', 'not supported'],
      [{ ...ok, top_logprobs: 2 }, 'top_logprobs', 'not supported'],
      [{ ...ok, logit_bias: { 5: 10 } }, 'logit_bias', 'not supported'],
      [{ ...ok, tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools', 'not supported'],
      [{ ...ok, tool_choice: 'auto' }, 'tool_choice', 'not supported'],
      [{ ...ok, response_format: { type: 'json_object' } }, 'response_format', 'not supported'],
      [{ ...ok, stream_options: { include_obfuscation: true } }, 'stream_options', 'not supported'],
      [{ ...ok, store: true }, 'store', 'not supported'],
    ];
    for (const [request, option, text] of cases) {
      const e = await create(request).catch((x: unknown) => x);
      expect(e, JSON.stringify(request)).toBeInstanceOf(InvalidOptionError);
      expect((e as InvalidOptionError).option, JSON.stringify(request)).toBe(option);
      expect((e as Error).message).toContain(text);
    }
    await expect(create({ ...ok, max_tokens: 1000 })).rejects.toBeInstanceOf(ContextLengthError);
    await expect(create({ ...ok, max_tokens: m.maxContext })).rejects.toBeInstanceOf(ContextLengthError);
    const long = await create(user('hi '.repeat(60))).catch((x: unknown) => x);
    expect(long).toBeInstanceOf(ContextLengthError);
    expect((long as ContextLengthError).maxContext).toBe(m.maxContext);
    // A template that refuses the conversation: ChatTemplateError with the template's message.
    const noSystem = `{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}${TEMPLATE}`;
    const system = [{ role: 'system' as const, content: 'be brief' }, ...ok.messages];
    const raised = await create({ messages: system, chat_template: noSystem }).catch((x: unknown) => x);
    expect(raised).toBeInstanceOf(ChatTemplateError);
    expect((raised as ChatTemplateError).reason).toBe('System role not supported');
    expect((raised as Error).message).toContain('System role not supported');
    // Nothing was left holding the model; values that ask for nothing are accepted.
    const res = await create({
      ...ok,
      max_tokens: 2,
      model: null,
      user: 'u1',
      n: 1,
      logprobs: false,
      logit_bias: {},
      tools: [],
      response_format: { type: 'text' },
      stream_options: { include_usage: true },
      top_logprobs: null,
    });
    expect(res.object).toBe('chat.completion');
    expect((await create({ messages: ok.messages, chat_template: noSystem, max_tokens: 1 })).object).toBe(
      'chat.completion',
    );
  });

  it("accepts OpenAI's text content parts, joined by newlines", async () => {
    const parts = [
      { type: 'text', text: 'hello' },
      { type: 'text', text: 'there' },
    ];
    const request = { chat_template: TEMPLATE, ...greedy, max_tokens: 4 };
    const joined = await m.chat.completions.create({
      ...request,
      messages: [{ role: 'user', content: 'hello\nthere' }],
    });
    const fromParts = await m.chat.completions.create({
      ...request,
      messages: [{ role: 'user', content: parts as unknown as string }],
    });
    expect(fromParts.usage.prompt_tokens).toBe(joined.usage.prompt_tokens);
    expect(fromParts.choices[0].message.content).toBe(joined.choices[0].message.content);
  });
});

describe('chat completions: end-of-turn tokens', () => {
  it('stop at a vocabulary end-of-turn token, which never reaches the text', async () => {
    const base = files();
    const messages = [{ role: 'user' as const, content: 'hello' }];
    // Find which token the model's greedy answer writes, then load the same weights with a
    // tokenizer where that token is <|im_end|>.
    const plain = await loadModel(base);
    let gen: number[];
    let prompt: string;
    try {
      prompt = plain.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true, source: TEMPLATE });
      const ids = plain.tokenizer.encode(prompt, { addSpecialTokens: false });
      gen = (await drain(plain.generate({ ids }, { ...sampled, maxNewTokens: 12 }))).summary.tokenIds;
    } finally {
      plain.dispose();
    }
    const tok = JSON.parse(base['tokenizer.json'] as string);
    const charOf = new Map<number, string>(
      Object.entries(tok.model.vocab as Record<string, number>).map(([c, i]) => [i, c]),
    );
    const k = gen.findIndex(
      (id, i) =>
        i >= 1 && id !== 0 && !prompt.includes(charOf.get(id) ?? '') && !gen.slice(0, i).includes(id),
    );
    expect(k).toBeGreaterThanOrEqual(1);
    const end = gen[k];
    delete tok.model.vocab[charOf.get(end) as string];
    tok.model.vocab['<|im_end|>'] = end;
    tok.added_tokens.push({
      id: end,
      content: '<|im_end|>',
      special: true,
      normalized: false,
      lstrip: false,
      rstrip: false,
    });
    const m = await loadModel({ ...base, 'tokenizer.json': JSON.stringify(tok) });
    try {
      const request = { messages, chat_template: TEMPLATE, ...sampled, max_tokens: 12 };
      const want = gen
        .slice(0, k)
        .map((id) => charOf.get(id))
        .join('');
      const res = await m.chat.completions.create(request);
      expect(res.choices[0].message.content).toBe(want);
      expect(res.choices[0].finish_reason).toBe('stop');
      expect(res.usage.completion_tokens).toBe(k + 1);
      const chunks = await collect(await m.chat.completions.create({ ...request, stream: true }));
      const text = chunks.map((c) => c.choices[0].delta.content ?? '').join('');
      expect(text).toBe(want);
      expect(text).not.toContain('<|im_end|>');
      expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('stop');
      // Plain generate knows nothing of chat turns: it writes past the token (left out of the text).
      const ids = m.tokenizer.encode(prompt, { addSpecialTokens: false });
      const plainRun = await drain(m.generate({ ids }, { ...sampled, maxNewTokens: 12 }));
      expect(plainRun.summary.tokenIds).toEqual(gen);
    } finally {
      m.dispose();
    }
  });
});

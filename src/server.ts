/**
 * A local OpenAI-compatible HTTP server over one model (Node only: node:http, no framework). The
 * model is any `Engine` (src/engine.ts): a `Model` in this thread, or one behind a worker.
 *
 *   POST /v1/chat/completions  `model.chat.completions.create`, JSON or server-sent events
 *   POST /v1/completions       a prompt string through `model.generate` (OpenAI's text_completion)
 *   GET  /v1/models            the one model; its id is `modelId` (default: the source it was loaded from),
 *                              which is also the `model` of every answer
 *
 * Streams are server-sent events, `data: {chunk}\n\n` ... `data: [DONE]\n\n`; the last chunk
 * carries the finish reason and `usage`. Requests take their turn in the model's FIFO queue; a
 * client that disconnects aborts its request (queued or running) through the request's `signal`.
 *
 * The server has one model: a request's `model` must be its id (as /v1/models lists it) or be
 * empty or absent, else the answer is OpenAI's 404 'model_not_found', unless the server was
 * started with `anyModel` (then any name is accepted, like llama.cpp's server). Request fields
 * wgpt does not implement are refused, never ignored (`checkFields` in src/model/chat.ts: OpenAI's
 * own fields as not supported, others as unrecognized, `param` naming the field).
 *
 * For a model without a chat template, chat requests without their own `chat_template` are
 * rendered by `PLAIN_CHAT_TEMPLATE` (the tokenizer's plain fallback, "user: Hi\nassistant:"),
 * unless the server was started with `chatTemplate`.
 *
 * Errors have OpenAI's body `{ error: { message, type, param, code } }`, `code` being the wgpt
 * error's code (e.g. 'INVALID_OPTION') or the server's own (lower case):
 *   400 InvalidOptionError, ContextLengthError, ChatTemplateError, 'invalid_json'
 *   404 'not_found' (unknown route), 'model_not_found' (param 'model')
 *   405 'method_not_allowed' (known route, other method)
 *   413 'body_too_large'                 503 'model_loading' (with Retry-After)
 *   500 anything else ('model_load_failed' when the model failed to load)
 * An error after a stream has begun is sent as one `data: { error }` event before the stream ends.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Engine } from './engine';
import { ChatTemplateError, ContextLengthError, InvalidOptionError, WgptError } from './errors';
import type { ChatCompletionRequest } from './model/chat';
import {
  checkFields,
  checkSampling,
  FIELD_OF_OPTION,
  SAMPLING_FIELDS,
  samplingOptions,
} from './model/chat-request';
import type { FinishReason, GenerateEvent, GenerateOptions, GenerateSummary } from './types';

export interface ServerOptions {
  /** Default 8080; 0 picks a free port (see `url`). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Largest request body accepted, bytes (default 1 MiB); a larger one gets 413. */
  maxBodyBytes?: number;
  /** A Jinja chat template for chat requests that bring none (default: the model's own). */
  chatTemplate?: string;
  /** The model's id in /v1/models and answers (default `model.checkpoint.source`, e.g. 'folder /models/x'). */
  modelId?: string;
  /** Accept a request's `model` whatever it names (default false: a name other than `modelId` gets 404). */
  anyModel?: boolean;
}

export interface RunningServer {
  /** e.g. 'http://127.0.0.1:8080' (the OpenAI client's baseURL is this plus '/v1'). */
  url: string;
  /** Stops listening, ends open connections, and disposes the model if the server loaded it. */
  close(): Promise<void>;
}

/**
 * The tokenizer's plain fallback ('role: content' lines, then 'assistant:') as a Jinja template,
 * `{prefix}` being the BOS text when the tokenizer adds BOS to plain text.
 */
export const PLAIN_CHAT_TEMPLATE =
  '{prefix}{% for message in messages %}{% if not loop.first %}{{ "\\n" }}{% endif %}' +
  '{{ message.role }}: {{ message.content }}{% endfor %}{% if add_generation_prompt %}{{ "\\nassistant:" }}{% endif %}';

class HttpError extends Error {
  readonly type: string;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.type = status >= 500 ? 'server_error' : 'invalid_request_error';
  }
}

/** Status and OpenAI error body of anything thrown while serving a request. */
export function errorResponse(e: unknown): { status: number; body: { error: Record<string, unknown> } } {
  const err = e as Error;
  const body = (status: number, type: string, param: string | null, code: string | null) => ({
    status,
    body: { error: { message: err?.message ?? String(e), type, param, code } },
  });
  if (e instanceof HttpError) return body(e.status, e.type, e.param, e.code);
  if (e instanceof InvalidOptionError) return body(400, 'invalid_request_error', e.option, e.code);
  if (e instanceof ContextLengthError || e instanceof ChatTemplateError) {
    return body(400, 'invalid_request_error', null, e.code);
  }
  return body(500, 'server_error', null, e instanceof WgptError ? e.code : null);
}

/** The template chat requests get when they bring none: the option's, else the plain one for a model without any. */
async function defaultChatTemplate(model: Engine, option: string | undefined): Promise<string | undefined> {
  if (option !== undefined) return option;
  const messages = [{ role: 'user' as const, content: '' }];
  try {
    await model.applyChatTemplate(messages);
    return undefined;
  } catch (e) {
    if (!(e instanceof ChatTemplateError)) throw e;
  }
  // Throws too when the model has named templates but no default: the request must pick one.
  let plain: string;
  try {
    plain = await model.applyChatTemplate(messages, { fallback: 'plain' });
  } catch {
    return undefined;
  }
  const prefix = plain.slice(0, plain.length - 'user: '.length);
  return PLAIN_CHAT_TEMPLATE.replace('{prefix}', prefix ? `{{ ${JSON.stringify(prefix)} }}` : '');
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    // An oversized body is read to its end (and dropped) so that the client gets the 413.
    req.on('data', (part: Buffer) => {
      size += part.length;
      if (size <= limit) parts.push(part);
    });
    req.on('end', () => {
      if (size > limit) {
        reject(
          new HttpError(413, 'body_too_large', `request body of ${size} bytes exceeds the limit of ${limit}`),
        );
      } else resolve(Buffer.concat(parts).toString('utf8'));
    });
    req.on('error', reject);
  });
}

function parseJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'invalid_json', `the request body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError('request', 'the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** Writes server-sent events from `events`; an error after the first one is sent as an event. */
async function sendStream(res: ServerResponse, events: AsyncIterable<unknown>, signal: AbortSignal) {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  try {
    for await (const event of events) {
      if (res.destroyed) return;
      res.write(`data: ${JSON.stringify(event)}\n\n`);
    }
    res.write('data: [DONE]\n\n');
  } catch (e) {
    if (signal.aborted || res.destroyed) return;
    res.write(`data: ${JSON.stringify(errorResponse(e).body)}\n\n`);
  }
  res.end();
}

const COMPLETION_FIELDS = new Set<string>([...SAMPLING_FIELDS, 'prompt']);

/** OpenAI's default max_tokens for /v1/completions. */
const COMPLETION_MAX_TOKENS = 16;

/** A /v1/completions request as generate options (fields named as the request names them). */
function completionOptions(body: Record<string, unknown>, signal: AbortSignal) {
  checkFields(body, COMPLETION_FIELDS);
  const get = <T>(key: string) => (body[key] ?? undefined) as T | undefined;
  let prompt = get<unknown>('prompt');
  if (Array.isArray(prompt) && prompt.length === 1) prompt = prompt[0];
  if (typeof prompt !== 'string' || prompt === '') {
    throw new InvalidOptionError('prompt', 'must be a non-empty string (one prompt per request)');
  }
  checkSampling(get);
  const stream = get<boolean>('stream');
  const stop = get<string | string[]>('stop');
  const options: GenerateOptions = {
    ...samplingOptions(get),
    maxNewTokens: get<number>('max_tokens') ?? COMPLETION_MAX_TOKENS,
    stop: typeof stop === 'string' ? [stop] : stop,
    signal,
  };
  return { prompt, options, stream: stream === true, maxTokensGiven: get('max_tokens') !== undefined };
}

function randomId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `${prefix}${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

const finishReason = (r: FinishReason) => (r === 'stop' ? 'stop' : 'length');
const completionUsage = (s: GenerateSummary) => ({
  prompt_tokens: s.promptTokens,
  completion_tokens: s.generatedTokens,
  total_tokens: s.promptTokens + s.generatedTokens,
});

/** Text pieces and the summary of a generation; throws the signal's reason when it was aborted. */
async function* completionChunks(
  modelId: string,
  events: AsyncGenerator<GenerateEvent>,
  signal: AbortSignal,
) {
  const base = {
    id: randomId('cmpl-'),
    object: 'text_completion' as const,
    created: Math.floor(Date.now() / 1000),
    model: modelId,
  };
  for await (const e of events) {
    if (!('done' in e)) {
      if (e.text)
        yield { ...base, choices: [{ index: 0, text: e.text, logprobs: null, finish_reason: null }] };
      continue;
    }
    if (e.finishReason === 'abort') signal.throwIfAborted();
    const choice = { index: 0, text: '', logprobs: null, finish_reason: finishReason(e.finishReason) };
    yield { ...base, choices: [choice], usage: completionUsage(e) };
    return;
  }
}

async function completions(
  model: Engine,
  modelId: string,
  body: Record<string, unknown>,
  res: ServerResponse,
  signal: AbortSignal,
) {
  const { prompt, options, stream, maxTokensGiven } = completionOptions(body, signal);
  // As for chat: a max_tokens the context has no room for after the prompt is refused (generate
  // alone would stop at the end of the context); the default of 16 shrinks to fit.
  const ids = await model.encode(prompt);
  const room = model.maxContext - ids.length;
  const max = options.maxNewTokens as number;
  if (room >= 1 && Number.isInteger(max) && max > room) {
    if (maxTokensGiven) {
      throw new ContextLengthError(
        ids.length + max,
        model.maxContext,
        `max_tokens of ${max} after a prompt of ${ids.length} tokens exceeds the context length of ${model.maxContext}`,
      );
    }
    options.maxNewTokens = room;
  }
  let events: AsyncGenerator<GenerateEvent>;
  try {
    events = model.generate({ ids }, options);
  } catch (e) {
    if (e instanceof InvalidOptionError && FIELD_OF_OPTION[e.option]) {
      throw new InvalidOptionError(
        FIELD_OF_OPTION[e.option],
        e.message.replace(/^invalid option '[^']*': /, ''),
      );
    }
    throw e;
  }
  const chunks = completionChunks(modelId, events, signal);
  if (stream) return sendStream(res, chunks, signal);
  let text = '';
  for await (const chunk of chunks) {
    text += chunk.choices[0].text;
    if ('usage' in chunk) {
      const choice = { ...chunk.choices[0], text };
      return sendJson(res, 200, { ...chunk, choices: [choice] });
    }
  }
}

async function chatCompletions(
  model: Engine,
  modelId: string,
  body: Record<string, unknown>,
  res: ServerResponse,
  signal: AbortSignal,
  template: string | undefined,
) {
  const request = { ...body, signal } as ChatCompletionRequest;
  if (template !== undefined && (request.chat_template ?? undefined) === undefined)
    request.chat_template = template;
  const answer = await model.chat.completions.create(request);
  if (!(Symbol.asyncIterator in answer)) return sendJson(res, 200, { ...answer, model: modelId });
  const chunks = (async function* () {
    for await (const chunk of answer) yield { ...chunk, model: modelId };
  })();
  return sendStream(res, chunks, signal);
}

type ModelOrLoader = Engine | Promise<Engine> | (() => Promise<Engine>);

/**
 * Serves `model` (or the model a promise or loader resolves to: until it does, requests get
 * 503) over HTTP. Resolves once the server listens.
 */
export async function startServer(model: ModelOrLoader, options: ServerOptions = {}): Promise<RunningServer> {
  const { port = 8080, host = '127.0.0.1', maxBodyBytes = 1 << 20 } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidOptionError('port', `must be an integer in [0, 65535], got ${port}`);
  }
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new InvalidOptionError('maxBodyBytes', `must be an integer >= 1, got ${maxBodyBytes}`);
  }
  const anyModel = options.anyModel ?? false;
  if (typeof anyModel !== 'boolean') throw new InvalidOptionError('anyModel', 'must be true or false');
  const owned = typeof model === 'function' || model instanceof Promise;
  let loaded: { model: Engine; id: string; template: string | undefined } | undefined;
  let loadError: unknown;
  const loading = (typeof model === 'function' ? model() : Promise.resolve(model))
    .then(async (m) => {
      const id = options.modelId ?? m.checkpoint.source;
      loaded = { model: m, id, template: await defaultChatTemplate(m, options.chatTemplate) };
    })
    .catch((e) => {
      loadError = e;
    });
  if (!owned) await loading;

  async function route(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    const methods: Record<string, string> = {
      '/v1/chat/completions': 'POST',
      '/v1/completions': 'POST',
      '/v1/models': 'GET',
    };
    const method = methods[path];
    if (!method) throw new HttpError(404, 'not_found', `no route ${req.method} ${req.url}`);
    if (req.method !== method) {
      throw new HttpError(405, 'method_not_allowed', `${path} takes ${method}, not ${req.method}`);
    }
    const text = method === 'POST' ? await readBody(req, maxBodyBytes) : '';
    if (loadError !== undefined) {
      throw new HttpError(
        500,
        'model_load_failed',
        `the model failed to load: ${(loadError as Error)?.message}`,
      );
    }
    if (!loaded) throw new HttpError(503, 'model_loading', 'the model is still loading');
    const m = loaded.model;
    if (path === '/v1/models') {
      const { id } = loaded;
      const created = Math.floor(Date.now() / 1000);
      return sendJson(res, 200, {
        object: 'list',
        data: [{ id, object: 'model', created, owned_by: 'wgpt' }],
      });
    }
    const body = parseJson(text);
    const asked = body.model ?? '';
    if (typeof asked !== 'string')
      throw new InvalidOptionError('model', `must be a string, got ${typeof asked}`);
    if (asked !== '' && asked !== loaded.id && !anyModel) {
      throw new HttpError(
        404,
        'model_not_found',
        `The model '${asked}' does not exist: this server serves '${loaded.id}' (GET /v1/models)`,
        'model',
      );
    }
    if (path === '/v1/completions') return completions(m, loaded.id, body, res, signal);
    return chatCompletions(m, loaded.id, body, res, signal, loaded.template);
  }

  const server = createServer((req, res) => {
    const controller = new AbortController();
    // The client went away before the answer was complete: stop its generation (or its wait).
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    route(req, res, controller.signal).catch((e) => {
      if (controller.signal.aborted || res.destroyed) return;
      const { status, body } = errorResponse(e);
      if (res.headersSent) {
        res.end();
        return;
      }
      sendJson(res, status, body, status === 503 ? { 'retry-after': '1' } : {});
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (owned) {
        await loading;
        await loaded?.model.dispose();
      }
    },
  };
}

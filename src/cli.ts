/**
 * The `wgpt` command line:
 *   wgpt generate [--model <folder|url|repo-id|file.gguf>] --prompt "..." [--max-tokens N] [--temperature T]
 *                 [--top-k K] [--top-p P] [--min-p P] [--repetition-penalty R] [--seed S] [--dtype f32|f16|q8|q4]
 *                 [--kv-dtype f32|f16] [--tuning auto|off|retune] [--kernel op=variant ...] [--no-cache] [--json]
 *   wgpt serve [--model <source>] [--port 8080] [--host 127.0.0.1] [--dtype f32|f16|q8|q4] [--kv-dtype f32|f16]
 *              [--tuning auto|off|retune] [--max-body-bytes N] [--chat-template <file>] [--any-model]
 * Without --model it uses the embedded default model (models/tinystories-656k).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { InvalidOptionError, WgptError } from './errors';
import { DTYPES } from './formats/convert';
import { defaultModelPath } from './model/default-model';
import { loadModel } from './model/model';
import { validateGenerateOptions, validateLoadOptions } from './model/options';
import { startServer } from './server';
import type { GenerateOptions, GenerateSummary, LoadOptions } from './types';
import { cachedFetch } from './worker/cache';

const USAGE = `usage: wgpt generate [--model <source>] --prompt "text" [options]
       wgpt serve [--model <source>] [--port 8080] [--host 127.0.0.1] [serve options]

options:
  --model <source>          a Hugging Face model folder, http(s) folder URL or repo id ('owner/name'), or a GGUF
                            file: path, URL, or 'owner/name/file.gguf' (default: embedded tinystories-656k)
  --prompt <text>           the prompt (required)
  --max-tokens <n>          tokens to generate at most (default 128)
  --temperature <t>         0 = greedy (default 1)
  --top-k <k>  --top-p <p>  --min-p <p>  --repetition-penalty <r>
  --seed <s>                same seed and options give the same tokens
  --dtype <f32|f16|q8|q4>   weight storage on the GPU (default: as the file stores them; q8/q4 quantize
                            float weights at load to q8_0/q4_0)
  --kv-dtype <f32|f16>      KV cache storage on the GPU (default f32)
  --tuning <auto|off|retune>  kernel selection per adapter: cached timing (default), untuned defaults, or time again
  --kernel <op=variant>     force a kernel variant, e.g. --kernel matmul=gemv.r4.v4 (repeatable)
  --no-cache                download a URL or hub model without the model cache (default: files go to
                            ~/.cache/wgpt/models, resumed and checksum-verified, and are read from there next time)
  --json                    print one JSON object with the prompt and generated token ids

serve: an OpenAI-compatible server (POST /v1/chat/completions, POST /v1/completions, GET /v1/models)
until Ctrl-C; takes --model, --dtype, --kv-dtype, --tuning, --kernel and --no-cache as above, and:
  --port <n>                default 8080 (0: any free port)
  --host <address>          default 127.0.0.1
  --max-body-bytes <n>      largest request body (default 1048576); a larger one gets 413
  --chat-template <file>    a Jinja chat template for requests that bring none (default: the model's;
                            a model without one gets 'role: content' lines, then 'assistant:')
  --any-model               accept a request's "model" whatever it names (default: only the id that
                            /v1/models lists, which is --model or 'tinystories-656k'; another gets 404)
`;

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || Number.isNaN(n))
    throw new InvalidOptionError(name, `'${value}' is not a number`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'serve') return serve(rest);
  if (command !== 'generate') {
    process.stderr.write(command && command !== '--help' ? `unknown command '${command}'\n${USAGE}` : USAGE);
    return command === '--help' ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      model: { type: 'string' },
      prompt: { type: 'string' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'min-p': { type: 'string' },
      'repetition-penalty': { type: 'string' },
      seed: { type: 'string' },
      dtype: { type: 'string' },
      'kv-dtype': { type: 'string' },
      tuning: { type: 'string' },
      kernel: { type: 'string', multiple: true },
      'no-cache': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.prompt === undefined) throw new InvalidOptionError('--prompt', 'is required');
  const options: GenerateOptions = {
    maxNewTokens: number('--max-tokens', values['max-tokens']) ?? 128,
    temperature: number('--temperature', values.temperature),
    topK: number('--top-k', values['top-k']),
    topP: number('--top-p', values['top-p']),
    minP: number('--min-p', values['min-p']),
    repetitionPenalty: number('--repetition-penalty', values['repetition-penalty']),
    seed: number('--seed', values.seed),
  };
  const load = loadOptions(values);
  // Bad options fail before the model loads.
  validateGenerateOptions(options);
  const model = await loadModel(values.model ?? defaultModelPath(), load);
  try {
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    let summary: GenerateSummary | undefined;
    let text = '';
    if (!values.json) process.stdout.write(values.prompt);
    for await (const event of model.generate(values.prompt, { ...options, signal: controller.signal })) {
      if ('done' in event) summary = event;
      else {
        text += event.text;
        if (!values.json) process.stdout.write(event.text);
      }
    }
    if (!summary) throw new Error('generation ended without a summary');
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({
          prompt: values.prompt,
          promptIds: summary.promptIds,
          tokenIds: summary.tokenIds,
          text,
          finishReason: summary.finishReason,
          prefillTokensPerSecond: summary.prefillTokensPerSecond,
          decodeTokensPerSecond: summary.decodeTokensPerSecond,
        })}\n`,
      );
    } else {
      process.stdout.write(
        `\n\n[${summary.promptTokens} prompt tokens, prefill ${summary.prefillTokensPerSecond.toFixed(1)} tokens/s; ` +
          `${summary.generatedTokens} generated, decode ${summary.decodeTokensPerSecond.toFixed(1)} tokens/s; ` +
          `finish: ${summary.finishReason}; ${model.adapter.architecture || model.adapter.vendor}${model.adapter.isSoftware ? ' (software adapter)' : ''}]\n`,
      );
    }
  } finally {
    model.dispose();
  }
  return 0;
}

/**
 * The load options both commands take, checked before the model loads. Files downloaded from a
 * URL or the hub go to the model cache (~/.cache/wgpt/models: resumed, checksum-verified, read from
 * there next time) unless --no-cache.
 */
function loadOptions(values: {
  dtype?: string;
  'kv-dtype'?: string;
  tuning?: string;
  kernel?: string[];
  'no-cache'?: boolean;
}): LoadOptions {
  const dtype = values.dtype as LoadOptions['dtype'];
  if (dtype !== undefined && !DTYPES.includes(dtype))
    throw new InvalidOptionError('--dtype', `must be one of ${DTYPES.join(', ')}, got '${dtype}'`);
  const load: LoadOptions = {
    dtype,
    kvDtype: values['kv-dtype'] as LoadOptions['kvDtype'],
    tuning: values.tuning as LoadOptions['tuning'],
    kernels: kernelOptions(values.kernel),
    fetch: values['no-cache'] ? undefined : cachedFetch().fetch,
  };
  validateLoadOptions(load);
  return load;
}

/** Kernel choices from repeated `--kernel op=variant`. */
function kernelOptions(values: string[] | undefined): Record<string, string> {
  const kernels: Record<string, string> = {};
  for (const k of values ?? []) {
    const [op, variant] = k.split('=');
    if (!op || !variant) throw new InvalidOptionError('--kernel', `expects op=variant, got '${k}'`);
    kernels[op] = variant;
  }
  return kernels;
}

/** `wgpt serve`: listens at once (503 until the model is loaded), prints the URL, serves until SIGINT. */
async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'chat-template': { type: 'string' },
      'any-model': { type: 'boolean', default: false },
      dtype: { type: 'string' },
      'kv-dtype': { type: 'string' },
      tuning: { type: 'string' },
      kernel: { type: 'string', multiple: true },
      'no-cache': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const load = loadOptions(values);
  const chatTemplate =
    values['chat-template'] === undefined ? undefined : await readFile(values['chat-template'], 'utf8');
  const source = values.model ?? defaultModelPath();
  const loading = loadModel(source, load);
  const server = await startServer(loading, {
    port: number('--port', values.port) ?? 8080,
    host: values.host ?? '127.0.0.1',
    maxBodyBytes: number('--max-body-bytes', values['max-body-bytes']),
    chatTemplate,
    modelId: values.model ?? 'tinystories-656k',
    anyModel: values['any-model'],
  }).catch(async (e) => {
    // Not listening (port taken, bad option): free the model once it has loaded.
    (await loading.catch(() => undefined))?.dispose();
    throw e;
  });
  process.stdout.write(`wgpt: serving ${source} at ${server.url}/v1 (loading the model...)\n`);
  try {
    const model = await loading;
    process.stdout.write(
      `wgpt: model loaded (${model.adapter.architecture || model.adapter.vendor}); Ctrl-C to stop\n`,
    );
  } catch (e) {
    await server.close();
    throw e;
  }
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  await server.close();
  return 0;
}

export async function run(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (e) {
    const err = e as Error;
    process.stderr.write(`wgpt: ${err instanceof WgptError ? `${err.name}: ` : ''}${err.message}\n`);
    process.exitCode = 1;
  }
}

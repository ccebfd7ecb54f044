/**
 * Bad arguments to the public calls (issue 11's corpus, the option and lifecycle half; the loading
 * half is test/bad-input.test.ts): each case asserts the error class and that the message names
 * the option, and the model stays usable after every one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextLengthError, InvalidOptionError, ModelStateError, type WgptError } from '../src/errors';
import { loadModel, type Model } from '../src/model/model';
import { randomModel } from '../src/model/testing';
import type { GenerateOptions, LoadOptions, ModelSource } from '../src/types';

const files = randomModel('llama', { C: 32, NH: 2, NKV: 1, HS: 16, L: 1, V: 40, F: 48, ctx: 16 }, 5);
let m: Model;
beforeAll(async () => {
  m = await loadModel(files, { tuning: 'off' });
});
afterAll(() => m?.dispose());

type Cls = abstract new (...a: never[]) => WgptError;

/** [what, class, words the message must contain, the call]. */
const generateCases: [string, Cls, string[], GenerateOptions | (() => unknown)][] = [
  ['temperature -1', InvalidOptionError, ['temperature'], { temperature: -1 }],
  ['temperature NaN', InvalidOptionError, ['temperature'], { temperature: Number.NaN }],
  ['temperature Infinity', InvalidOptionError, ['temperature'], { temperature: Number.POSITIVE_INFINITY }],
  ['temperature string', InvalidOptionError, ['temperature'], { temperature: '1' as unknown as number }],
  ['topP 0', InvalidOptionError, ['topP'], { topP: 0 }],
  ['topP 1.5', InvalidOptionError, ['topP'], { topP: 1.5 }],
  ['topK -1', InvalidOptionError, ['topK'], { topK: -1 }],
  ['topK 2.5', InvalidOptionError, ['topK'], { topK: 2.5 }],
  ['minP 2', InvalidOptionError, ['minP'], { minP: 2 }],
  ['maxNewTokens 0', InvalidOptionError, ['maxNewTokens'], { maxNewTokens: 0 }],
  ['maxNewTokens 1.5', InvalidOptionError, ['maxNewTokens'], { maxNewTokens: 1.5 }],
  ['repetitionPenalty 0', InvalidOptionError, ['repetitionPenalty'], { repetitionPenalty: 0 }],
  ['seed 1.5', InvalidOptionError, ['seed'], { seed: 1.5 }],
  ['stop not an array', InvalidOptionError, ['stop'], { stop: 'x' as unknown as string[] }],
  ['stop with an empty string', InvalidOptionError, ['stop'], { stop: [''] }],
  ['signal not a signal', InvalidOptionError, ['signal'], { signal: {} as AbortSignal }],
  ['onTopTokens not a function', InvalidOptionError, ['onTopTokens'], { onTopTokens: 1 as never }],
  [
    'temprature (misspelled)',
    InvalidOptionError,
    ['temprature', "did you mean 'temperature'"],
    { temprature: 1 } as GenerateOptions,
  ],
  [
    'max_tokens (OpenAI name)',
    InvalidOptionError,
    ['max_tokens', 'maxNewTokens'],
    { max_tokens: 1 } as GenerateOptions,
  ],
  [
    'top_p (OpenAI name)',
    InvalidOptionError,
    ['top_p', "did you mean 'topP'"],
    { top_p: 1 } as GenerateOptions,
  ],
  ['options not an object', InvalidOptionError, ['options'], 7 as unknown as GenerateOptions],
  ['empty ids', InvalidOptionError, ['ids'], () => m.generate({ ids: [] })],
  ['id past the vocabulary', InvalidOptionError, ['ids', '40'], () => m.generate({ ids: [1, 40] })],
  ['negative id', InvalidOptionError, ['ids'], () => m.generate({ ids: [-1] })],
  ['fractional id', InvalidOptionError, ['ids'], () => m.generate({ ids: [1.5] })],
  [
    'prompt filling the context',
    ContextLengthError,
    ['16'],
    () => m.generate({ ids: new Array(16).fill(1) }),
  ],
  ['logits of too many ids', ContextLengthError, ['16'], () => m.logits(new Array(17).fill(1))],
  ['logits of no ids', InvalidOptionError, ['ids'], () => m.logits([])],
];

const loadCases: [string, Cls, string[], unknown, LoadOptions][] = [
  ['source null', InvalidOptionError, ['source'], null, {}],
  ['source number', InvalidOptionError, ['source'], 3, {}],
  ['source empty string', InvalidOptionError, ['source'], '', {}],
  ['source empty object', InvalidOptionError, ['source'], {}, {}],
  ['device {}', InvalidOptionError, ['device', 'GPUDevice'], files, { device: {} as GPUDevice }],
  ['device a string', InvalidOptionError, ['device'], files, { device: 'gpu' as unknown as GPUDevice }],
  ['dtype f8', InvalidOptionError, ['dtype', "'f16'"], files, { dtype: 'f8' as 'f16' }],
  ['kvDtype q8', InvalidOptionError, ['kvDtype'], files, { kvDtype: 'q8' as 'f16' }],
  ['maxContext 0', InvalidOptionError, ['maxContext'], files, { maxContext: 0 }],
  ['maxContext past the model', InvalidOptionError, ['maxContext', '16'], files, { maxContext: 17 }],
  [
    'maxContxt (misspelled)',
    InvalidOptionError,
    ['maxContxt', "did you mean 'maxContext'"],
    files,
    { maxContxt: 8 } as LoadOptions,
  ],
  [
    'dtyp (misspelled)',
    InvalidOptionError,
    ['dtyp', "did you mean 'dtype'"],
    files,
    { dtyp: 'f16' } as LoadOptions,
  ],
  ['tuning fast', InvalidOptionError, ['tuning'], files, { tuning: 'fast' as 'off' }],
  [
    'kernels for an op without variants',
    InvalidOptionError,
    ['kernels', 'gelu'],
    files,
    { kernels: { gelu: 'x' } },
  ],
  [
    'kernels with a bad variant',
    InvalidOptionError,
    ['kernels', 'matmul'],
    files,
    { kernels: { matmul: 'fastest' } },
  ],
  ['onProgress not a function', InvalidOptionError, ['onProgress'], files, { onProgress: 1 as never }],
  ['fetch not a function', InvalidOptionError, ['fetch'], files, { fetch: 1 as never }],
  ['memoryLimit negative', InvalidOptionError, ['memoryLimit'], files, { memoryLimit: -1 }],
  [
    'fitContext a string',
    InvalidOptionError,
    ['fitContext'],
    files,
    { fitContext: 'yes' as unknown as boolean },
  ],
  [
    'tuningCache a number',
    InvalidOptionError,
    ['tuningCache'],
    files,
    { tuningCache: 3 as unknown as string },
  ],
];

async function expectTyped(cls: Cls, words: string[], call: () => unknown) {
  const e = await Promise.resolve()
    .then(call)
    .then(
      () => undefined,
      (x: unknown) => x,
    );
  expect(e).toBeInstanceOf(cls);
  for (const w of words) expect((e as Error).message).toContain(w);
}

describe('bad arguments: typed errors naming the option; the model stays usable', () => {
  it.each(generateCases)('generate: %s', async (_, cls, words, opts) => {
    await expectTyped(
      cls,
      words,
      typeof opts === 'function' ? opts : () => m.generate({ ids: [1, 2] }, opts),
    );
  });

  it.each(loadCases)('loadModel: %s', async (_, cls, words, source, opts) => {
    await expectTyped(cls, words, () => loadModel(source as ModelSource, opts));
  });

  it('still generates after every bad call', async () => {
    let n = 0;
    for await (const e of m.generate({ ids: [1, 2] }, { temperature: 0, maxNewTokens: 3 }))
      if (!('done' in e)) n++;
    expect(n).toBeGreaterThan(0);
  });

  it('refuses every call after dispose with ModelStateError', async () => {
    const d = await loadModel(files, { tuning: 'off' });
    await d.dispose();
    await expectTyped(ModelStateError, ['disposed'], () => d.logits([1]));
    await expectTyped(ModelStateError, ['disposed'], () => d.generate({ ids: [1] }));
    await expectTyped(ModelStateError, ['disposed'], () => d.lastLogits());
    await expectTyped(ModelStateError, ['disposed'], () => d.recover());
    await d.dispose(); // twice is fine
  });
});

/**
 * The demo page: load a model (embedded default, Hugging Face, or a folder from disk), generate
 * with streaming and watch the next-token distribution, or chat with it (./chat.ts) when it has a
 * chat template. The engine runs in a Web Worker (src/worker), so the page stays responsive while
 * the GPU works.
 */
import { DeviceLostError, type GenerateOptions } from '../src/index';
import type { RankedToken, RemoteModel } from '../src/worker/client';
import { ChatMode } from './chat';
import { describeError, isAbort, NO_WEBGPU_HELP } from './messages';
import { defaultModelUrl, ModelLoader } from './model-loader';
import {
  $,
  clearNotice,
  markChosen,
  renderPromptTokens,
  renderStats,
  renderTopTokens,
  showNotice,
  wireTemperature,
} from './ui';

/** How many next-token bars are shown (the sampler's own top-k is the Top-k field). */
const TOP_TOKENS = 10;

const input = <T extends HTMLElement = HTMLInputElement>(id: string) => $<T>(id);

let model: RemoteModel | undefined;
let generating: AbortController | undefined;
/** The token last picked, marked in the bars; undefined at the prompt. */
let chosenToken: number | undefined;
let analyzeSeq = 0;
let analyzing: Promise<void> = Promise.resolve();
const chat = new ChatMode({ options: readOptions, notify: showNotice, clear: clearNotice });
const loader = new ModelLoader(defaultModelUrl('../'), {
  setModel(m) {
    model = m;
    chat.setModel(m);
    if (m) scheduleAnalyze(0);
    else generating?.abort();
  },
  update: updateButtons,
});

function updateButtons(): void {
  const busy = loader.loading || !!generating;
  input<HTMLButtonElement>('generate').disabled = !model || busy;
  input<HTMLButtonElement>('stop').disabled = !generating;
}

function reloadModel(): void {
  loader.reload();
}

function number(id: string): number | undefined {
  const text = input(id).value.trim();
  return text === '' ? undefined : Number(text);
}

function temperature(): number {
  return number('temperature-number') ?? 1;
}

function readOptions(): GenerateOptions {
  return {
    temperature: temperature(),
    topK: number('top-k'),
    topP: number('top-p'),
    seed: number('seed'),
    maxNewTokens: number('max-new-tokens'),
  };
}

/** The prompt's tokens and the distribution after its last position (debounced while typing). */
let analyzeTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleAnalyze(delayMs = 300): void {
  clearTimeout(analyzeTimer);
  analyzeTimer = setTimeout(() => {
    analyzing = analyze();
  }, delayMs);
}

async function analyze(): Promise<void> {
  const m = model;
  if (!m || generating) return;
  const seq = ++analyzeSeq;
  const prompt = input<HTMLTextAreaElement>('prompt').value;
  const T = temperature();
  try {
    const result = await m.analyze(prompt, TOP_TOKENS, Number.isFinite(T) && T >= 0 ? T : 1);
    if (seq !== analyzeSeq) return;
    clearNotice('prompt');
    chosenToken = undefined;
    renderPromptTokens(result.pieces, result.ids);
    renderTopTokens(result.top);
    const last = result.pieces[result.pieces.length - 1] ?? '';
    setCaption(`After the prompt's last token “${last}” (position ${result.ids.length - 1})`);
  } catch (e) {
    // A model replaced meanwhile (its device destroyed mid-call) is no news.
    if (seq !== analyzeSeq || isAbort(e) || model !== m) return;
    showNotice({ ...describeError(e, 'run', reloadModel), key: 'prompt' });
  }
}

let captionBase = '';
function setCaption(base: string): void {
  captionBase = base;
  const T = temperature();
  $('next-caption').textContent = `${base} · probabilities at temperature ${Number.isFinite(T) ? T : '?'}`;
}

async function generate(): Promise<void> {
  const m = model;
  if (!m || generating || loader.loading) return;
  const controller = new AbortController();
  generating = controller;
  updateButtons();
  await analyzing.catch(() => {});
  const prompt = input<HTMLTextAreaElement>('prompt').value;
  const output = $('output');
  const promptSpan = document.createElement('span');
  promptSpan.className = 'prompt-text';
  promptSpan.textContent = prompt;
  const generated = document.createElement('span');
  generated.className = 'generated';
  output.replaceChildren(promptSpan, generated);
  output.classList.add('running');
  $('stats').hidden = true;
  clearNotice('run');
  let step = 0;
  try {
    for await (const event of m.generate(prompt, {
      ...readOptions(),
      signal: controller.signal,
      topTokens: TOP_TOKENS,
      topTemperature: temperature(),
      onTopTokens: (top: RankedToken[]) => {
        chosenToken = undefined;
        renderTopTokens(top);
        setCaption(
          step === 0
            ? 'Step 1, after the prompt'
            : `Step ${step + 1}, after “${generated.textContent?.slice(-24)}”`,
        );
      },
    })) {
      if ('done' in event) {
        renderStats(event);
        continue;
      }
      step++;
      chosenToken = event.tokenId;
      markChosen(event.tokenId);
      const atBottom = output.scrollHeight - output.scrollTop - output.clientHeight < 24;
      generated.append(event.text);
      if (atBottom) output.scrollTop = output.scrollHeight;
    }
  } catch (e) {
    if (!isAbort(e) && model === m) {
      const notice = describeError(e, 'run', reloadModel);
      showNotice(notice);
      if (e instanceof DeviceLostError) model = undefined;
    }
  } finally {
    output.classList.remove('running');
    if (generating === controller) generating = undefined;
    updateButtons();
  }
}

/** Temperature moved: redraw the bars from the same logits, at once. */
let redrawQueued = false;
async function redrawTopTokens(): Promise<void> {
  if (redrawQueued || !model) return;
  redrawQueued = true;
  await new Promise(requestAnimationFrame);
  redrawQueued = false;
  const T = temperature();
  const m = model;
  if (!m || !Number.isFinite(T) || T < 0) return;
  try {
    const top = await m.topTokens(TOP_TOKENS, T);
    if (top.length && model === m) {
      renderTopTokens(top, chosenToken);
      setCaption(captionBase);
    }
  } catch (e) {
    if (!isAbort(e) && model === m) showNotice(describeError(e, 'run', reloadModel));
  }
}

function wire(): void {
  loader.wire();
  input('generate').addEventListener('click', () => void generate());
  input('stop').addEventListener('click', () => generating?.abort());
  input('prompt').addEventListener('input', () => scheduleAnalyze());
  input('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void generate();
    }
  });
  wireTemperature(() => void redrawTopTokens());
}

function start(): void {
  wire();
  updateButtons();
  if (!navigator.gpu) {
    showNotice({ level: 'error', key: 'gpu', title: 'This browser has no WebGPU', detail: NO_WEBGPU_HELP });
    loader.noWebGpu();
    return;
  }
  void loader.load();
}

start();

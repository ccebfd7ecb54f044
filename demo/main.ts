/**
 * The demo page: load a model (embedded default, Hugging Face, or a folder from disk), generate
 * with streaming and watch the next-token distribution, or chat with it (./chat.ts) when it has a
 * chat template. The engine runs in a Web Worker (src/worker), so the page stays responsive while
 * the GPU works.
 */
import {
  DEFAULT_MODEL,
  DeviceLostError,
  type GenerateOptions,
  type LoadOptions,
  type ModelSource,
} from '../src/index';
import { type RankedToken, type RemoteModel, WorkerEngine } from '../src/worker/client';
import { ChatMode } from './chat';
import { type FileMap, filesFromDrop, filesFromInput, formatBytes, summarizeFiles } from './local-files';
import { describeError, isAbort, NO_WEBGPU_HELP } from './messages';
import {
  $,
  clearNotice,
  markChosen,
  ProgressView,
  renderPromptTokens,
  renderStats,
  renderTopTokens,
  showNotice,
} from './ui';

/** How many next-token bars are shown (the sampler's own top-k is the Top-k field). */
const TOP_TOKENS = 10;
/** The embedded model, served by the page's own server (dev: the repo's models/; build: copied beside the page). */
const DEFAULT_MODEL_URL = new URL(`../models/${DEFAULT_MODEL}/`, location.href).href;

const input = <T extends HTMLElement = HTMLInputElement>(id: string) => $<T>(id);
const progress = new ProgressView();

let engine = createEngine();
let engineBroken = false;
let model: RemoteModel | undefined;
let loading: AbortController | undefined;
let generating: AbortController | undefined;
let localFiles: FileMap = {};
let lastLoad: { source: ModelSource; name: string } | undefined;
/** The token last picked, marked in the bars; undefined at the prompt. */
let chosenToken: number | undefined;
let analyzeSeq = 0;
let analyzing: Promise<void> = Promise.resolve();
const chat = new ChatMode({ options: readOptions, notify: showNotice, clear: clearNotice });

function createEngine(): WorkerEngine {
  const e = new WorkerEngine();
  e.onFatal = (error) => {
    const lost = error instanceof DeviceLostError ? model : undefined;
    if (!lost) engineBroken = true;
    model = undefined;
    chat.setModel(undefined);
    generating?.abort();
    updateButtons();
    setStatus('The model is no longer usable: recover or reload it.', 'lost');
    const notice = describeError(error, 'run', reloadModel);
    // A lost device: the worker keeps the model and can upload it again to a new device in one click.
    if (lost) notice.action = { label: 'Recover', run: () => void recoverModel(lost) };
    showNotice(notice);
  };
  return e;
}

let loadCount = 0;
/** The model line under the Load button; data-state (and data-loads) let tests wait on loads. */
function setStatus(text: string, state: 'none' | 'loading' | 'loaded' | 'failed' | 'lost'): void {
  const status = $('model-status');
  status.textContent = text;
  status.dataset.state = state;
  if (state === 'loaded') status.dataset.loads = String(++loadCount);
}

function updateButtons(): void {
  const busy = !!loading || !!generating;
  input<HTMLButtonElement>('generate').disabled = !model || busy;
  input<HTMLButtonElement>('stop').disabled = !generating;
  input<HTMLButtonElement>('load').disabled = !!loading;
  input<HTMLButtonElement>('cancel-load').hidden = !loading;
}

function selectedSource(): { source: ModelSource; name: string } | undefined {
  const kind = document.querySelector<HTMLInputElement>('input[name="source"]:checked')?.value;
  if (kind === 'hub') {
    const id = input('hub-id').value.trim();
    if (!id) {
      showNotice({
        level: 'error',
        key: 'load',
        title: 'No model given',
        detail: 'Type a Hugging Face repo id (owner/name) or a folder URL.',
      });
      return undefined;
    }
    return { source: id, name: id };
  }
  if (kind === 'local') {
    if (Object.keys(localFiles).length === 0) {
      showNotice({
        level: 'error',
        key: 'load',
        title: 'No folder chosen',
        detail: 'Choose or drop a model folder first.',
      });
      return undefined;
    }
    const folder = Object.keys(localFiles)[0].split('/');
    return { source: localFiles, name: folder.length > 1 ? folder[0] : 'picked files' };
  }
  return { source: DEFAULT_MODEL_URL, name: `${DEFAULT_MODEL} (embedded)` };
}

async function load(choice = selectedSource()): Promise<void> {
  if (!choice) return;
  generating?.abort();
  loading?.abort();
  const controller = new AbortController();
  loading = controller;
  lastLoad = choice;
  model = undefined;
  chat.setModel(undefined);
  updateButtons();
  for (const key of ['load', 'memory', 'lost', 'gpu']) clearNotice(key);
  if (engineBroken) {
    engine.terminate();
    engine = createEngine();
    engineBroken = false;
  }
  setStatus(`Loading ${choice.name}…`, 'loading');
  progress.reset();
  const started = performance.now();
  try {
    const loaded = await engine.loadModel(choice.source, {
      dtype: (input<HTMLSelectElement>('dtype').value || undefined) as LoadOptions['dtype'],
      onProgress: (p) => loading === controller && progress.update(p),
      signal: controller.signal,
    });
    if (loading !== controller) return;
    model = loaded;
    chat.setModel(loaded);
    progress.finish(true);
    const c = loaded.config;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const ck = loaded.checkpoint;
    const formats = Object.entries(ck.tensorFormats)
      .map(([f, n]) => `${f} ×${n}`)
      .join(', ');
    setStatus(
      `Loaded ${choice.name} in ${seconds} s · ${ck.format === 'gguf' ? 'GGUF' : 'safetensors'} ${c.modelType}, ` +
        `${c.layers} layers, hidden ${c.hidden}, vocabulary ${c.vocabSize}, context ${loaded.maxContext} · ` +
        `tensors ${formats} (${formatBytes(ck.tensorBytes)} in the file, ${formatBytes(loaded.weightBytes)} on the GPU)`,
      'loaded',
    );
    const a = loaded.adapter;
    const badge = $('adapter');
    badge.hidden = false;
    badge.textContent = `GPU: ${[a.vendor, a.architecture, a.description].filter(Boolean).join(' · ') || 'unknown adapter'}`;
    badge.classList.toggle('software', a.isSoftware);
    if (a.isSoftware) {
      showNotice({
        level: 'warning',
        key: 'software',
        title: 'WebGPU is running on a software adapter',
        detail: `The browser gave a CPU implementation (${a.architecture || a.description || a.vendor}) instead of a GPU: it works, but far slower. Turn on hardware acceleration in the browser settings, or update the GPU driver.`,
      });
    } else clearNotice('software');
    scheduleAnalyze(0);
  } catch (e) {
    if (loading !== controller) return;
    progress.finish(false);
    setStatus(
      isAbort(e) ? 'Loading cancelled. No model loaded.' : 'No model loaded.',
      isAbort(e) ? 'none' : 'failed',
    );
    if (!isAbort(e)) showNotice(describeError(e, 'load', reloadModel));
  } finally {
    if (loading === controller) loading = undefined;
    updateButtons();
  }
}

/** Uploads the model again to a new device after a device loss (the worker reads the weights from its cache). */
async function recoverModel(m: RemoteModel): Promise<void> {
  clearNotice('lost');
  setStatus('Recovering: uploading the model to a new GPU device…', 'loading');
  try {
    await m.recover();
    model = m;
    chat.setModel(m);
    updateButtons();
    setStatus('Recovered: the model runs on a new GPU device.', 'loaded');
  } catch (e) {
    setStatus('Recovery failed: reload the model.', 'failed');
    showNotice(describeError(e, 'load', reloadModel));
  }
}

function reloadModel(): void {
  void load(lastLoad ?? selectedSource());
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
  if (!m || generating || loading) return;
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

function chooseLocal(files: FileMap): void {
  localFiles = files;
  input('source-local').checked = true;
  $('local-summary').textContent = summarizeFiles(files);
  if (Object.keys(files).length) void load();
}

function wire(): void {
  input('load').addEventListener('click', () => void load());
  input('cancel-load').addEventListener('click', () => loading?.abort());
  input('clear-cache').addEventListener('click', async () => {
    try {
      const had = await engine.clearCache();
      showNotice({
        level: 'info',
        key: 'cache',
        title: had ? 'Cache cleared' : 'The cache was already empty',
        detail: 'Models will be downloaded again the next time they are loaded.',
      });
    } catch (e) {
      showNotice({ level: 'error', key: 'cache', title: 'Could not clear the cache', detail: String(e) });
    }
  });
  input('hub-id').addEventListener('focus', () => (input('source-hub').checked = true));
  input('hub-id').addEventListener('keydown', (e) => e.key === 'Enter' && void load());
  input('pick-folder').addEventListener('click', () => input('folder-input').click());
  input('pick-files').addEventListener('click', () => input('file-input').click());
  for (const id of ['folder-input', 'file-input']) {
    const el = input(id);
    el.addEventListener('change', () => {
      chooseLocal(filesFromInput(el.files));
      el.value = '';
    });
  }
  const drop = $('drop-zone');
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  document.addEventListener('dragleave', (e) => {
    if (!e.relatedTarget) drop.classList.remove('over');
  });
  document.addEventListener('drop', async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer) chooseLocal(await filesFromDrop(e.dataTransfer));
  });

  input('generate').addEventListener('click', () => void generate());
  input('stop').addEventListener('click', () => generating?.abort());
  input('prompt').addEventListener('input', () => scheduleAnalyze());
  input('prompt').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void generate();
    }
  });
  const slider = input('temperature');
  const field = input('temperature-number');
  slider.addEventListener('input', () => {
    field.value = slider.value;
    void redrawTopTokens();
  });
  field.addEventListener('input', () => {
    const T = Number(field.value);
    if (field.value.trim() !== '' && Number.isFinite(T)) slider.value = String(Math.min(2, Math.max(0, T)));
    void redrawTopTokens();
  });
}

function start(): void {
  wire();
  updateButtons();
  if (!navigator.gpu) {
    showNotice({ level: 'error', key: 'gpu', title: 'This browser has no WebGPU', detail: NO_WEBGPU_HELP });
    setStatus('WebGPU is needed to run a model.', 'none');
    return;
  }
  void load();
}

start();

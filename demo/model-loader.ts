/**
 * Choosing and loading a model in the engine worker, shared by the demo (demo/main.ts) and the
 * explainer (demo/explain/): the source (the embedded default, a Hugging Face id or URL, a folder
 * or .gguf file from disk), the weights' format, load progress, the status line, the adapter
 * badge, and device loss with one-click recovery. Both pages carry the same model panel markup:
 * #source-*, #hub-id, #pick-folder, #pick-files, #folder-input, #file-input, #drop-zone,
 * #local-summary, #dtype, #load, #cancel-load, #clear-cache, #progress*, #model-status, #adapter.
 */
import { DEFAULT_MODEL, DeviceLostError, type LoadOptions, type ModelSource } from '../src/index';
import { type RemoteModel, WorkerEngine } from '../src/worker/client';
import { type FileMap, filesFromDrop, filesFromInput, formatBytes, summarizeFiles } from './local-files';
import { describeError, isAbort } from './messages';
import { $, clearNotice, ProgressView, showNotice } from './ui';

/** The embedded model, served by the page's own server (dev: the repo's models/; build: copied beside the pages). */
export function defaultModelUrl(pathToRoot: string): string {
  return new URL(`${pathToRoot}models/${DEFAULT_MODEL}/`, location.href).href;
}

export interface LoaderHooks {
  /** The model to use from now on: a loaded one, or undefined (loading, failed, lost). */
  setModel(model: RemoteModel | undefined): void;
  /** A load started or ended: buttons may change. */
  update?(): void;
}

interface Choice {
  source: ModelSource;
  name: string;
}

export class ModelLoader {
  engine: WorkerEngine;
  private controller?: AbortController;
  private engineBroken = false;
  private localFiles: FileMap = {};
  private lastLoad?: Choice;
  private loadCount = 0;
  private readonly progress = new ProgressView();
  /** The model last handed out, to offer recovering it when its device is lost. */
  private current?: RemoteModel;

  constructor(
    private readonly defaultUrl: string,
    private readonly hooks: LoaderHooks,
  ) {
    this.engine = this.createEngine();
  }

  /** Whether a load is running. */
  get loading(): boolean {
    return !!this.controller;
  }

  private createEngine(): WorkerEngine {
    const engine = new WorkerEngine();
    engine.onFatal = (error) => {
      const lost = error instanceof DeviceLostError ? this.current : undefined;
      if (!lost) this.engineBroken = true;
      this.use(undefined);
      this.update();
      this.setStatus('The model is no longer usable: recover or reload it.', 'lost');
      const notice = describeError(error, 'run', () => this.reload());
      // A lost device: the worker keeps the model and can upload it again to a new device in one click.
      if (lost) notice.action = { label: 'Recover', run: () => void this.recover(lost) };
      showNotice(notice);
    };
    return engine;
  }

  private use(model: RemoteModel | undefined): void {
    this.current = model;
    this.hooks.setModel(model);
  }

  private update(): void {
    $<HTMLButtonElement>('load').disabled = this.loading;
    $('cancel-load').hidden = !this.loading;
    this.hooks.update?.();
  }

  /** The model line under the Load button; data-state (and data-loads) let tests wait on loads. */
  private setStatus(text: string, state: 'none' | 'loading' | 'loaded' | 'failed' | 'lost'): void {
    const status = $('model-status');
    status.textContent = text;
    status.dataset.state = state;
    if (state === 'loaded') status.dataset.loads = String(++this.loadCount);
  }

  /** Says on the status line that WebGPU is missing (nothing can load). */
  noWebGpu(): void {
    this.setStatus('WebGPU is needed to run a model.', 'none');
  }

  private selectedSource(): Choice | undefined {
    const kind = document.querySelector<HTMLInputElement>('input[name="source"]:checked')?.value;
    if (kind === 'hub') {
      const id = $<HTMLInputElement>('hub-id').value.trim();
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
      if (Object.keys(this.localFiles).length === 0) {
        showNotice({
          level: 'error',
          key: 'load',
          title: 'No folder chosen',
          detail: 'Choose or drop a model folder first.',
        });
        return undefined;
      }
      const folder = Object.keys(this.localFiles)[0].split('/');
      return { source: this.localFiles, name: folder.length > 1 ? folder[0] : 'picked files' };
    }
    return { source: this.defaultUrl, name: `${DEFAULT_MODEL} (embedded)` };
  }

  /** Loads the chosen model, replacing the one loaded before. */
  async load(choice = this.selectedSource()): Promise<void> {
    if (!choice) return;
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.lastLoad = choice;
    this.use(undefined);
    this.update();
    for (const key of ['load', 'memory', 'lost', 'gpu']) clearNotice(key);
    if (this.engineBroken) {
      this.engine.terminate();
      this.engine = this.createEngine();
      this.engineBroken = false;
    }
    this.setStatus(`Loading ${choice.name}…`, 'loading');
    this.progress.reset();
    const started = performance.now();
    try {
      const loaded = await this.engine.loadModel(choice.source, {
        dtype: ($<HTMLSelectElement>('dtype').value || undefined) as LoadOptions['dtype'],
        onProgress: (p) => this.controller === controller && this.progress.update(p),
        signal: controller.signal,
      });
      if (this.controller !== controller) return;
      this.progress.finish(true);
      this.describe(loaded, choice.name, (performance.now() - started) / 1000);
      this.controller = undefined;
      this.use(loaded);
    } catch (e) {
      if (this.controller !== controller) return;
      this.progress.finish(false);
      this.setStatus(
        isAbort(e) ? 'Loading cancelled. No model loaded.' : 'No model loaded.',
        isAbort(e) ? 'none' : 'failed',
      );
      if (!isAbort(e)) showNotice(describeError(e, 'load', () => this.reload()));
    } finally {
      if (this.controller === controller) this.controller = undefined;
      this.update();
    }
  }

  /** The status line and the adapter badge of a loaded model. */
  private describe(loaded: RemoteModel, name: string, seconds: number): void {
    const c = loaded.config;
    const ck = loaded.checkpoint;
    const formats = Object.entries(ck.tensorFormats)
      .map(([f, n]) => `${f} ×${n}`)
      .join(', ');
    this.setStatus(
      `Loaded ${name} in ${seconds.toFixed(1)} s · ${ck.format === 'gguf' ? 'GGUF' : 'safetensors'} ${c.modelType}, ` +
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
  }

  /** Uploads the model again to a new device after a device loss (the worker reads the weights from its cache). */
  private async recover(m: RemoteModel): Promise<void> {
    clearNotice('lost');
    this.setStatus('Recovering: uploading the model to a new GPU device…', 'loading');
    try {
      await m.recover();
      this.use(m);
      this.update();
      this.setStatus('Recovered: the model runs on a new GPU device.', 'loaded');
    } catch (e) {
      this.setStatus('Recovery failed: reload the model.', 'failed');
      showNotice(describeError(e, 'load', () => this.reload()));
    }
  }

  /** Loads the last model again (or the chosen one). */
  reload(): void {
    void this.load(this.lastLoad ?? this.selectedSource());
  }

  private chooseLocal(files: FileMap): void {
    this.localFiles = files;
    $<HTMLInputElement>('source-local').checked = true;
    $('local-summary').textContent = summarizeFiles(files);
    if (Object.keys(files).length) void this.load();
  }

  /** Wires the model panel's controls, the file pickers and dropping a folder on the page. */
  wire(): void {
    $('load').addEventListener('click', () => void this.load());
    $('cancel-load').addEventListener('click', () => this.controller?.abort());
    $('clear-cache').addEventListener('click', async () => {
      try {
        const had = await this.engine.clearCache();
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
    const hub = $<HTMLInputElement>('hub-id');
    hub.addEventListener('focus', () => ($<HTMLInputElement>('source-hub').checked = true));
    hub.addEventListener('keydown', (e) => e.key === 'Enter' && void this.load());
    $('pick-folder').addEventListener('click', () => $('folder-input').click());
    $('pick-files').addEventListener('click', () => $('file-input').click());
    for (const id of ['folder-input', 'file-input']) {
      const el = $<HTMLInputElement>(id);
      el.addEventListener('change', () => {
        this.chooseLocal(filesFromInput(el.files));
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
      if (e.dataTransfer) this.chooseLocal(await filesFromDrop(e.dataTransfer));
    });
  }
}

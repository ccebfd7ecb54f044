/**
 * Loads one picked GGUF file (bench/load.ts hands it in through the file input): the load goes
 * through File.slice ranges, tensor by tensor, as a user's picked file would. Samples the JS heap
 * (performance.memory; precise with --enable-precise-memory-info) every ~20 ms during the load,
 * runs one greedy token, and publishes the figures on `window.loadResult`.
 */
import { loadModel } from '../src/index';

export interface LoadPageResult {
  ok: boolean;
  error?: string;
  fileBytes: number;
  loadSeconds: number;
  /** usedJSHeapSize before the load, and its peak above that during it (null without performance.memory). */
  heapBaseline: number | null;
  heapPeakAbove: number | null;
  heapSamples: number;
  /** Where the load was (file bytes read, bytes uploaded) when the heap peaked. */
  heapPeakAt: string;
  tensorBytes: number;
  weightBytes: number;
  tensorFormats: Record<string, number>;
  adapter: string;
  tokenSeconds: number;
  tokenId: number;
}

declare global {
  interface Window {
    loadResult?: LoadPageResult;
  }
}

const log = document.getElementById('log')!;
const input = document.getElementById('file') as HTMLInputElement;

/** Chromium's non-standard heap figure. */
const usedHeap = (): number | null =>
  (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null;

async function run(file: File): Promise<LoadPageResult> {
  const result: LoadPageResult = {
    ok: false,
    fileBytes: file.size,
    loadSeconds: 0,
    heapBaseline: usedHeap(),
    heapPeakAbove: null,
    heapSamples: 0,
    heapPeakAt: '',
    tensorBytes: 0,
    weightBytes: 0,
    tensorFormats: {},
    adapter: '',
    tokenSeconds: 0,
    tokenId: -1,
  };
  let peak = result.heapBaseline ?? 0;
  let read = 0;
  let uploaded = 0;
  const sample = () => {
    const h = usedHeap();
    if (h === null) return;
    if (h > peak) {
      peak = h;
      result.heapPeakAt = `file read to ${(read / 1e6).toFixed(0)} MB, ${(uploaded / 1e6).toFixed(0)} MB uploaded`;
    }
    result.heapSamples++;
  };
  const timer = setInterval(sample, 20);
  const t0 = performance.now();
  try {
    sample();
    const model = await loadModel(
      { [file.name]: file },
      {
        tuning: 'off',
        maxContext: 64,
        onProgress: (e) => {
          if (e.phase === 'download') read = e.overallLoaded;
          else uploaded = e.overallLoaded;
          if (e.phase === 'upload' && e.overallTotal) {
            log.textContent = `uploading ${((100 * e.overallLoaded) / e.overallTotal).toFixed(0)}%`;
          }
        },
      },
    );
    sample();
    result.loadSeconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    if (result.heapBaseline !== null) result.heapPeakAbove = peak - result.heapBaseline;
    result.tensorBytes = model.checkpoint.tensorBytes;
    result.tensorFormats = model.checkpoint.tensorFormats as Record<string, number>;
    result.weightBytes = model.weightBytes;
    const a = model.adapter;
    result.adapter = [a.vendor, a.architecture, a.description].filter(Boolean).join(' · ');
    log.textContent = `loaded in ${result.loadSeconds.toFixed(1)} s; one token…`;
    const t1 = performance.now();
    for await (const e of model.generate({ ids: [1] }, { maxNewTokens: 1, temperature: 0 })) {
      if (!('done' in e)) result.tokenId = e.tokenId;
    }
    result.tokenSeconds = (performance.now() - t1) / 1000;
    model.dispose();
    result.ok = true;
  } catch (e) {
    const err = e as Error;
    result.error = `${err.name}: ${err.message}`;
  } finally {
    clearInterval(timer);
  }
  return result;
}

input.addEventListener('change', async () => {
  const file = input.files?.[0];
  if (!file) return;
  log.textContent = `loading ${file.name} (${file.size} bytes)…`;
  const result = await run(file);
  log.textContent = JSON.stringify(result, null, 2);
  window.loadResult = result;
});

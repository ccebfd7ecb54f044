/**
 * Every failure a person can meet, in words: what happened and what to do. Errors from the worker
 * keep their class (errorFromJSON), so instanceof works here.
 */
import {
  ContextLengthError,
  DeviceLostError,
  GpuLimitError,
  GpuOutOfMemoryError,
  GpuUnavailableError,
  InvalidOptionError,
  ModelFormatError,
  ModelLoadError,
  ShaderCompileError,
  UnsupportedModelError,
} from '../src/index';

export type Level = 'error' | 'warning' | 'info';

export interface Notice {
  level: Level;
  title: string;
  detail: string;
  /** A stable key: a new notice replaces an older one with the same key. */
  key: string;
  action?: { label: string; run: () => void };
}

export const NO_WEBGPU_HELP =
  'Use a recent Chrome or Edge (version 113 or later) on Windows, macOS or ChromeOS, or Chrome with ' +
  'chrome://flags/#enable-unsafe-webgpu on Linux; Safari 26 and Firefox 141 also ship WebGPU. ' +
  'Check that hardware acceleration is on, and open the page over https or from localhost.';

export function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

/** The message as a sentence: one final period. */
function sentence(text: string): string {
  return `${text.replace(/[.\s]+$/, '')}.`;
}

/** A notice for an error met while loading ('load') or running ('run') the model. */
export function describeError(e: unknown, during: 'load' | 'run', reload: () => void): Notice {
  const message = sentence(e instanceof Error ? e.message : String(e));
  if (e instanceof GpuUnavailableError) {
    return {
      level: 'error',
      key: 'gpu',
      title: 'WebGPU is not available in this browser',
      detail: `${message} ${NO_WEBGPU_HELP}`,
    };
  }
  if (e instanceof GpuLimitError) {
    return { level: 'error', key: 'gpu', title: 'This GPU lacks a capability wgpt needs', detail: message };
  }
  if (e instanceof GpuOutOfMemoryError) {
    return {
      level: 'error',
      key: 'memory',
      title: 'Not enough GPU memory for this model',
      detail: `${message} Try "f16" weights (half the memory), a smaller model, or close other tabs that use the GPU.`,
    };
  }
  if (e instanceof DeviceLostError) {
    return {
      level: 'error',
      key: 'lost',
      title: 'The GPU device was lost',
      detail: `${message} The driver may have reset or the GPU was reclaimed; reload the model to continue.`,
      action: { label: 'Reload model', run: reload },
    };
  }
  if (e instanceof ModelFormatError || e instanceof ModelLoadError) {
    return {
      level: 'error',
      key: 'load',
      title: `Could not load the model: a problem with ${e.file}`,
      detail: message,
    };
  }
  if (e instanceof UnsupportedModelError) {
    return { level: 'error', key: 'load', title: 'This model is not supported', detail: message };
  }
  if (e instanceof ShaderCompileError) {
    return {
      level: 'error',
      key: 'load',
      title: `A GPU kernel failed to compile (${e.kernel})`,
      detail: message,
    };
  }
  if (e instanceof ContextLengthError) {
    return {
      level: 'error',
      key: 'prompt',
      title: 'The prompt is longer than the model’s context',
      detail: `${message} Shorten the prompt (the model sees at most ${e.maxContext} tokens).`,
    };
  }
  if (e instanceof InvalidOptionError) {
    return { level: 'error', key: 'run', title: `Invalid setting: ${e.option}`, detail: message };
  }
  return {
    level: 'error',
    key: during,
    title: during === 'load' ? 'Could not load the model' : 'Generation failed',
    detail: message,
  };
}

/**
 * One instance of every error class, with field values distinct from each other and from the
 * defaults, for the tests of errors crossing a boundary (test/errors.test.ts, test/worker.test.ts).
 */
import * as errors from '../src/errors';

export type ErrorClass = abstract new (...args: never[]) => errors.WgptError;

/** Every error class src/errors.ts exports, by name. */
export const exportedErrors = Object.entries(errors as Record<string, unknown>).filter(
  (entry): entry is [string, ErrorClass] =>
    typeof entry[1] === 'function' && entry[1].prototype instanceof Error,
);

export const errorExamples: Record<string, () => errors.WgptError> = {
  WgptError: () => new errors.WgptError('something went wrong'),
  GpuUnavailableError: () => new errors.GpuUnavailableError('no adapter'),
  GpuLimitError: () => new errors.GpuLimitError('maxStorageBufferBindingSize', 'needs 256 MiB, has 128 MiB'),
  ShaderCompileError: () => new errors.ShaderCompileError('matmul', 'gemv.r4.v4', 17, "unresolved value 'x'"),
  GpuOperationError: () => new errors.GpuOperationError('validation failed'),
  GpuOutOfMemoryError: () => new errors.GpuOutOfMemoryError('out of memory allocating 3 GB'),
  DeviceLostError: () => new errors.DeviceLostError('unknown', 'driver reset'),
  ModelFormatError: () => new errors.ModelFormatError('model.safetensors', 'truncated', 'lm_head.weight'),
  ModelLoadError: () => new errors.ModelLoadError('config.json', 'HTTP 404'),
  UnsupportedModelError: () => new errors.UnsupportedModelError("architecture 'mamba' is not supported"),
  ContextLengthError: () => new errors.ContextLengthError(600, 512),
  InvalidOptionError: () => new errors.InvalidOptionError('topP', 'must be in (0, 1], got 1.5'),
  ModelStateError: () => new errors.ModelStateError('the model has been disposed'),
  ChatTemplateError: () => new errors.ChatTemplateError('tool_use', 'Conversation roles must alternate'),
  NumericalError: () =>
    new errors.NumericalError('non-finite value', {
      tensor: 'model.norm.weight',
      file: 'model.safetensors',
      index: 3,
      position: 7,
      layer: 2,
    }),
};

/** The error's fields: own enumerable properties besides its name. */
export function errorFields(e: Error): Record<string, unknown> {
  return Object.fromEntries(Object.entries(e).filter(([key]) => key !== 'name'));
}

/**
 * Typed errors for everything a user can cause or meet. Each carries a machine-readable `code`
 * so that errors crossing a worker boundary keep their type (see `errorFromJSON`).
 */
export class WgptError extends Error {
  readonly code: string = 'WGPT_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** No WebGPU implementation or no adapter could be found. */
export class GpuUnavailableError extends WgptError {
  override readonly code = 'GPU_UNAVAILABLE';
}

/** The adapter lacks a limit or feature the engine needs. */
export class GpuLimitError extends WgptError {
  override readonly code = 'GPU_LIMIT';
  constructor(
    readonly limit: string,
    message: string,
  ) {
    super(message);
  }
}

/** A WGSL shader failed to compile or its pipeline failed to build. */
export class ShaderCompileError extends WgptError {
  override readonly code = 'SHADER_COMPILE';
  constructor(
    readonly kernel: string,
    readonly variant: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`kernel '${kernel}' (variant ${variant}) failed to compile: line ${line}: ${detail}`);
  }
}

/** A GPU operation failed validation or ran out of memory. */
export class GpuOperationError extends WgptError {
  override readonly code = 'GPU_OPERATION';
}

/** GPU memory could not be allocated. */
export class GpuOutOfMemoryError extends WgptError {
  override readonly code = 'GPU_OUT_OF_MEMORY';
}

/** The GPU device was lost (driver reset, tab backgrounded, destroy()). */
export class DeviceLostError extends WgptError {
  override readonly code = 'DEVICE_LOST';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(`GPU device lost (${reason}): ${message}`);
  }
}

/** A model file is malformed or does not match its config. Names the file and tensor. */
export class ModelFormatError extends WgptError {
  override readonly code = 'MODEL_FORMAT';
  constructor(
    readonly file: string,
    message: string,
    readonly tensor?: string,
  ) {
    super(`${file}${tensor ? ` (tensor '${tensor}')` : ''}: ${message}`);
  }
  override toJSON() {
    return { ...super.toJSON(), file: this.file, tensor: this.tensor };
  }
}

/** A model file could not be fetched or read. */
export class ModelLoadError extends WgptError {
  override readonly code = 'MODEL_LOAD';
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
  override toJSON() {
    return { ...super.toJSON(), file: this.file };
  }
}

/** The model's architecture is not one wgpt implements. */
export class UnsupportedModelError extends WgptError {
  override readonly code = 'UNSUPPORTED_MODEL';
}

/** The prompt (plus requested tokens) does not fit in the model's context. */
export class ContextLengthError extends WgptError {
  override readonly code = 'CONTEXT_LENGTH';
  constructor(
    readonly tokens: number,
    readonly maxContext: number,
    message?: string,
  ) {
    super(message ?? `prompt of ${tokens} tokens exceeds the context length of ${maxContext}`);
  }
}

/** An option has an impossible value. Names the option. */
export class InvalidOptionError extends WgptError {
  override readonly code = 'INVALID_OPTION';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`invalid option '${option}': ${message}`);
  }
  override toJSON() {
    return { ...super.toJSON(), option: this.option };
  }
}

/** The model was disposed or is busy with another generation. */
export class ModelStateError extends WgptError {
  override readonly code = 'MODEL_STATE';
}

const byCode: Record<string, new (...args: never[]) => WgptError> = {};
for (const cls of [
  GpuUnavailableError,
  GpuLimitError,
  ShaderCompileError,
  GpuOperationError,
  GpuOutOfMemoryError,
  DeviceLostError,
  ModelFormatError,
  ModelLoadError,
  UnsupportedModelError,
  ContextLengthError,
  InvalidOptionError,
  ModelStateError,
]) {
  byCode[cls.name] = cls as never;
}

/** Rebuilds an error serialized with `toJSON` (for example sent from a worker), keeping its class. */
export function errorFromJSON(data: { name?: string; message?: string; [k: string]: unknown }): Error {
  const cls = data.name ? byCode[data.name] : undefined;
  const err: Error = cls ? Object.create(cls.prototype) : new Error();
  Object.assign(err, data);
  err.message = String(data.message ?? 'unknown error');
  if (cls) Object.defineProperty(err, 'name', { value: data.name, enumerable: false });
  return err;
}

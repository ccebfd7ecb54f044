/**
 * Typed errors for everything a user can cause or meet. Each carries a machine-readable `code`
 * (a getter on its class, so it survives minified class names) and its fields (constructor
 * parameters such as `maxContext`), so that errors crossing a worker boundary keep their class and
 * every field: `toJSON` writes them all, `errorFromJSON` rebuilds the error from them.
 */
export class WgptError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
  /** Stable across versions and bundles; `errorFromJSON` finds the class by it. */
  get code(): string {
    return 'WGPT_ERROR';
  }
  /** Name, code, message and every field (the error's own enumerable properties). */
  toJSON(): SerializedWgptError {
    return { ...(this as object), name: this.name, code: this.code, message: this.message };
  }
}

/** A wgpt error as `toJSON` writes it: its fields beside name, code and message. */
export interface SerializedWgptError {
  name: string;
  code: string;
  message: string;
  [field: string]: unknown;
}

/** No WebGPU implementation or no adapter could be found. */
export class GpuUnavailableError extends WgptError {
  override get code() {
    return 'GPU_UNAVAILABLE' as const;
  }
}

/** The adapter lacks a limit or feature the engine needs. */
export class GpuLimitError extends WgptError {
  override get code() {
    return 'GPU_LIMIT' as const;
  }
  constructor(
    readonly limit: string,
    message: string,
  ) {
    super(message);
  }
}

/** A WGSL shader failed to compile or its pipeline failed to build. */
export class ShaderCompileError extends WgptError {
  override get code() {
    return 'SHADER_COMPILE' as const;
  }
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
  override get code() {
    return 'GPU_OPERATION' as const;
  }
}

/** GPU memory could not be allocated. */
export class GpuOutOfMemoryError extends WgptError {
  override get code() {
    return 'GPU_OUT_OF_MEMORY' as const;
  }
}

/** The GPU device was lost (driver reset, tab backgrounded, destroy()). */
export class DeviceLostError extends WgptError {
  override get code() {
    return 'DEVICE_LOST' as const;
  }
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(`GPU device lost (${reason}): ${message}`);
  }
}

/** A model file is malformed or does not match its config. Names the file and tensor. */
export class ModelFormatError extends WgptError {
  override get code() {
    return 'MODEL_FORMAT' as const;
  }
  constructor(
    readonly file: string,
    message: string,
    readonly tensor?: string,
  ) {
    super(`${file}${tensor ? ` (tensor '${tensor}')` : ''}: ${message}`);
  }
}

/** A model file could not be fetched or read. */
export class ModelLoadError extends WgptError {
  override get code() {
    return 'MODEL_LOAD' as const;
  }
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${message}`, options);
  }
}

/** The model's architecture is not one wgpt implements. */
export class UnsupportedModelError extends WgptError {
  override get code() {
    return 'UNSUPPORTED_MODEL' as const;
  }
}

/** The prompt (plus requested tokens) does not fit in the model's context. */
export class ContextLengthError extends WgptError {
  override get code() {
    return 'CONTEXT_LENGTH' as const;
  }
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
  override get code() {
    return 'INVALID_OPTION' as const;
  }
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`invalid option '${option}': ${message}`);
  }
}

/** The model was used after dispose(). */
export class ModelStateError extends WgptError {
  override get code() {
    return 'MODEL_STATE' as const;
  }
}

/**
 * A chat template could not be applied: the model has none, the one asked for does not exist, it
 * does not parse or render, or it refused the conversation (`reason` is its raise_exception message).
 * `template` names the template ('default', another of the model's names, 'source' for one
 * passed by the caller), undefined when there was none to use.
 */
export class ChatTemplateError extends WgptError {
  override get code() {
    return 'CHAT_TEMPLATE' as const;
  }
  constructor(
    readonly template: string | undefined,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(template === undefined ? reason : `chat template '${template}': ${reason}`, options);
  }
}

/**
 * Numbers that are not finite (NaN, ±Infinity) where finite ones are needed: a weight found so at
 * load (`tensor`, `file`, and the flat `index` of the first bad value), or the logits of a
 * generation (`position` of the token, and `layer`, the first layer whose output is non-finite,
 * when known). Only the fields that apply are set.
 */
export class NumericalError extends WgptError {
  override get code() {
    return 'NUMERICAL' as const;
  }
  declare readonly tensor?: string;
  declare readonly file?: string;
  declare readonly index?: number;
  declare readonly position?: number;
  declare readonly layer?: number;
  constructor(
    message: string,
    fields: { tensor?: string; file?: string; index?: number; position?: number; layer?: number } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    for (const [key, value] of Object.entries(fields))
      if (value !== undefined) Object.assign(this, { [key]: value });
  }
}

/** Every error class, by code and by name (the name as a fallback for data without a code). */
const classes: (abstract new (...args: never[]) => WgptError)[] = [
  WgptError,
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
  ChatTemplateError,
  NumericalError,
];
const byCode = new Map(classes.map((cls) => [(cls.prototype as WgptError).code, cls]));
const byName = new Map(classes.map((cls) => [cls.name, cls]));

/**
 * Rebuilds an error serialized with `toJSON` (for example sent from a worker): the class found by
 * its `code` (else its name), the message, and every field as an own property. Anything else
 * (a DOMException's name such as 'AbortError', a plain Error) becomes an Error with that name.
 */
export function errorFromJSON(data: { name?: string; message?: string; [k: string]: unknown }): Error {
  const { name, code, message, ...fields } = data;
  const cls = (typeof code === 'string' && byCode.get(code)) || (name ? byName.get(name) : undefined);
  const err: Error = cls ? Object.create(cls.prototype) : new Error();
  // `code` of a known class comes from its prototype; an unknown one stays a field.
  Object.assign(err, cls ? fields : { ...fields, ...(code === undefined ? {} : { code }) });
  Object.defineProperty(err, 'message', {
    value: String(message ?? 'unknown error'),
    writable: true,
    configurable: true,
  });
  if (name !== undefined || cls) {
    Object.defineProperty(err, 'name', { value: name ?? cls?.name, writable: true, configurable: true });
  }
  return err;
}

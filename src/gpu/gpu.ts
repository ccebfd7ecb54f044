/**
 * The GPU runtime: one device, its buffers, a pipeline cache, and error scopes around everything
 * that can fail. Kernel wrappers (src/kernels) build on this.
 */
import { DeviceLostError, GpuOperationError, GpuOutOfMemoryError, ShaderCompileError } from '../errors';
import { type AdapterSummary, requestDevice, summarizeAdapter } from './device';
import { type Defines, type ParamField, paramsLayout, preprocess, shaderSources } from './shader';
import { Tuning, type TuningOptions } from './tuning';

/** A byte range of a buffer, as bound to a shader. */
export interface BufferSlice {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}
export type BufferRef = GPUBuffer | BufferSlice;

export function sliceOf(ref: BufferRef): BufferSlice {
  return ref instanceof Object && 'buffer' in ref ? ref : { buffer: ref, offset: 0, size: ref.size };
}

export interface Pipeline {
  kernel: string;
  variant: string;
  pipeline: GPUComputePipeline;
  params: ParamField[];
}

export interface GpuFeatures {
  shaderF16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
}

export class Gpu {
  readonly adapter: AdapterSummary;
  readonly features: GpuFeatures;
  readonly limits: GPUSupportedLimits;
  /** Resolves when the device is lost, with the error every later call would see. */
  readonly lost: Promise<DeviceLostError>;
  lostError: DeviceLostError | undefined;
  /** Which variant of each op runs at each shape on this adapter (src/gpu/tuning.ts). */
  readonly tuning: Tuning;
  private readonly pipelines = new Map<string, Promise<Pipeline>>();
  /** Buffers created here and not destroyed yet (the soak script and leak tests count them). */
  private readonly live = new Set<GPUBuffer>();

  private constructor(
    readonly device: GPUDevice,
    adapter: AdapterSummary,
    tuning: TuningOptions = {},
  ) {
    this.adapter = adapter;
    this.tuning = new Tuning(this, tuning);
    this.limits = device.limits;
    this.features = {
      shaderF16: device.features.has('shader-f16'),
      subgroups: device.features.has('subgroups'),
      timestampQuery: device.features.has('timestamp-query'),
    };
    this.lost = device.lost.then((info) => {
      this.lostError = new DeviceLostError(info.reason ?? 'unknown', info.message || 'no message');
      return this.lostError;
    });
  }

  /** Opens the default adapter, or wraps a device the caller already has. */
  static async create(options: { device?: GPUDevice; tuning?: TuningOptions } = {}): Promise<Gpu> {
    if (options.device) {
      const info = options.device.adapterInfo;
      const summary: AdapterSummary = {
        vendor: info?.vendor ?? '',
        architecture: info?.architecture ?? '',
        device: info?.device ?? '',
        description: info?.description ?? '',
        isSoftware: /swiftshader|llvmpipe|lavapipe|software/i.test(
          `${info?.architecture} ${info?.description} ${info?.vendor}`,
        ),
      };
      return new Gpu(options.device, summary, options.tuning);
    }
    const { adapter, device } = await requestDevice();
    return new Gpu(device, summarizeAdapter(adapter), options.tuning);
  }

  private checkLost(): void {
    if (this.lostError) throw this.lostError;
  }

  /** Runs `fn` inside validation and out-of-memory error scopes and turns their errors into typed ones. */
  async scoped<T>(what: string, fn: () => T): Promise<T> {
    this.checkLost();
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let result: T | undefined;
    let thrown: unknown;
    try {
      result = fn();
    } catch (e) {
      thrown = e;
    }
    // Both pops are issued before any await: scopes are a per-device stack shared by concurrent calls.
    const popped = [this.device.popErrorScope(), this.device.popErrorScope()];
    const [validation, oom] = await Promise.all(popped);
    if (thrown !== undefined) throw thrown;
    if (oom) throw new GpuOutOfMemoryError(`${what}: out of GPU memory (${oom.message})`);
    if (validation) throw new GpuOperationError(`${what}: ${validation.message}`);
    return result as T;
  }

  /** A new buffer; STORAGE buffers also get COPY_SRC/COPY_DST so they can be read back and written. */
  createBuffer(label: string, size: number, usage: number = GPUBufferUsage.STORAGE): Promise<GPUBuffer> {
    if (usage & GPUBufferUsage.STORAGE) usage |= GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const bytes = Math.max(16, Math.ceil(size / 16) * 16);
    if (bytes > this.limits.maxBufferSize) {
      return Promise.reject(
        new GpuOutOfMemoryError(
          `${label}: ${bytes} bytes exceed the device's maxBufferSize of ${this.limits.maxBufferSize}`,
        ),
      );
    }
    return this.scoped(`creating buffer '${label}'`, () => {
      const buffer = this.device.createBuffer({ label, size: bytes, usage });
      const live = this.live;
      live.add(buffer);
      const destroy = buffer.destroy.bind(buffer);
      buffer.destroy = () => {
        live.delete(buffer);
        destroy();
      };
      return buffer;
    });
  }

  /** How many buffers created through this Gpu are alive, and their bytes. */
  liveBuffers(): { count: number; bytes: number } {
    let bytes = 0;
    for (const b of this.live) bytes += b.size;
    return { count: this.live.size, bytes };
  }

  /** A new storage buffer holding `data`. */
  async upload(
    label: string,
    data: ArrayBufferView,
    usage: number = GPUBufferUsage.STORAGE,
  ): Promise<GPUBuffer> {
    const buffer = await this.createBuffer(label, data.byteLength, usage | GPUBufferUsage.COPY_DST);
    this.write(buffer, data);
    return buffer;
  }

  /** Writes `data` at `offset` bytes, padding the write to a multiple of 4 bytes. */
  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    this.checkLost();
    let bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4) {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      bytes = padded;
    }
    this.device.queue.writeBuffer(buffer, offset, bytes);
  }

  /** Copies a buffer range to a staging buffer and returns its bytes. */
  async read(ref: BufferRef, size?: number): Promise<ArrayBuffer> {
    this.checkLost();
    const src = sliceOf(ref);
    const bytes = size ?? src.size;
    const staging = this.device.createBuffer({
      label: 'readback',
      size: Math.ceil(bytes / 4) * 4,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(src.buffer, src.offset, staging, 0, staging.size);
      this.device.queue.submit([encoder.finish()]);
      await Promise.race([staging.mapAsync(GPUMapMode.READ), this.lost.then((e) => Promise.reject(e))]);
      return staging.getMappedRange(0, bytes).slice(0);
    } finally {
      staging.destroy();
    }
  }

  async readF32(ref: BufferRef, count?: number): Promise<Float32Array> {
    return new Float32Array(await this.read(ref, count === undefined ? undefined : count * 4));
  }

  /**
   * The compute pipeline of `kernel` for one variant (preprocessor defines) and one set of
   * override constants, built once and cached. WGSL errors become a ShaderCompileError.
   */
  pipeline(kernel: string, defines: Defines = {}, constants: Record<string, number> = {}): Promise<Pipeline> {
    const variant = JSON.stringify({ ...defines, ...constants });
    const key = `${kernel}|${variant}`;
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.buildPipeline(kernel, variant, defines, constants);
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
    }
    return p;
  }

  /** Compiles WGSL given as text (used by tests and for one-off kernels) under a kernel name. */
  compile(
    kernel: string,
    code: string,
    variant = '{}',
    constants: Record<string, number> = {},
  ): Promise<Pipeline> {
    return this.buildFromCode(kernel, variant, code, constants);
  }

  private async buildPipeline(
    kernel: string,
    variant: string,
    defines: Defines,
    constants: Record<string, number>,
  ): Promise<Pipeline> {
    const source = shaderSources[kernel];
    if (source === undefined) throw new ShaderCompileError(kernel, variant, 0, 'no such kernel in shaders/');
    let code: string;
    try {
      code = preprocess(kernel, source, defines);
    } catch (e) {
      throw new ShaderCompileError(kernel, variant, 0, (e as Error).message);
    }
    return this.buildFromCode(kernel, variant, code, constants);
  }

  private async buildFromCode(
    kernel: string,
    variant: string,
    code: string,
    constants: Record<string, number>,
  ): Promise<Pipeline> {
    this.checkLost();
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ label: `${kernel} ${variant}`, code });
    const popped = this.device.popErrorScope();
    const info = await module.getCompilationInfo();
    const scopeError = await popped;
    const firstError = info.messages.find((m) => m.type === 'error');
    if (firstError) throw new ShaderCompileError(kernel, variant, firstError.lineNum, firstError.message);
    if (scopeError) throw new ShaderCompileError(kernel, variant, 0, scopeError.message);
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await this.device.createComputePipelineAsync({
        label: `${kernel} ${variant}`,
        layout: 'auto',
        compute: { module, entryPoint: 'main', constants },
      });
    } catch (e) {
      throw new ShaderCompileError(kernel, variant, 0, (e as Error).message);
    }
    return { kernel, variant, pipeline, params: paramsLayout(kernel, code) };
  }

  /** Encodes `fn` into one compute pass and submits it. */
  submit(label: string, fn: (pass: GPUComputePassEncoder) => void): void {
    this.checkLost();
    const encoder = this.device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label });
    fn(pass);
    pass.end();
    this.device.queue.submit([encoder.finish()]);
  }

  /** Resolves when all submitted work has finished (rejects if the device is lost meanwhile). */
  async finish(): Promise<void> {
    this.checkLost();
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.lost.then((e) => Promise.reject(e))]);
  }

  destroy(): void {
    this.pipelines.clear();
    this.live.clear();
    this.device.destroy();
  }
}

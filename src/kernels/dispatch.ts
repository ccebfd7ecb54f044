/**
 * A prepared dispatch: one pipeline, its bind group and its own Params uniform, created once and
 * encoded as often as needed. Kernel wrappers in this folder return these.
 */
import type { BufferRef, Gpu, Pipeline } from '../gpu/gpu';
import { sliceOf } from '../gpu/gpu';

export type Params = Record<string, number>;

/** Bindings by @binding index; binding 0 is the Params uniform and is filled in here. */
export type Bindings = Record<number, BufferRef | undefined>;

/**
 * `D` is the kernel's runtime dimensions (rows, positions...). `update(dims)` rewrites the Params
 * uniform and the grid for new dimensions without rebuilding anything (prefill lengths vary).
 */
export class Dispatch<D = unknown> {
  private configure: (d: Dispatch<D>, dims: D) => void = () => {};
  private readonly uniform: GPUBuffer | undefined;
  private readonly staging: ArrayBuffer;
  /** Views of the staging bytes and of the bytes last written (created once: set() runs per token). */
  private readonly view: DataView;
  private readonly bytes: Uint8Array;
  private readonly written: Uint8Array;
  private everWritten = false;
  /** How many times the uniform was written (tests and benchmarks count them). */
  uniformWrites = 0;
  private constructor(
    readonly gpu: Gpu,
    readonly p: Pipeline,
    readonly bindGroup: GPUBindGroup,
    uniform: GPUBuffer | undefined,
    public workgroups: [number, number, number],
  ) {
    this.uniform = uniform;
    this.staging = new ArrayBuffer(Math.max(16, p.params.length * 4));
    this.view = new DataView(this.staging);
    this.bytes = new Uint8Array(this.staging, 0, p.params.length * 4);
    this.written = new Uint8Array(p.params.length * 4);
  }

  static async create<D>(
    gpu: Gpu,
    p: Pipeline,
    bindings: Bindings,
    configure: (d: Dispatch<D>, dims: D) => void,
    dims: D,
  ): Promise<Dispatch<D>> {
    const what = `kernel '${p.kernel}' (${p.variant})`;
    let uniform: GPUBuffer | undefined;
    if (p.params.length) {
      uniform = await gpu.createBuffer(
        `${p.kernel} params`,
        Math.ceil((p.params.length * 4) / 16) * 16,
        GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      );
    }
    const entries: GPUBindGroupEntry[] = [];
    if (uniform) entries.push({ binding: 0, resource: { buffer: uniform } });
    for (const [index, ref] of Object.entries(bindings)) {
      if (!ref) continue;
      const s = sliceOf(ref);
      entries.push({
        binding: Number(index),
        resource: { buffer: s.buffer, offset: s.offset, size: s.size },
      });
    }
    const layout = p.pipeline.getBindGroupLayout(0);
    const bindGroup = await gpu.scoped(`binding ${what}`, () =>
      gpu.device.createBindGroup({ label: p.kernel, layout, entries }),
    );
    const d = new Dispatch<D>(gpu, p, bindGroup, uniform, [1, 1, 1]);
    d.configure = configure;
    d.update(dims);
    return d;
  }

  /** Re-targets the dispatch to new runtime dimensions (writes the uniform, sets the grid). */
  update(dims: D): this {
    this.configure(this, dims);
    return this;
  }

  /** Writes the Params uniform; every field of the shader's Params struct must be given. */
  set(params: Params): this {
    if (!this.uniform) return this;
    const view = this.view;
    for (const [i, f] of this.p.params.entries()) {
      const v = params[f.name];
      if (v === undefined || !Number.isFinite(v)) {
        throw new Error(`kernel '${this.p.kernel}': param '${f.name}' is ${v}`);
      }
      if (f.type === 'f32') view.setFloat32(i * 4, v, true);
      else if (f.type === 'u32') view.setUint32(i * 4, v, true);
      else view.setInt32(i * 4, v, true);
    }
    for (const name of Object.keys(params)) {
      if (!this.p.params.some((f) => f.name === name)) {
        throw new Error(`kernel '${this.p.kernel}': unknown param '${name}'`);
      }
    }
    // A uniform that did not change is not written again (a decode step changes only positions).
    const { bytes, written } = this;
    if (this.everWritten && written.every((b, i) => b === bytes[i])) return this;
    written.set(bytes);
    this.everWritten = true;
    this.gpu.device.queue.writeBuffer(this.uniform, 0, this.staging, 0, bytes.length);
    this.uniformWrites++;
    return this;
  }

  /** Sets the grid, checking it against the device's per-dimension limit. */
  grid(x: number, y = 1, z = 1): this {
    const max = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    for (const n of [x, y, z]) {
      if (n > max) throw new Error(`kernel '${this.p.kernel}': ${n} workgroups exceed the limit of ${max}`);
    }
    this.workgroups = [x, y, z];
    return this;
  }

  encode(pass: GPUComputePassEncoder): void {
    const [x, y, z] = this.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    pass.setPipeline(this.p.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(x, y, z);
  }

  /** Frees the uniform buffer (the pipeline stays cached in the Gpu). */
  destroy(): void {
    this.uniform?.destroy();
  }

  /** Encodes, submits and waits: for tests and one-off calls, not for the hot path. */
  async run(): Promise<void> {
    this.gpu.submit(this.p.kernel, (pass) => this.encode(pass));
    await this.gpu.finish();
  }
}

export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/**
 * The workgroup size of a kernel that reduces a row in workgroup memory with a tree: a power of
 * two within the device's limits (an Error naming the kernel otherwise).
 */
export function reductionWorkgroup(gpu: Gpu, kernel: string, WG: number): number {
  const max = Math.min(gpu.limits.maxComputeInvocationsPerWorkgroup, gpu.limits.maxComputeWorkgroupSizeX);
  if (!(Number.isInteger(WG) && WG >= 1 && WG <= max && (WG & (WG - 1)) === 0)) {
    throw new Error(`${kernel}: workgroup size must be a power of two in 1..${max}, got ${WG}`);
  }
  return WG;
}

/**
 * A grid of `groups` workgroups, folded into two dimensions when it exceeds the per-dimension
 * limit. Shaders recover the flat index as `wid.x + wid.y * nwg.x`.
 */
// biome-ignore lint/suspicious/noExplicitAny: any dimension type
export function grid1d(d: Dispatch<any>, groups: number): void {
  const max = d.gpu.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) d.grid(groups);
  else d.grid(max, Math.ceil(groups / max));
}

/**
 * Several dispatches that implement one op and always run together, in order, in one compute pass
 * (a split-K matmul and its reduction, flash-decoding attention and its merge). Dispatches of one
 * pass see each other's writes. `update(dims)` retargets every part.
 */
export class DispatchChain<D = unknown> {
  constructor(
    readonly parts: Dispatch<D>[],
    /** Scratch buffers the chain created (split-K partial sums...), freed by destroy(). */
    private readonly owned: GPUBuffer[] = [],
  ) {}

  update(dims: D): this {
    for (const p of this.parts) p.update(dims);
    return this;
  }

  encode(pass: GPUComputePassEncoder): void {
    for (const p of this.parts) p.encode(pass);
  }

  destroy(): void {
    for (const p of this.parts) p.destroy();
    for (const b of this.owned) b.destroy();
  }

  async run(): Promise<void> {
    const gpu = this.parts[0].gpu;
    gpu.submit(this.parts[0].p.kernel, (pass) => this.encode(pass));
    await gpu.finish();
  }
}

/** The dispatches an op encodes (one, or a chain), for counting and per-dispatch timing. */
export function partsOf(d: AnyDispatch): Dispatch<unknown>[] {
  return d instanceof DispatchChain ? d.parts : [d];
}

// biome-ignore lint/suspicious/noExplicitAny: a dispatch whatever its dimension type
export type AnyDispatch = Dispatch<any> | DispatchChain<any>;

/**
 * Finding a WebGPU implementation and a device, in a browser (navigator.gpu) and in Node (Dawn,
 * the `webgpu` package). On a Linux machine with no Vulkan driver installed, Node falls back to
 * the SwiftShader driver that Debian's chromium package ships.
 */
import { GpuLimitError, GpuUnavailableError } from '../errors';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let nodeGpu: Promise<GPU> | undefined;

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
}

/**
 * Dawn in Node. Points Vulkan at SwiftShader only when the machine has no GPU device node (no
 * /dev/dri/renderD*, no /dev/nvidia*): installed Mesa drivers alone do not make a GPU.
 */
async function createNodeGpu(): Promise<GPU> {
  const fs = await import(/* @vite-ignore */ 'node:fs');
  const env = process.env;
  if (process.platform === 'linux' && !env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES) {
    const list = (dir: string): string[] => {
      try {
        return fs.readdirSync(dir);
      } catch {
        return [];
      }
    };
    const hardware =
      list('/dev/dri').some((f: string) => f.startsWith('renderD')) ||
      list('/dev').some((f: string) => /^nvidia\d+$/.test(f));
    if (!hardware && fs.existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const moduleName = 'webgpu';
  let dawn: { create(flags: string[]): GPU; globals: Record<string, unknown> };
  try {
    dawn = await import(/* @vite-ignore */ moduleName);
  } catch (cause) {
    throw new GpuUnavailableError("WebGPU for Node needs the 'webgpu' package (npm install webgpu)", {
      cause,
    });
  }
  Object.assign(globalThis, dawn.globals);
  return dawn.create([]);
}

/** Why Dawn in Node found no adapter, naming the missing piece and the fix. */
async function nodeAdapterProblem(): Promise<string> {
  const fs = await import(/* @vite-ignore */ 'node:fs');
  const base = 'no WebGPU adapter was found by Dawn (the webgpu package)';
  if (process.platform !== 'linux')
    return `${base}: install or update the GPU driver (Vulkan, Metal or D3D12)`;
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];
  const vulkan = dirs.some((d) => fs.existsSync(`${d}/libvulkan.so.1`));
  const swiftshader = fs.existsSync(SWIFTSHADER_ICD);
  const missing = [
    !vulkan && 'the Vulkan loader (libvulkan.so.1)',
    !swiftshader && `SwiftShader (${SWIFTSHADER_ICD})`,
  ]
    .filter(Boolean)
    .join(' and ');
  if (missing) {
    return `${base}: this machine lacks ${missing}; install a GPU's Vulkan driver, or for the CPU fallback run: sudo apt-get install -y libvulkan1 chromium`;
  }
  return `${base}: Vulkan and SwiftShader are installed but no adapter answered; check VK_ICD_FILENAMES (${process.env.VK_ICD_FILENAMES ?? 'unset'})`;
}

/** The WebGPU entry point of this environment. */
export async function getGpu(): Promise<GPU> {
  if (typeof navigator !== 'undefined' && navigator.gpu) return navigator.gpu;
  if (isNode()) {
    nodeGpu ??= createNodeGpu();
    return nodeGpu;
  }
  throw new GpuUnavailableError(
    'this browser has no WebGPU (navigator.gpu is missing): use a recent Chrome or Edge, or enable WebGPU in the browser settings; WebGPU also needs a secure context (https or localhost)',
  );
}

/** Limits the engine asks for: as much as the adapter offers of each. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

/** The least the engine can run with. */
const REQUIRED_LIMITS: Partial<Record<(typeof WANTED_LIMITS)[number], number>> = {
  maxStorageBuffersPerShaderStage: 8,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeInvocationsPerWorkgroup: 256,
};

const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU implementations such as SwiftShader: correct, but far slower than a GPU. */
  isSoftware: boolean;
}

export function summarizeAdapter(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isSoftware: fallback || /swiftshader|llvmpipe|lavapipe|software|warp/.test(text),
  };
}

/** Requests an adapter and a device with the limits and features the engine uses. */
export async function requestDevice(
  powerPreference: GPUPowerPreference = 'high-performance',
): Promise<{ adapter: GPUAdapter; device: GPUDevice }> {
  const gpu = await getGpu();
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) {
    if (isNode()) throw new GpuUnavailableError(await nodeAdapterProblem());
    throw new GpuUnavailableError(
      'no WebGPU adapter was found: the GPU may be blocklisted or WebGPU disabled (in Chromium, try --enable-unsafe-webgpu)',
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const offered = adapter.limits[name];
    const need = REQUIRED_LIMITS[name];
    if (need !== undefined && offered < need) {
      throw new GpuLimitError(name, `the adapter offers ${name} = ${offered}; wgpt needs at least ${need}`);
    }
    requiredLimits[name] = offered;
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  return { adapter, device };
}

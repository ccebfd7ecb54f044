/** The GPU runtime: typed compile errors, shader variants, uniform layouts, and the kernel file layout. */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceLostError, ShaderCompileError } from '../src/errors';
import { Gpu } from '../src/gpu/gpu';
import { markersOf, paramsLayout, preprocess, shaderSources } from '../src/gpu/shader';
import { residual } from '../src/kernels/residual';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await Gpu.create();
});
afterAll(() => gpu?.destroy());

describe('GPU runtime', () => {
  it('reports the adapter, its features and the limits it asked for', () => {
    expect(gpu.adapter.architecture.length + gpu.adapter.vendor.length).toBeGreaterThan(0);
    expect(typeof gpu.adapter.isSoftware).toBe('boolean');
    expect(typeof gpu.features.shaderF16).toBe('boolean');
    // The engine asks for the adapter's largest binding, not the 128 MiB default.
    expect(gpu.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
  });

  it('a uniform is written only when its values change', async () => {
    const a = await gpu.createBuffer('a', 64);
    const b = await gpu.createBuffer('b', 64);
    try {
      const d = await residual(gpu, a, a, b, 16);
      expect(d.uniformWrites).toBe(1);
      d.update({ N: 16 });
      d.update({ N: 16 });
      expect(d.uniformWrites).toBe(1);
      d.update({ N: 8 });
      expect(d.uniformWrites).toBe(2);
      await d.run();
      expect([...(await gpu.readF32(a, 16))].every((x) => x === 0)).toBe(true);
      d.destroy();
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  it('a WGSL error is a ShaderCompileError naming the kernel, variant, line and message', async () => {
    const code =
      'struct Params { N: u32 }\n@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = undefined_thing;\n}\n';
    const err = await gpu.compile('broken', code, '{"BIAS":true}').catch((e) => e);
    expect(err).toBeInstanceOf(ShaderCompileError);
    expect(err.kernel).toBe('broken');
    expect(err.line).toBe(4);
    expect(err.message).toContain("kernel 'broken'");
    expect(err.message).toContain('BIAS');
    expect(err.message).toMatch(/undefined_thing/);
  });

  it('a missing or unused define is a ShaderCompileError, and the engine keeps working', async () => {
    await expect(gpu.pipeline('residual', {})).rejects.toThrow(/define 'IN_PLACE' is not set/);
    await expect(gpu.pipeline('residual', { IN_PLACE: true, EXTRA: true })).rejects.toThrow(
      /'EXTRA' is not used/,
    );
    await expect(gpu.pipeline('no_such_kernel')).rejects.toBeInstanceOf(ShaderCompileError);
    await expect(gpu.pipeline('residual', { IN_PLACE: false })).resolves.toBeTruthy();
  });

  it('preprocess keeps only the chosen branch; Params layout is read from the struct', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a preprocessor marker, not a template
    const src = 'struct Params { N: u32, eps: f32 }\n#if ${A}\nlet a = 1;\n#else\nlet b = 2;\n#endif\n';
    expect(markersOf(src)).toEqual(['A']);
    expect(preprocess('t', src, { A: true })).toContain('let a = 1;');
    expect(preprocess('t', src, { A: false })).not.toContain('let a = 1;');
    expect(paramsLayout('t', src)).toEqual([
      { name: 'N', type: 'u32' },
      { name: 'eps', type: 'f32' },
    ]);
    expect(() => paramsLayout('t', 'struct Params { v: vec4f }')).toThrow(/scalar/);
  });

  it('a lost device surfaces as a DeviceLostError on every later call', async () => {
    const other = await Gpu.create();
    other.device.destroy();
    const err = await other.lost;
    expect(err).toBeInstanceOf(DeviceLostError);
    expect(err.reason).toBe('destroyed');
    await expect(other.createBuffer('after loss', 16)).rejects.toBeInstanceOf(DeviceLostError);
    await expect(other.pipeline('residual', { IN_PLACE: false })).rejects.toBeInstanceOf(DeviceLostError);
  });

  it('every kernel has its four files with one name: shader, wrapper, CPU twin, case table', () => {
    const names = (dir: string, ext: string) =>
      readdirSync(new URL(`../${dir}`, import.meta.url))
        .filter((f) => f.endsWith(ext))
        .map((f) => f.slice(0, -ext.length))
        .sort();
    const shaders = names('shaders', '.wgsl');
    expect(Object.keys(shaderSources).sort()).toEqual(shaders);
    expect(names('test/kernels', '.cases.ts')).toEqual(shaders);
    const wrappers = names('src/kernels', '.ts');
    const twins = names('src/cpu', '.ts');
    for (const s of shaders) {
      expect(wrappers).toContain(s);
      expect(twins).toContain(s);
    }
  });
});

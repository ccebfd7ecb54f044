/**
 * WGSL sources and their variants. Every kernel lives in shaders/<name>.wgsl. Structural variants
 * use wgsl-preprocessor's `#if ${NAME}` markers; this adapter turns the markers of a file into the
 * tagged-template arguments, so only booleans and numbers ever cross into a shader. A marker with
 * no define, or a define with no marker, is an error.
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';

const files = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true });

/** Kernel name (file basename) to WGSL source. */
export const shaderSources: Record<string, string> = Object.fromEntries(
  Object.entries(files).map(([path, src]) => [path.replace(/^.*\/(.*)\.wgsl$/, '$1'), src as string]),
);

export type Defines = Record<string, boolean | number>;

const MARKER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The names of the `${NAME}` markers in a source, in order of first use. */
export function markersOf(source: string): string[] {
  return [...new Set([...source.matchAll(MARKER)].map((m) => m[1]))];
}

/** Resolves the preprocessor markers of one kernel for one variant. */
export function preprocess(kernel: string, source: string, defines: Defines): string {
  const names = markersOf(source);
  for (const name of names) {
    if (!(name in defines)) throw new Error(`kernel '${kernel}': define '${name}' is not set`);
  }
  for (const name of Object.keys(defines)) {
    if (!names.includes(name))
      throw new Error(`kernel '${kernel}': define '${name}' is not used by the shader`);
    const v = defines[name];
    if (typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) {
      throw new Error(`kernel '${kernel}': define '${name}' must be a boolean or a finite number`);
    }
  }
  const strings: string[] = [];
  const values: (boolean | number)[] = [];
  let last = 0;
  for (const m of source.matchAll(MARKER)) {
    strings.push(source.slice(last, m.index));
    values.push(defines[m[1]]);
    last = m.index! + m[0].length;
  }
  strings.push(source.slice(last));
  const raw = Object.assign([...strings], { raw: strings }) as unknown as TemplateStringsArray;
  return wgsl(raw, ...values);
}

export interface ParamField {
  name: string;
  type: 'u32' | 'i32' | 'f32';
}

/**
 * The fields of `struct Params { ... }` in a shader: the uniform layout is read from the WGSL
 * rather than packed by hand. Only 4-byte scalars are allowed, so field i sits at byte 4*i.
 */
export function paramsLayout(kernel: string, source: string): ParamField[] {
  const m = /struct\s+Params\s*\{([^}]*)\}/.exec(source);
  if (!m) return [];
  const fields: ParamField[] = [];
  for (const decl of m[1].replace(/\/\/.*$/gm, '').split(',')) {
    const d = decl.trim();
    if (!d) continue;
    const f = /^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(u32|i32|f32)$/.exec(d);
    if (!f) throw new Error(`kernel '${kernel}': Params field '${d}' must be a u32, i32 or f32 scalar`);
    fields.push({ name: f[1], type: f[2] as ParamField['type'] });
  }
  return fields;
}

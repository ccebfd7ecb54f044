/**
 * Seeded fuzzing of the loading paths (test/fuzz.test.ts runs a few hundred cases, `npm run fuzz`
 * thousands): a valid random model (safetensors: gpt2 and llama; GGUF: llama with quantized
 * weights and gpt2) is mutated (bit flips, bytes set to edge values, truncation, inserted and
 * deleted bytes, length and count fields set to edge values, structural edits of the safetensors
 * JSON header, edits of config.json and tokenizer.json) and opened with `openCheckpoint`. Every
 * outcome must be a successful open or a typed wgpt error; anything else (a TypeError, a
 * RangeError, a hang) is a bug in the readers.
 */
import { type Checkpoint, openCheckpoint } from '../src/checkpoint/checkpoint';
import { parseSafetensorsHeader } from '../src/checkpoint/safetensors';
import { ModelFormatError, ModelLoadError, NumericalError, UnsupportedModelError } from '../src/errors';
import { Rng } from '../src/model/sampler';
import { randomModel } from '../src/model/testing';
import { ggufFromHf } from './gguf-model';

type Files = Record<string, Uint8Array | string>;

/** The errors a bad file may raise. */
export const TYPED_ERRORS = [ModelFormatError, UnsupportedModelError, ModelLoadError, NumericalError];

export interface Seed {
  name: string;
  files: Files;
  /** The file the byte mutations hit. */
  target: string;
  format: 'safetensors' | 'gguf';
}

/** The valid models mutations start from (small, so that each open takes milliseconds). */
export function fuzzSeeds(): Seed[] {
  const gpt2 = randomModel('gpt2', { C: 16, NH: 2, L: 1, V: 40, F: 32, ctx: 16 }, 1);
  const llama = randomModel('llama', { C: 32, NH: 4, NKV: 2, L: 1, V: 48, F: 64, ctx: 16, dtype: 'F16' }, 2);
  const llamaQ = ggufFromHf(llama, (name) =>
    /attn_q|ffn_gate/.test(name) ? 'q8_0' : name.includes('ffn') ? 'q4_0' : 'f16',
  );
  const gpt2G = ggufFromHf(gpt2);
  return [
    { name: 'gpt2.safetensors', files: gpt2, target: 'model.safetensors', format: 'safetensors' },
    { name: 'llama-f16.safetensors', files: llama, target: 'model.safetensors', format: 'safetensors' },
    { name: 'llama-q.gguf', files: { 'model.gguf': llamaQ }, target: 'model.gguf', format: 'gguf' },
    { name: 'gpt2.gguf', files: { 'model.gguf': gpt2G }, target: 'model.gguf', format: 'gguf' },
  ];
}

export interface Mutation {
  seed: string;
  /** What was done, enough to redo it by hand. */
  describe: string;
  files: Files;
}

export type Outcome =
  | { kind: 'ok' }
  | { kind: 'typed'; error: string; message: string }
  | { kind: 'untyped'; error: string; message: string; stack?: string }
  | { kind: 'hang' };

/** Values that stress length, count and type fields. */
const EDGE_U64 = [
  0n,
  1n,
  2n,
  7n,
  255n,
  256n,
  0x7fffffffn,
  0xffffffffn,
  0x100000000n,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
];
const EDGE_U32 = [0, 1, 2, 3, 4, 5, 8, 9, 12, 13, 30, 39, 255, 0x7fffffff, 0xffffffff];
const EDGE_BYTES = [0x00, 0x01, 0x20, 0x22, 0x2c, 0x5b, 0x7b, 0x7d, 0x7f, 0x80, 0xc0, 0xff];

const int = (rng: Rng, n: number) => Math.floor(rng.next() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)];

/** Bytes of a file's header: where most mutations land (they would only change weights elsewhere). */
function headerEnd(seed: Seed, bytes: Uint8Array): number {
  if (seed.format === 'safetensors') {
    return Math.min(
      bytes.length,
      8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)),
    );
  }
  return Math.min(bytes.length, ggufFields(bytes).at(-1)?.end ?? bytes.length);
}

interface Field {
  at: number;
  size: 4 | 8;
  end: number;
  what: string;
}

/** The length, count, type and offset fields of a valid GGUF header, with their byte offsets. */
export function ggufFields(bytes: Uint8Array): Field[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Field[] = [];
  let pos = 0;
  const f = (size: 4 | 8, what: string) => {
    const at = pos;
    pos += size;
    fields.push({ at, size, end: pos, what });
    return size === 4 ? dv.getUint32(at, true) : Number(dv.getBigUint64(at, true));
  };
  const str = (what: string) => {
    const n = f(8, `${what} length`);
    pos += n;
  };
  const value = (type: number, what: string): void => {
    if (type === 8) str(what);
    else if (type === 9) {
      const et = f(4, `${what} element type`);
      const n = f(8, `${what} count`);
      for (let i = 0; i < n; i++) value(et, `${what}[${i}]`);
    } else pos += [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8][type];
  };
  pos = 4;
  f(4, 'version');
  const tensors = f(8, 'tensor_count');
  const kvs = f(8, 'kv_count');
  for (let i = 0; i < kvs; i++) {
    str(`key ${i}`);
    value(f(4, `value type ${i}`), `value ${i}`);
  }
  for (let i = 0; i < tensors; i++) {
    str(`tensor ${i} name`);
    const nd = f(4, `tensor ${i} n_dims`);
    for (let d = 0; d < nd; d++) f(8, `tensor ${i} dims[${d}]`);
    f(4, `tensor ${i} type`);
    f(8, `tensor ${i} offset`);
  }
  return fields;
}

/** One seeded mutation of one seed. */
export function mutate(seed: Seed, rng: Rng): Mutation {
  const files: Files = { ...seed.files };
  const original = files[seed.target] as Uint8Array;
  const hEnd = headerEnd(seed, original);
  const kinds =
    seed.format === 'safetensors'
      ? ['flip', 'edge-byte', 'truncate', 'splice', 'length', 'json', 'json', 'json', 'config', 'tokenizer']
      : ['flip', 'edge-byte', 'truncate', 'splice', 'field', 'field', 'field', 'field'];
  const kind = pick(rng, kinds);
  // Mostly the header; now and then anywhere (tensor data: weights, NaNs).
  const where = (n: number) => (rng.next() < 0.9 ? int(rng, Math.max(1, hEnd)) : int(rng, n));
  let bytes: Uint8Array = original.slice();
  let describe: string;
  if (kind === 'flip') {
    const flips = 1 + int(rng, 4);
    const at: number[] = [];
    for (let i = 0; i < flips; i++) {
      const p = where(bytes.length);
      const bit = int(rng, 8);
      bytes[p] ^= 1 << bit;
      at.push(p * 8 + bit);
    }
    describe = `flip bits ${at.join(', ')}`;
  } else if (kind === 'edge-byte') {
    const p = where(bytes.length);
    const v = pick(rng, EDGE_BYTES);
    bytes[p] = v;
    describe = `byte ${p} = 0x${v.toString(16)}`;
  } else if (kind === 'truncate') {
    const n = where(bytes.length + 1);
    bytes = bytes.slice(0, n);
    describe = `truncate to ${n} bytes`;
  } else if (kind === 'splice') {
    const p = where(bytes.length);
    const del = int(rng, 9);
    const ins = Uint8Array.from({ length: int(rng, 9) }, () => int(rng, 256));
    const out = new Uint8Array(bytes.length - Math.min(del, bytes.length - p) + ins.length);
    out.set(bytes.subarray(0, p));
    out.set(ins, p);
    out.set(bytes.subarray(p + del), p + ins.length);
    bytes = out;
    describe = `at byte ${p} delete ${del}, insert [${ins.join(', ')}]`;
  } else if (kind === 'length') {
    const v = rng.next() < 0.5 ? pick(rng, EDGE_U64) : BigInt(Math.max(0, hEnd - 8 + int(rng, 33) - 16));
    new DataView(bytes.buffer).setBigUint64(0, v, true);
    describe = `header length = ${v}`;
  } else if (kind === 'field') {
    const fields = ggufFields(original);
    const field = pick(rng, fields);
    const dv = new DataView(bytes.buffer);
    let v: bigint;
    if (field.size === 4) {
      v = BigInt(rng.next() < 0.7 ? pick(rng, EDGE_U32) : int(rng, 64));
      dv.setUint32(field.at, Number(v), true);
    } else {
      const old = dv.getBigUint64(field.at, true);
      v = rng.next() < 0.6 ? pick(rng, EDGE_U64) : old + BigInt(int(rng, 17) - 8);
      v = BigInt.asUintN(64, v);
      dv.setBigUint64(field.at, v, true);
    }
    describe = `${field.what} (byte ${field.at}) = ${v}`;
  } else if (kind === 'json') {
    const r = jsonEdit(original, rng);
    bytes = r.bytes;
    describe = r.describe;
  } else {
    const file = kind === 'config' ? 'config.json' : 'tokenizer.json';
    const r = mutateJSON(JSON.parse(files[file] as string), rng);
    files[file] = JSON.stringify(r.value);
    return { seed: seed.name, describe: `${file}: ${r.describe}`, files };
  }
  files[seed.target] = bytes;
  return { seed: seed.name, describe: `${seed.target}: ${describe}`, files };
}

/** A structural edit of a safetensors header's JSON, written back with its length updated. */
function jsonEdit(file: Uint8Array, rng: Rng): { bytes: Uint8Array; describe: string } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
  const data = file.subarray(8 + n);
  const { value, describe } = editSafetensorsHeader(header, rng, file);
  const json = new TextEncoder().encode(
    typeof value === 'string' && rng.next() < 0.5 ? value : JSON.stringify(value),
  );
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return { bytes: out, describe: `header JSON: ${describe}` };
}

const WRONG_VALUES: unknown[] = [null, true, 0, -1, 1.5, 2 ** 53, 1e300, '', 'x', '3', [], [1], {}, { a: 1 }];

function editSafetensorsHeader(
  header: Record<string, unknown>,
  rng: Rng,
  file: Uint8Array,
): { value: unknown; describe: string } {
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const name = pick(rng, names);
  const entry = header[name] as { dtype: unknown; shape: unknown; data_offsets: unknown };
  const op = int(rng, 12);
  const wrong = () => pick(rng, WRONG_VALUES);
  switch (op) {
    case 0: {
      const dtype = pick(rng, ['F64', 'I8', 'U8', 'BOOL', 'F8_E4M3', 'f32', 'F16', 'BF16', 'F32', 7, null]);
      entry.dtype = dtype;
      return { value: header, describe: `${name}.dtype = ${JSON.stringify(dtype)}` };
    }
    case 1: {
      const shape = entry.shape as number[];
      const i = int(rng, shape.length + 1);
      const v = pick(rng, [0, 1, 2, -1, 1.5, 2 ** 31, 2 ** 53, 2 ** 60, '4', null]);
      if (i === shape.length) shape.push(v as number);
      else shape[i] = v as number;
      return { value: header, describe: `${name}.shape[${i}] = ${JSON.stringify(v)}` };
    }
    case 2: {
      const o = entry.data_offsets as number[];
      const i = int(rng, 2);
      const v =
        rng.next() < 0.5
          ? o[i] + int(rng, 9) - 4
          : (pick(rng, [-8, 0, file.length, 2 ** 53, 1.5, '0', null]) as number);
      o[i] = v;
      return { value: header, describe: `${name}.data_offsets[${i}] = ${JSON.stringify(v)}` };
    }
    case 3: {
      const key = pick(rng, ['dtype', 'shape', 'data_offsets']);
      const v = wrong();
      (entry as Record<string, unknown>)[key] = v;
      return { value: header, describe: `${name}.${key} = ${JSON.stringify(v)}` };
    }
    case 4: {
      const key = pick(rng, ['dtype', 'shape', 'data_offsets']);
      delete (entry as Record<string, unknown>)[key];
      return { value: header, describe: `delete ${name}.${key}` };
    }
    case 5:
      delete header[name];
      return { value: header, describe: `delete tensor ${name}` };
    case 6: {
      const copy = `${name}.copy`;
      header[copy] = JSON.parse(JSON.stringify(entry));
      return { value: header, describe: `duplicate ${name} as ${copy}` };
    }
    case 7: {
      const other = pick(rng, names);
      header[name] = JSON.parse(JSON.stringify(header[other]));
      return { value: header, describe: `${name} takes ${other}'s entry` };
    }
    case 8: {
      const v = pick(rng, [[], 'x', 3, null, { alias: name }, { a: 1 }, { [name]: 'nothing' }]);
      header.__metadata__ = v;
      return { value: header, describe: `__metadata__ = ${JSON.stringify(v)}` };
    }
    case 9: {
      const v = wrong();
      header[name] = v;
      return { value: header, describe: `${name} = ${JSON.stringify(v)}` };
    }
    case 10: {
      const v = pick(rng, [[], null, 3, '"x"', [header], 'not json {', '{"a":', '\u0000']);
      return { value: v, describe: `header = ${JSON.stringify(v)}` };
    }
    default: {
      const renamed = `${name}x`;
      header[renamed] = entry;
      delete header[name];
      return { value: header, describe: `rename ${name} to ${renamed}` };
    }
  }
}

/** A random edit somewhere in a JSON value: a field deleted, set to a wrong value, or an array cut. */
export function mutateJSON(root: unknown, rng: Rng): { value: unknown; describe: string } {
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    if (paths.length > 2000) return;
    paths.push(path);
    if (Array.isArray(v)) {
      // A sample of long arrays (vocabularies, merges).
      for (let i = 0; i < v.length; i += Math.max(1, Math.floor(v.length / 8))) walk(v[i], [...path, i]);
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (Object.keys(v).length > 64 && rng.next() > 16 / Object.keys(v).length) continue;
        walk(x, [...path, k]);
      }
    }
  };
  walk(root, []);
  const path = pick(rng, paths.slice(1).length ? paths.slice(1) : paths);
  if (path.length === 0) {
    const v = pick(rng, WRONG_VALUES);
    return { value: v, describe: `whole file = ${JSON.stringify(v)}` };
  }
  let parent = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const key = path[path.length - 1];
  const at = path.join('.');
  const r = rng.next();
  if (r < 0.3 && !Array.isArray(parent)) {
    delete parent[key];
    return { value: root, describe: `delete ${at}` };
  }
  if (r < 0.4 && Array.isArray(parent)) {
    parent.length = key as number;
    return { value: root, describe: `cut ${path.slice(0, -1).join('.')} to ${key} items` };
  }
  const v = pick(rng, WRONG_VALUES);
  parent[key] = v;
  return { value: root, describe: `${at} = ${JSON.stringify(v)}` };
}

/**
 * What generation does with the tokenizer of a model that opened: a tokenizer accepted at load
 * must not fail later (a corrupt post_processor used to throw a TypeError in the first encode).
 */
function useTokenizer(ckpt: Checkpoint): void {
  const tok = ckpt.tokenizer;
  for (const text of ['Once upon a time', ' Hello, World! 123', '']) {
    const ids = tok.encode(text);
    if (ids.some((id) => !Number.isInteger(id) || id < 0 || id >= ckpt.config.vocabSize)) {
      throw new Error(`encode(${JSON.stringify(text)}) gave ids [${ids}] outside the vocabulary`);
    }
    tok.decode(ids);
    const stream = tok.createStream();
    for (const id of ids) stream.push(id);
    stream.flush();
    for (const id of ids) tok.tokenText(id);
  }
}

/** Opens a mutated model and classifies the outcome; a run past `timeoutMs` counts as a hang. */
export async function runCase(files: Files, timeoutMs = 10_000): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'hang' }), timeoutMs);
  });
  const open = openCheckpoint(files)
    .then((ckpt): Outcome => {
      useTokenizer(ckpt);
      return { kind: 'ok' };
    })
    .catch((e: unknown): Outcome => {
      const err = e as Error;
      if (TYPED_ERRORS.some((cls) => e instanceof cls)) {
        return { kind: 'typed', error: err.name, message: err.message };
      }
      return {
        kind: 'untyped',
        error: err?.name ?? typeof e,
        message: String(err?.message ?? e),
        stack: err?.stack,
      };
    });
  try {
    return await Promise.race([open, hang]);
  } finally {
    clearTimeout(timer);
  }
}

export interface FuzzSummary {
  count: number;
  ok: number;
  typed: Record<string, number>;
  failures: { seed: string; describe: string; outcome: Outcome }[];
}

/** Runs `count` mutations from `seed`, the seeds in turn. */
export async function fuzz(
  count: number,
  seed: number,
  onCase?: (i: number, m: Mutation) => void,
): Promise<FuzzSummary> {
  const seeds = fuzzSeeds();
  const rng = new Rng(seed);
  const summary: FuzzSummary = { count, ok: 0, typed: {}, failures: [] };
  for (let i = 0; i < count; i++) {
    const m = mutate(seeds[i % seeds.length], rng);
    onCase?.(i, m);
    const outcome = await runCase(m.files);
    if (outcome.kind === 'ok') summary.ok++;
    else if (outcome.kind === 'typed') summary.typed[outcome.error] = (summary.typed[outcome.error] ?? 0) + 1;
    else summary.failures.push({ seed: m.seed, describe: m.describe, outcome });
  }
  return summary;
}

/** The seeds' own files open (a check that the fuzz starts from valid models). */
export async function seedsOpen(): Promise<string[]> {
  const bad: string[] = [];
  for (const s of fuzzSeeds()) {
    const o = await runCase(s.files);
    if (o.kind !== 'ok') bad.push(`${s.name}: ${JSON.stringify(o)}`);
    if (s.format === 'safetensors') {
      const b = s.files[s.target] as Uint8Array;
      parseSafetensorsHeader(s.target, b, b.length);
    }
  }
  return bad;
}

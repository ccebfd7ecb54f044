/**
 * The canonical weights of both families, as the checkpoint stores them: every large matrix stays
 * a StoredTensor in its own format (read later, by rows, where it is consumed); norms and biases,
 * which are small, are read as f32 here. Every tensor is looked up and shape-checked before any
 * is read, so a bad file fails fast and before any GPU allocation.
 *
 *   V vocab  C hidden  L layers  NH heads  NKV kv heads  HS head size  F ffn  P positions
 */
import { ModelFormatError, NumericalError } from '../errors';
import { matrixShape, readF32, readRowsF32, rowBytes, type StoredTensor } from './tensor';

/**
 * A linear map y = x W (+ b) with N outputs and K inputs. 'NK': W stored [N, K] (nn.Linear, GGUF);
 * 'KN': [K, N] (GPT-2 Conv1D). Layers that read the same input are stacked along N: an 'NK' weight
 * is one or more parts [n_i, K] (q, k, v; gate, up), possibly of different formats.
 */
export interface Linear {
  parts: StoredTensor[];
  layout: 'NK' | 'KN';
  N: number;
  K: number;
  b?: Float32Array;
  /** Checkpoint tensor name(s) of the weight. */
  name: string;
}

export interface Norm {
  w: Float32Array;
  b?: Float32Array;
  name: string;
}

/** A [rows, cols] table: token embeddings, learned positions, the unembedding. */
export interface Matrix {
  tensor: StoredTensor;
  rows: number;
  cols: number;
  name: string;
  /** A bias per row (the unembedding of Phi-2). */
  bias?: Float32Array;
}

export interface LayerWeights {
  attnNorm: Norm;
  /** q, k and v as one linear map: N = (NH + 2 NKV) HS outputs per row, q's then k's then v's. */
  qkv: Linear;
  /** Per-head RMSNorm weights of q then k, [2, HS] (Qwen3, Gemma 3). */
  qkNorm?: Norm;
  o: Linear;
  /** Norm of the attention output before the residual add (Gemma 2, 3). */
  postAttnNorm?: Norm;
  /** The MLP's input norm; absent when the MLP reads the attention's normed input (Phi-2). */
  mlpNorm?: Norm;
  /** Norm of the MLP output before the residual add (Gemma 2, 3). */
  postMlpNorm?: Norm;
  /** GPT-2 MLP: proj(gelu(fc(x))). */
  fc?: Linear;
  proj?: Linear;
  /** Llama MLP: down(silu(gate(x)) * up(x)), gate and up stacked into one map of 2F outputs. */
  gateUp?: Linear;
  down?: Linear;
}

export interface ModelWeights {
  /** Token embedding [V, C]. */
  wte: Matrix;
  /** Learned positions [P, C] (GPT-2). */
  wpe?: Matrix;
  layers: LayerWeights[];
  finalNorm: Norm;
  /** Unembedding [V, C]; the very same object as wte when tied. */
  lmHead: Matrix;
}

const fmt = (shape: number[]) => `[${shape.join(', ')}]`;

/** Tensor names to try, first the canonical one; '.weight' / '.bias' are appended to prefixes. */
export type Names = string[];

/** Looks tensors up by name, checks their shapes, and reads the small ones once every check has passed. */
export class Resolver {
  private pending: (() => Promise<void>)[] = [];
  constructor(
    private readonly tensors: Map<string, StoredTensor>,
    /** The files searched, for messages. */
    private readonly files: string,
  ) {}

  find(candidates: Names): StoredTensor | undefined {
    for (const name of candidates) {
      const t = this.tensors.get(name);
      if (t) return t;
    }
    return undefined;
  }

  require(candidates: Names): StoredTensor {
    const t = this.find(candidates);
    if (!t) {
      const also = candidates.slice(1).map((c) => `'${c}'`);
      throw new ModelFormatError(
        this.files,
        `missing tensor '${candidates[0]}'${also.length ? ` (also tried ${also.join(', ')})` : ''}; searched ${this.files}`,
        candidates[0],
      );
    }
    return t;
  }

  check(t: StoredTensor, shape: number[]): void {
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError(t.file, `expected shape ${fmt(shape)}, found ${fmt(t.shape)}`, t.name);
    }
  }

  /** A small tensor read as f32 by `finish()`. */
  f32(t: StoredTensor, shape: number[], then: (data: Float32Array) => void): void {
    this.check(t, shape);
    this.pending.push(async () => then(checkFinite(t, await readF32(t))));
  }

  /** Whether two tensors hold the same values (tied embeddings stored twice). */
  async sameData(a: StoredTensor, b: StoredTensor): Promise<boolean> {
    if (a === b) return true;
    if (a.format !== b.format || a.byteLength !== b.byteLength || a.shape.join() !== b.shape.join())
      return false;
    const [x, y] = await Promise.all([a.read(), b.read()]);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }

  /** Runs `fn` after the small tensors queued so far have been read. */
  afterReads(fn: () => void): void {
    this.pending.push(async () => fn());
  }

  async finish(): Promise<void> {
    for (const p of this.pending) await p();
    this.pending = [];
  }
}

const NONE = new Float32Array(0);

/** `values` of tensor `t` (from element `first` on), or a NumericalError naming it and the first NaN or ±Inf. */
export function checkFinite(t: StoredTensor, values: Float32Array, first = 0): Float32Array {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      const index = first + i;
      const { cols } = matrixShape(t);
      const at =
        t.shape.length > 1 ? `row ${Math.floor(index / cols)}, column ${index % cols}` : `index ${index}`;
      throw new NumericalError(
        `${t.file} (tensor '${t.name}'): ${v} at ${at} (element ${index}); weights must be finite`,
        {
          tensor: t.name,
          file: t.file,
          index,
        },
      );
    }
  }
  return values;
}

/** A table whose bytes are at most this is scanned whole; a larger one is sampled. */
export const FULL_SCAN_BYTES = 16 << 20;
/** A larger table: this many blocks of rows, evenly spaced, first and last rows included... */
const SAMPLE_BLOCKS = 8;
/** ...of about this many bytes each. */
const SAMPLE_BLOCK_BYTES = 64 << 10;

/**
 * Reads a [rows, cols] table (the token embedding) for NaN and ±Inf: the whole of it up to
 * FULL_SCAN_BYTES, in chunks of rows; beyond that (a large vocabulary, read again here only to be
 * checked) SAMPLE_BLOCKS blocks of about SAMPLE_BLOCK_BYTES, spread from the first row to the last,
 * so the check costs a few small ranged reads however large the table is.
 */
export async function scanFinite(m: Matrix): Promise<void> {
  const t = m.tensor;
  const rb = rowBytes(t);
  const { rows, cols } = matrixShape(t);
  const chunk = Math.max(1, Math.floor(SAMPLE_BLOCK_BYTES / rb));
  const starts: number[] = [];
  if (t.byteLength <= FULL_SCAN_BYTES) {
    for (let r = 0; r < rows; r += chunk) starts.push(r);
  } else {
    for (let i = 0; i < SAMPLE_BLOCKS; i++) {
      starts.push(Math.round((i * Math.max(0, rows - chunk)) / (SAMPLE_BLOCKS - 1)));
    }
  }
  for (const r0 of starts) {
    const r1 = Math.min(rows, r0 + chunk);
    checkFinite(t, await readRowsF32(t, r0, r1), r0 * cols);
  }
}

export function matrix(r: Resolver, candidates: Names, rows: number, cols: number): Matrix {
  const tensor = r.require(candidates);
  r.check(tensor, [rows, cols]);
  return { tensor, rows, cols, name: tensor.name };
}

/** A norm's weight [C] (plus `offset`: Gemma stores w for x * (1 + w)) and, with `bias`, its bias. */
export function norm(r: Resolver, prefix: Names, C: number, bias: boolean, offset = 0): Norm {
  const t = r.require(prefix.map((p) => `${p}.weight`));
  const n: Norm = { w: NONE, name: t.name };
  r.f32(t, [C], (d) => (n.w = offset ? d.map((v) => v + offset) : d));
  if (bias) r.f32(r.require(prefix.map((p) => `${p}.bias`)), [C], (d) => (n.b = d));
  return n;
}

/** The per-head q and k norms [HS] each, as one [2, HS] weight (q's first). */
export function qkNorm(r: Resolver, q: Names, k: Names, HS: number, offset = 0): Norm {
  const nq = norm(r, q, HS, false, offset);
  const nk = norm(r, k, HS, false, offset);
  const n: Norm = { w: NONE, name: `${nq.name} + ${nk.name}` };
  r.afterReads(() => {
    n.w = new Float32Array(2 * HS);
    n.w.set(nq.w);
    n.w.set(nk.w, HS);
  });
  return n;
}

/**
 * nn.Linear layers [n_i, K] that read the same input, stacked by output rows into one map of
 * sum n_i outputs (one matmul instead of several). `bias` true: every part has one; 'optional':
 * those present are used, and a part without one gets zeros.
 */
export function stackedNK(
  r: Resolver,
  parts: { prefix: Names; N: number }[],
  K: number,
  bias: boolean | 'optional',
): Linear {
  const N = parts.reduce((n, p) => n + p.N, 0);
  const l: Linear = { parts: [], layout: 'NK', N, K, name: '' };
  let row = 0;
  for (const p of parts) {
    const w = r.require(p.prefix.map((x) => `${x}.weight`));
    r.check(w, [p.N, K]);
    l.parts.push(w);
    const bs = p.prefix.map((x) => `${x}.bias`);
    const b = bias === true ? r.require(bs) : bias ? r.find(bs) : undefined;
    const at = row;
    if (b) {
      r.f32(b, [p.N], (d) => {
        l.b ??= new Float32Array(N);
        l.b.set(d, at);
      });
    }
    row += p.N;
  }
  l.name = l.parts.map((t) => t.name).join(' + ');
  return l;
}

/** One nn.Linear: weight [N, K], optional bias [N]. */
export function linearNK(
  r: Resolver,
  prefix: Names,
  N: number,
  K: number,
  bias: boolean | 'optional',
): Linear {
  return stackedNK(r, [{ prefix, N }], K, bias);
}

/** GPT-2 Conv1D: weight [K, N], bias [N]. */
export function conv1d(r: Resolver, prefix: Names, K: number, N: number): Linear {
  const t = r.require(prefix.map((p) => `${p}.weight`));
  r.check(t, [K, N]);
  const l: Linear = { parts: [t], layout: 'KN', N, K, name: t.name };
  r.f32(r.require(prefix.map((p) => `${p}.bias`)), [N], (d) => (l.b = d));
  return l;
}

/**
 * The unembedding: a stored head unless it is absent or a copy of the embedding (tied). `bias`:
 * the head's bias tensor (Phi-2), which also makes the head its own matrix.
 */
export async function unembedding(
  r: Resolver,
  wte: Matrix,
  head: Names,
  tied: boolean,
  bias?: Names,
): Promise<Matrix> {
  const t = tied ? r.find(head) : r.require(head);
  if (!bias && (!t || (await r.sameData(t, wte.tensor)))) return wte;
  const m: Matrix = t ? matrix(r, head, wte.rows, wte.cols) : { ...wte };
  if (bias) r.f32(r.require(bias), [wte.rows], (d) => (m.bias = d));
  return m;
}

/**
 * The token embedding matrix explored (issue 12): nearest neighbours by cosine similarity against
 * every row, embedding arithmetic, a 2-D PCA of chosen rows or vectors, and a row as the model uses
 * it. Contract: `Embeddings` in src/inspect-types.ts.
 *
 *   V  rows of the table (vocab_size)   C  hidden size   k  neighbours   n  items projected
 *
 * On the GPU (createEmbeddings, src/model/embeddings-gpu.ts): the query's dot products with every row are the matmul kernel's
 * (the unembedding's product at M = 1, one dispatch per block of the table, whatever its format);
 * the rows' norms are taken once per uploaded table, a chunk of rows at a time: the embedding
 * kernel decodes the chunk to f32 as the model reads it, row_norm takes its norms. The V dots are
 * read back and divided by |query| |row| on the CPU, which also picks the top k. Rows come from
 * the embedding kernel too (decoded, times `config.embedScale`).
 *
 * Its CPU twin (cpuEmbeddings) computes the same from the table decoded as the GPU stores it
 * (`cpuWeights`). Both share what is not arithmetic over the table: argument checks, reading
 * terms, top k, and the PCA (a few dozen vectors: CPU is plenty).
 *
 * Arithmetic terms: '+word', '-word' or 'word' (plus). The word is encoded without special tokens,
 * both as written and with a leading space, and the shorter encoding is used (the spaced one on a
 * tie): byte-level BPE vocabularies (GPT-2, Llama 3) hold a word as it appears inside a sentence,
 * ' king', as one token, while SentencePiece ones already add the '▁' themselves and a second
 * space only makes more tokens. A word of several tokens contributes their rows' mean
 * (`averaged`). The terms' own tokens stay in the neighbours.
 */
import type { ModelConfig } from '../checkpoint/config';
import type { Tokenizer } from '../checkpoint/tokenizer';
import { InvalidOptionError } from '../errors';
import type { Gpu } from '../gpu/gpu';
import type { ArithmeticResult, ArithmeticTerm, Embeddings, Neighbour, Projection } from '../inspect-types';
import type { CpuTable } from './cpu-ops';
import { GpuEmbeddingTable } from './embeddings-gpu';
import type { GpuTable } from './gpu-weights';
import { projectPca } from './pca';

/** What the embeddings need of the model: its config, tokenizer, and its turn on the GPU. */
export interface EmbeddingsHost {
  config: ModelConfig;
  tokenizer: Tokenizer;
  /** The model's current device (a new one after recover). */
  gpu(): Gpu;
  /** The uploaded token embedding [V, C] (blocks of rows, in their GPU format). */
  table(): GpuTable;
  /** Runs GPU work in the model's request queue (one request at a time). */
  run<T>(work: (gpu: Gpu, table: GpuTable) => Promise<T>): Promise<T>;
}

/** The tokenizer calls the embeddings use. */
export type TermTokenizer = Pick<Tokenizer, 'encode' | 'tokenText'>;

/** What differs between the GPU and the CPU: reading rows, and similarities with every row. */
export interface EmbeddingTable {
  /** Rows [ids.length, C] as the model uses them (decoded, times embedScale); ids already checked. */
  rows(ids: number[]): Promise<Float32Array>;
  /** cos(query, row v) for every row v: [V]; 0 for a zero row. `query` is finite and not zero. */
  similarities(query: Float32Array): Promise<Float32Array>;
  /** Frees what the table holds (GPU buffers); it can be used again after. */
  dispose(): void;
}

/** Sizes of the GPU work: tests make them small to cross chunk boundaries. */
export interface GpuEmbeddingSizes {
  /** Rows decoded at a time for their norms (default: as many as fit in 16 MiB of f32). */
  normChunkRows?: number;
  /** Rows gathered at a time by rows() (default 64). */
  gatherRows?: number;
}

/** The embeddings of a loaded model, on its GPU. `dispose()` (beyond the interface) frees the buffers. */
export function createEmbeddings(
  host: EmbeddingsHost,
  sizes: GpuEmbeddingSizes = {},
): Embeddings & { dispose(): void } {
  return new EmbeddingSpace(host.config, host.tokenizer, new GpuEmbeddingTable(host, sizes));
}

/** The CPU twin: the same API over the table decoded as the GPU stores it (cpuWeights(...).wte). */
export function cpuEmbeddings(
  config: ModelConfig,
  tokenizer: TermTokenizer,
  table: CpuTable,
): Embeddings & { dispose(): void } {
  return new EmbeddingSpace(config, tokenizer, new CpuEmbeddingTable(table, config.embedScale));
}

/** Argument checks, terms, top k and PCA over either table. */
class EmbeddingSpace implements Embeddings {
  private readonly V: number;
  private readonly C: number;

  constructor(
    config: ModelConfig,
    private readonly tokenizer: TermTokenizer,
    private readonly table: EmbeddingTable,
  ) {
    this.V = config.vocabSize;
    this.C = config.hidden;
  }

  async nearest(query: number | Float32Array, k: number): Promise<Neighbour[]> {
    checkK(k);
    const q = await this.queryVector(query, 'query');
    return this.top(q, k, 'query');
  }

  async arithmetic(terms: string[], k: number): Promise<ArithmeticResult> {
    checkK(k);
    if (!Array.isArray(terms) || terms.length === 0)
      throw new InvalidOptionError('terms', 'must be a non-empty array of words such as "king", "-man"');
    const read = terms.map((t, i) => readTerm(this.tokenizer, t, i));
    for (const t of read) for (const id of t.tokenIds) this.checkId(id, 'terms');
    const rows = await this.table.rows(read.flatMap((t) => t.tokenIds));
    const sum = new Float64Array(this.C);
    let at = 0;
    for (const t of read) {
      const w = t.sign / t.tokenIds.length;
      for (let r = 0; r < t.tokenIds.length; r++, at++)
        for (let c = 0; c < this.C; c++) sum[c] += w * rows[at * this.C + c];
    }
    const neighbours = await this.top(Float32Array.from(sum), k, 'terms');
    return { terms: read, neighbours };
  }

  async project(items: (number | Float32Array)[]): Promise<Projection> {
    if (!Array.isArray(items) || items.length === 0)
      throw new InvalidOptionError('items', 'must be a non-empty array of token ids or vectors');
    // Everything checked before any GPU work.
    const given = items.map((x) => (typeof x === 'number' ? x : this.checkVector(x, 'items')));
    const ids = given.filter((x) => typeof x === 'number');
    for (const id of ids) this.checkId(id, 'items');
    const rows = ids.length ? await this.table.rows(ids) : new Float32Array(0);
    let next = 0;
    const vectors = given.map((x) => {
      if (typeof x !== 'number') return x;
      const row = rows.subarray(next * this.C, (next + 1) * this.C);
      next++;
      return row;
    });
    return projectPca(vectors, this.C);
  }

  async vector(tokenId: number): Promise<Float32Array> {
    this.checkId(tokenId, 'tokenId');
    return this.table.rows([tokenId]);
  }

  dispose(): void {
    this.table.dispose();
  }

  private async queryVector(query: number | Float32Array, option: string): Promise<Float32Array> {
    if (typeof query === 'number') {
      this.checkId(query, option);
      return this.table.rows([query]);
    }
    return this.checkVector(query, option);
  }

  /** The k rows most similar to q (ties to the lower id). */
  private async top(q: Float32Array, k: number, option: string): Promise<Neighbour[]> {
    if (q.every((v) => v === 0))
      throw new InvalidOptionError(option, 'is the zero vector: it has no direction to compare');
    const sim = await this.table.similarities(q);
    return topK(sim, k).map((tokenId) => ({
      tokenId,
      text: this.tokenizer.tokenText(tokenId),
      similarity: sim[tokenId],
    }));
  }

  private checkId(id: unknown, option: string): void {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.V)
      throw new InvalidOptionError(option, `token id ${String(id)} is outside [0, ${this.V})`);
  }

  private checkVector(x: unknown, option: string): Float32Array {
    if (!(x instanceof Float32Array) && !Array.isArray(x))
      throw new InvalidOptionError(option, `must be a token id or a Float32Array of ${this.C} values`);
    const v = x instanceof Float32Array ? x : Float32Array.from(x as number[]);
    if (v.length !== this.C)
      throw new InvalidOptionError(
        option,
        `a vector must have the hidden size ${this.C} values, got ${v.length}`,
      );
    if (!v.every(Number.isFinite)) throw new InvalidOptionError(option, 'a vector must hold finite values');
    return v;
  }
}

function checkK(k: number): void {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1)
    throw new InvalidOptionError('k', `must be an integer >= 1, got ${String(k)}`);
}

/**
 * One arithmetic term: its sign and its word's tokens (see the header for the leading space).
 * Throws InvalidOptionError('terms') for a term that is not a string, has no word, or a word that
 * encodes to no tokens.
 */
export function readTerm(tokenizer: TermTokenizer, term: string, index: number): ArithmeticTerm {
  if (typeof term !== 'string') throw new InvalidOptionError('terms', `term ${index} is not a string`);
  const t = term.trim();
  const sign = t.startsWith('-') ? -1 : 1;
  const word = /^[+-]/.test(t) ? t.slice(1).trim() : t;
  if (!word) throw new InvalidOptionError('terms', `term ${index} ('${term}') has no word`);
  const plain = tokenizer.encode(word, { addSpecialTokens: false });
  const spaced = tokenizer.encode(` ${word}`, { addSpecialTokens: false });
  const tokenIds =
    spaced.length > 0 && (plain.length === 0 || spaced.length <= plain.length) ? spaced : plain;
  if (tokenIds.length === 0)
    throw new InvalidOptionError('terms', `term ${index} ('${term}'): '${word}' encodes to no tokens`);
  return {
    term,
    sign,
    tokenIds,
    tokens: tokenIds.map((id) => tokenizer.tokenText(id)),
    averaged: tokenIds.length > 1,
  };
}

/** The indices of the k largest values, largest first, ties to the lower index; k is capped at the length. */
export function topK(values: Float32Array, k: number): number[] {
  const n = Math.min(k, values.length);
  const better = (i: number, j: number) => values[i] > values[j] || (values[i] === values[j] && i < j);
  if (n > 256) {
    const all = Array.from(values.keys());
    all.sort((i, j) => (better(i, j) ? -1 : better(j, i) ? 1 : 0));
    return all.slice(0, n);
  }
  // A sorted list of the best n so far: values later in the array enter only when strictly better.
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (best.length === n && !better(i, best[n - 1])) continue;
    let at = best.length === n ? n - 1 : best.length;
    while (at > 0 && better(i, best[at - 1])) at--;
    best.splice(at, 0, i);
    if (best.length > n) best.pop();
  }
  return best;
}

function norm(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s);
}

/** The CPU twin's table: f32 rows [V, C], dots and norms in f64. */
class CpuEmbeddingTable implements EmbeddingTable {
  private norms?: Float64Array;
  constructor(
    private readonly t: CpuTable,
    private readonly scale = 1,
  ) {}

  async rows(ids: number[]): Promise<Float32Array> {
    const { data, cols: C } = this.t;
    const s = Math.fround(this.scale);
    const out = new Float32Array(ids.length * C);
    ids.forEach((id, r) => {
      for (let c = 0; c < C; c++) out[r * C + c] = data[id * C + c] * s;
    });
    return out;
  }

  async similarities(query: Float32Array): Promise<Float32Array> {
    const { data, rows: V, cols: C } = this.t;
    if (!this.norms) {
      this.norms = new Float64Array(V);
      for (let v = 0; v < V; v++) this.norms[v] = norm(data.subarray(v * C, (v + 1) * C));
    }
    const qn = norm(query);
    const out = new Float32Array(V);
    for (let v = 0; v < V; v++) {
      let dot = 0;
      for (let c = 0; c < C; c++) dot += query[c] * data[v * C + c];
      out[v] = this.norms[v] === 0 ? 0 : dot / (qn * this.norms[v]);
    }
    return out;
  }

  dispose(): void {}
}

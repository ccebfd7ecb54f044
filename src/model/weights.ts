/**
 * Checkpoint tensors -> one canonical f32 structure for both families, shape-checked against the
 * config. Every header is parsed and every tensor looked up and shape-checked before anything is
 * converted, so a bad file fails fast and before any GPU allocation.
 *
 *   V vocab  C hidden  L layers  NH heads  NKV kv heads  HS head size  F ffn  P positions
 */
import { ModelFormatError, ModelLoadError } from '../errors';
import type { ModelConfig } from '../checkpoint/config';
import { parseSafetensorsHeader, type TensorInfo, tensorToF32 } from '../checkpoint/safetensors';
import type { FileSource } from '../checkpoint/source';

/** A linear map y = x W (+ b) with N outputs and K inputs. 'NK': W stored [N, K] (nn.Linear); 'KN': [K, N] (Conv1D). */
export interface Linear {
  w: Float32Array;
  layout: 'NK' | 'KN';
  N: number;
  K: number;
  b?: Float32Array;
  /** Checkpoint tensor name of the weight. */
  name: string;
}

export interface Norm {
  w: Float32Array;
  b?: Float32Array;
  name: string;
}

export interface Matrix {
  data: Float32Array;
  rows: number;
  cols: number;
  name: string;
}

export interface LayerWeights {
  attnNorm: Norm;
  /**
   * q, k and v as one linear map: N = (NH + 2 NKV) HS outputs per row, q's then k's then v's.
   * GPT-2 stores it so (c_attn); Llama's q_proj, k_proj, v_proj are stacked at load.
   */
  qkv: Linear;
  o: Linear;
  mlpNorm: Norm;
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

export const SAFETENSORS_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

interface Checkpoint {
  tensors: Map<string, TensorInfo>;
  bytes: Map<string, Uint8Array>;
  /** Files searched, for messages. */
  files: string[];
}

/** Reads every header (single file or shards) and resolves `__metadata__` aliases. */
async function readCheckpoint(files: FileSource): Promise<Checkpoint> {
  let names: string[];
  if (await files.has(SAFETENSORS_FILE)) {
    names = [SAFETENSORS_FILE];
  } else if (await files.has(SAFETENSORS_INDEX)) {
    const index = (await files.readJSON(SAFETENSORS_INDEX)) as { weight_map?: unknown };
    const map = index?.weight_map;
    if (typeof map !== 'object' || map === null || Object.values(map).some((f) => typeof f !== 'string')) {
      throw new ModelFormatError(SAFETENSORS_INDEX, "'weight_map' must map tensor names to file names");
    }
    names = [...new Set(Object.values(map as Record<string, string>))].sort();
  } else {
    throw new ModelLoadError(
      SAFETENSORS_FILE,
      `neither ${SAFETENSORS_FILE} nor ${SAFETENSORS_INDEX} found in ${files.describe}`,
    );
  }
  const tensors = new Map<string, TensorInfo>();
  const bytes = new Map<string, Uint8Array>();
  const aliases: [string, string, string][] = [];
  for (const file of names) {
    const data = await files.read(file);
    const header = parseSafetensorsHeader(file, data, data.length);
    bytes.set(file, data);
    for (const t of header.tensors) {
      const prev = tensors.get(t.name);
      if (prev) throw new ModelFormatError(file, `also stored in ${prev.file}`, t.name);
      tensors.set(t.name, t);
    }
    for (const [k, v] of Object.entries(header.metadata)) aliases.push([file, k, v]);
  }
  // `__metadata__` may name a tensor left out of the file as an alias of one stored (tied weights).
  for (const [, alias, target] of aliases) {
    const t = tensors.get(target);
    if (t && !tensors.has(alias)) tensors.set(alias, t);
  }
  return { tensors, bytes, files: names };
}

const fmt = (shape: number[]) => `[${shape.join(', ')}]`;

/** Looks tensors up, checks their shapes, and defers conversion until every check has passed. */
class Resolver {
  private pending: (() => void)[] = [];
  constructor(private readonly ckpt: Checkpoint) {}

  find(candidates: string[]): TensorInfo | undefined {
    for (const name of candidates) {
      const t = this.ckpt.tensors.get(name);
      if (t) return t;
    }
    return undefined;
  }

  require(candidates: string[]): TensorInfo {
    const t = this.find(candidates);
    if (!t) {
      throw new ModelFormatError(
        this.ckpt.files.join(', '),
        `missing tensor '${candidates[0]}'${
          candidates.length > 1
            ? ` (also tried ${candidates
                .slice(1)
                .map((c) => `'${c}'`)
                .join(', ')})`
            : ''
        }; searched ${this.ckpt.files.join(', ')}`,
        candidates[0],
      );
    }
    return t;
  }

  check(t: TensorInfo, shape: number[]): void {
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError(t.file, `expected shape ${fmt(shape)}, found ${fmt(t.shape)}`, t.name);
    }
  }

  /** A converted tensor, filled in by `finish()`. */
  f32(t: TensorInfo, shape: number[], then: (data: Float32Array) => void): void {
    this.check(t, shape);
    this.pending.push(() => then(tensorToF32(t, this.ckpt.bytes.get(t.file)!)));
  }

  sameData(a: TensorInfo, b: TensorInfo): boolean {
    if (a === b || (a.file === b.file && a.begin === b.begin)) return true;
    if (a.dtype !== b.dtype || a.end - a.begin !== b.end - b.begin) return false;
    const x = this.ckpt.bytes.get(a.file)!.subarray(a.begin, a.end);
    const y = this.ckpt.bytes.get(b.file)!.subarray(b.begin, b.end);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }

  finish(): void {
    for (const p of this.pending) p();
    this.pending = [];
  }
}

const EMPTY = new Float32Array(0);

function matrix(r: Resolver, candidates: string[], rows: number, cols: number): Matrix {
  const t = r.require(candidates);
  const m: Matrix = { data: EMPTY, rows, cols, name: t.name };
  r.f32(t, [rows, cols], (d) => (m.data = d));
  return m;
}

function norm(r: Resolver, prefix: string[], C: number, bias: boolean): Norm {
  const t = r.require(prefix.map((p) => `${p}.weight`));
  const n: Norm = { w: EMPTY, name: t.name };
  r.f32(t, [C], (d) => (n.w = d));
  if (bias) r.f32(r.require(prefix.map((p) => `${p}.bias`)), [C], (d) => (n.b = d));
  return n;
}

/** nn.Linear: weight [N, K], optional bias [N]. */
function linearNK(r: Resolver, prefix: string[], N: number, K: number, bias: boolean | 'optional'): Linear {
  const t = r.require(prefix.map((p) => `${p}.weight`));
  const l: Linear = { w: EMPTY, layout: 'NK', N, K, name: t.name };
  r.f32(t, [N, K], (d) => (l.w = d));
  const bt =
    bias === true ? r.require(prefix.map((p) => `${p}.bias`)) : r.find(prefix.map((p) => `${p}.bias`));
  if (bias && bt) r.f32(bt, [N], (d) => (l.b = d));
  return l;
}

/**
 * nn.Linear layers that read the same input, stacked by output rows into one [sum N, K] map (one
 * matmul instead of several). A bias is zero for a part that has none, when another part has one.
 */
function stackedNK(
  r: Resolver,
  parts: { prefix: string[]; N: number }[],
  K: number,
  bias: boolean | 'optional',
): Linear {
  const N = parts.reduce((n, p) => n + p.N, 0);
  const found = parts.map((p) => {
    const w = r.require(p.prefix.map((x) => `${x}.weight`));
    const bs = p.prefix.map((x) => `${x}.bias`);
    return { ...p, w, b: bias === true ? r.require(bs) : bias ? r.find(bs) : undefined };
  });
  const l: Linear = { w: EMPTY, layout: 'NK', N, K, name: found.map((p) => p.w.name).join(' + ') };
  let row = 0;
  for (const p of found) {
    const at = row;
    r.f32(p.w, [p.N, K], (d) => {
      if (l.w === EMPTY) l.w = new Float32Array(N * K);
      l.w.set(d, at * K);
    });
    if (p.b) {
      r.f32(p.b, [p.N], (d) => {
        l.b ??= new Float32Array(N);
        l.b.set(d, at);
      });
    }
    row += p.N;
  }
  return l;
}

/** GPT-2 Conv1D: weight [K, N], bias [N]. */
function conv1d(r: Resolver, prefix: string[], K: number, N: number): Linear {
  const t = r.require(prefix.map((p) => `${p}.weight`));
  const l: Linear = { w: EMPTY, layout: 'KN', N, K, name: t.name };
  r.f32(t, [K, N], (d) => (l.w = d));
  r.f32(r.require(prefix.map((p) => `${p}.bias`)), [N], (d) => (l.b = d));
  return l;
}

function gpt2Weights(r: Resolver, cfg: ModelConfig): ModelWeights {
  const { vocabSize: V, hidden: C, ffn: F, maxContext: P } = cfg;
  const names = (s: string) => [s, `transformer.${s}`];
  const wte = matrix(r, names('wte.weight'), V, C);
  const wpe = matrix(r, names('wpe.weight'), P, C);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    const h = (s: string) => names(`h.${i}.${s}`);
    layers.push({
      attnNorm: norm(r, h('ln_1'), C, true),
      // c_attn is one Conv1D [C, 3C]: q, k and v side by side, as the fused layout wants them.
      qkv: conv1d(r, h('attn.c_attn'), C, 3 * C),
      o: conv1d(r, h('attn.c_proj'), C, C),
      mlpNorm: norm(r, h('ln_2'), C, true),
      fc: conv1d(r, h('mlp.c_fc'), C, F),
      proj: conv1d(r, h('mlp.c_proj'), F, C),
    });
  }
  const finalNorm = norm(r, names('ln_f'), C, true);
  // Tied unless the file stores a different lm_head.
  const wteInfo = r.require(names('wte.weight'));
  const head = cfg.tiedEmbeddings ? r.find(['lm_head.weight']) : r.require(['lm_head.weight']);
  const lmHead = head && !r.sameData(head, wteInfo) ? matrix(r, ['lm_head.weight'], V, C) : wte;
  return { wte, wpe, layers, finalNorm, lmHead };
}

function llamaWeights(r: Resolver, cfg: ModelConfig): ModelWeights {
  const { vocabSize: V, hidden: C, ffn: F, heads: NH, kvHeads: NKV, headDim: HS } = cfg;
  const names = (s: string) => [`model.${s}`, s];
  const embedInfo = r.require(names('embed_tokens.weight'));
  const wte = matrix(r, names('embed_tokens.weight'), V, C);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    const l = (s: string) => names(`layers.${i}.${s}`);
    const qkvBias = cfg.qkvBias ? true : 'optional';
    layers.push({
      attnNorm: norm(r, l('input_layernorm'), C, false),
      qkv: stackedNK(
        r,
        [
          { prefix: l('self_attn.q_proj'), N: NH * HS },
          { prefix: l('self_attn.k_proj'), N: NKV * HS },
          { prefix: l('self_attn.v_proj'), N: NKV * HS },
        ],
        C,
        qkvBias,
      ),
      o: linearNK(r, l('self_attn.o_proj'), C, NH * HS, cfg.attnOutBias ? true : 'optional'),
      mlpNorm: norm(r, l('post_attention_layernorm'), C, false),
      gateUp: stackedNK(
        r,
        [
          { prefix: l('mlp.gate_proj'), N: F },
          { prefix: l('mlp.up_proj'), N: F },
        ],
        C,
        cfg.mlpBias ? true : 'optional',
      ),
      down: linearNK(r, l('mlp.down_proj'), C, F, cfg.mlpBias ? true : 'optional'),
    });
  }
  const finalNorm = norm(r, names('norm'), C, false);
  const head = cfg.tiedEmbeddings ? r.find(['lm_head.weight']) : r.require(['lm_head.weight']);
  const lmHead = head && !r.sameData(head, embedInfo) ? matrix(r, ['lm_head.weight'], V, C) : wte;
  return { wte, layers, finalNorm, lmHead };
}

/**
 * Reads model.safetensors (or the shards named by model.safetensors.index.json), validates every
 * header, name and shape, then converts the tensors to f32.
 */
export async function loadWeights(files: FileSource, config: ModelConfig): Promise<ModelWeights> {
  const ckpt = await readCheckpoint(files);
  const r = new Resolver(ckpt);
  const weights = config.arch === 'gpt2' ? gpt2Weights(r, config) : llamaWeights(r, config);
  r.finish();
  return weights;
}

/**
 * The transformer forward pass, written once over the `Ops` interface. `CpuOps` (src/model/cpu-ops.ts)
 * runs it with the CPU twins of the kernels; `GpuOps` (src/model/gpu-ops.ts) records it into GPU
 * dispatches. Mixing the two op by op is how a wrong logit is bisected.
 *
 * Dimensions, named once:
 *   T   positions in this call (prompt chunk, or 1 when decoding)   pos  position of the first of them
 *   C   channels (hidden size)        NH  query heads     NKV  key/value heads    HS  head size
 *   F   MLP width                     V   vocabulary      L    layers
 * Activations are row-major [T, width].
 */
import { layerAttention, type ModelConfig } from '../checkpoint/config';

/** The weight types of one implementation (CPU arrays, or GPU buffers). */
export interface WeightKinds {
  /** A [rows, C] table: the token embedding, learned positions, the unembedding. */
  table: unknown;
  /** A linear layer y = x W^T + b. */
  linear: unknown;
  /** A norm's weight (and bias for layernorm). */
  norm: unknown;
}

export interface LayerWeights<W extends WeightKinds> {
  attnNorm: W['norm'];
  /** q, k and v in one map: (NH + 2 NKV) HS outputs, q's then k's then v's. */
  qkv: W['linear'];
  /** Per-head RMSNorm of q and k, weights [2, HS] (Qwen3, Gemma 3). */
  qkNorm?: W['norm'];
  o: W['linear'];
  /** Norm of the attention output before the residual add (Gemma 2, 3). */
  postAttnNorm?: W['norm'];
  /** Absent: the MLP reads the attention's normed input (Phi-2's parallel block). */
  mlpNorm?: W['norm'];
  /** Norm of the MLP output before the residual add (Gemma 2, 3). */
  postMlpNorm?: W['norm'];
  /** GPT-2 MLP: fc then gelu then proj. */
  fc?: W['linear'];
  proj?: W['linear'];
  /** Gated MLP: down(act(gate(x)) * up(x)) (SwiGLU, GeGLU); gate and up in one map of 2F outputs. */
  gateUp?: W['linear'];
  down?: W['linear'];
}

export interface Weights<W extends WeightKinds> {
  wte: W['table'];
  wpe?: W['table'];
  layers: LayerWeights<W>[];
  finalNorm: W['norm'];
  /** The unembedding (with a per-row bias for Phi-2). */
  lmHead: W['table'];
}

/** Scratch activations, each sized for the largest T the implementation runs. */
export interface Activations<A> {
  ids: A; // [T] token ids
  x: A; // [T, C] residual stream
  h: A; // [T, C] normed
  y: A; // [T, C] a block's output before its norm (sandwich norms)
  qkv: A; // [T, (NH + 2 NKV) HS] q | k | v of each position
  att: A; // [T, NH*HS]
  f: A; // [T, 2F] fc output (the first F columns) or gate | up
  g: A; // [T, F] activated
  last: A; // [1, C] the last position, for the unembedding when only it is needed
  logits: A; // [T, V]
}

export interface Ops<A, W extends WeightKinds> {
  /** Token embedding (times cfg.embedScale) plus learned positions. */
  embed(out: A, ids: A, wte: W['table'], wpe: W['table'] | undefined, T: number, pos: number): Promise<void>;
  norm(out: A, x: A, w: W['norm'], T: number): Promise<void>;
  /** out += x. */
  add(out: A, x: A, T: number): Promise<void>;
  /** out = x W^T + b. */
  linear(out: A, x: A, w: W['linear'], T: number): Promise<void>;
  /** out += x W^T + b (a residual add fused into the matmul). */
  linearAdd(out: A, x: A, w: W['linear'], T: number): Promise<void>;
  /** Per-head RMSNorm of the q and k heads of qkv rows, in place. */
  qkNorm(qkv: A, w: W['norm'], T: number): Promise<void>;
  /** Rotary position embedding of the q and k heads of qkv rows, in place, with layer `layer`'s settings. */
  rope(qkv: A, layer: number, T: number, pos: number): Promise<void>;
  /**
   * Appends the k, v of qkv to layer `layer`'s cache at `pos`, then causal attention of its q over
   * the cache (scale, soft-capping and sliding window from the config).
   */
  attention(out: A, qkv: A, layer: number, T: number, pos: number): Promise<void>;
  gelu(out: A, x: A, T: number): Promise<void>;
  /** out = act(gate) * up over the gate | up rows of gateUp (cfg.activation: silu or gelu_tanh). */
  glu(out: A, gateUp: A, T: number): Promise<void>;
  /** Copies row T-1 of x to out. */
  lastRow(out: A, x: A, T: number): Promise<void>;
  /** out[t, :] = x[t, :] table^T (+ its bias) (logits). */
  unembed(out: A, x: A, table: W['table'], T: number): Promise<void>;
  /** Soft-caps T rows of logits in place: z = c tanh(z / c), c = cfg.finalSoftcap. */
  softcap(logits: A, T: number): Promise<void>;
}

/**
 * Runs T tokens at positions pos..pos+T-1 through the model. The caller has put the ids in `act.ids`.
 * Leaves logits of every position in act.logits (allRows) or of the last position in its first row.
 */
export async function forward<A, W extends WeightKinds>(
  ops: Ops<A, W>,
  cfg: ModelConfig,
  w: Weights<W>,
  act: Activations<A>,
  T: number,
  pos: number,
  allRows: boolean,
  /**
   * Called with the residual stream x ready: after the embedding (-1, 'block'), after layer l's
   * attention update (l, 'attention') and after the whole layer (l, 'block'). Inspection hooks in here.
   */
  after?: (layer: number, stage: 'attention' | 'block') => Promise<void>,
): Promise<void> {
  const { x, h, y, qkv, att, f, g } = act;
  await ops.embed(x, act.ids, w.wte, w.wpe, T, pos);
  await after?.(-1, 'block');
  for (const [l, layer] of w.layers.entries()) {
    // attention block: x = x + o(attention(rope(q), rope(k), v)), [q | k | v] = qkv(norm(x))
    await ops.norm(h, x, layer.attnNorm, T);
    await ops.linear(qkv, h, layer.qkv, T);
    if (layer.qkNorm) await ops.qkNorm(qkv, layer.qkNorm, T);
    if (layerAttention(cfg, l).rope) await ops.rope(qkv, l, T, pos);
    await ops.attention(att, qkv, l, T, pos);
    if (layer.postAttnNorm) {
      // sandwich: x = x + norm(o(attention))
      await ops.linear(y, att, layer.o, T);
      await ops.norm(h, y, layer.postAttnNorm, T);
      await ops.add(x, h, T);
    } else {
      await ops.linearAdd(x, att, layer.o, T);
    }
    await after?.(l, 'attention');
    // MLP block: x = x + mlp(norm(x)); without an MLP norm (parallel block) h still holds the
    // attention's input norm, so x = x + attention(norm(x)) + mlp(norm(x)).
    if (layer.mlpNorm) await ops.norm(h, x, layer.mlpNorm, T);
    const out = layer.postMlpNorm ? y : x;
    const add = (o: A, i: A, lin: W['linear']) =>
      layer.postMlpNorm ? ops.linear(o, i, lin, T) : ops.linearAdd(o, i, lin, T);
    if (layer.fc && layer.proj) {
      await ops.linear(f, h, layer.fc, T);
      await ops.gelu(g, f, T);
      await add(out, g, layer.proj);
    } else {
      await ops.linear(f, h, layer.gateUp!, T);
      await ops.glu(g, f, T);
      await add(out, g, layer.down!);
    }
    if (layer.postMlpNorm) {
      await ops.norm(h, y, layer.postMlpNorm, T);
      await ops.add(x, h, T);
    }
    await after?.(l, 'block');
  }
  const rows = allRows ? T : 1;
  if (allRows) {
    await ops.norm(h, x, w.finalNorm, T);
  } else {
    await ops.lastRow(act.last, x, T);
    await ops.norm(h, act.last, w.finalNorm, 1);
  }
  await ops.unembed(act.logits, h, w.lmHead, rows);
  if (cfg.finalSoftcap) await ops.softcap(act.logits, rows);
}

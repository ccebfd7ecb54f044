/**
 * The explainer page: one prompt through the loaded model, stage by stage: tokens, embedding space,
 * attention, the residual stream, the logit lens, unembedding and softmax, and one step of
 * generation. Every number comes from the model in the engine worker (`inspect`, `embeddings`,
 * `analyze`, `generate`), so the page stays responsive while the GPU works.
 *
 * For tests: #inspect-status data-state ('busy', 'ready', 'error') and data-runs (inspections
 * shown so far); #stage-step data-greedy-id (the engine's argmax after the text),
 * data-ids (the text's ids) and data-last-id (the token the last step appended).
 */
import type { ArithmeticResult, InspectResult } from '../../src/inspect-types';
import type { RemoteModel } from '../../src/worker/client';
import { describeError, isAbort, NO_WEBGPU_HELP } from '../messages';
import { defaultModelUrl, ModelLoader } from '../model-loader';
import { $, clearNotice, renderTopTokens, showNotice, visibleToken, wireTemperature } from '../ui';
import { drawHeatStrip } from './draw';
import {
  describeTerms,
  renderAttentionDetail,
  renderAttentionGrid,
  renderLens,
  renderNeighbours,
  renderResidual,
  renderScatter,
  renderTokens,
  type ScatterPoint,
  shadeAttention,
} from './panels';

const TOP_TOKENS = 10;
const NEIGHBOURS = 8;

let model: RemoteModel | undefined;
/** The text's ids: the prompt's, then the tokens stepped onto it. */
let ids: number[] = [];
let promptLength = 0;
let result: InspectResult | undefined;
let arithmetic: ArithmeticResult | undefined;
/** The token position whose neighbours are shown, and the attention map enlarged. */
let picked = 0;
let attentionPick: [number, number] = [0, 0];
let query = 0;
let busy = false;
let runs = 0;
let seq = 0;
const vectors = new Map<number, Promise<Float32Array>>();

const loader = new ModelLoader(defaultModelUrl('../../'), {
  setModel(m) {
    model = m;
    vectors.clear();
    if (m) void fromPrompt();
    updateButtons();
  },
  update: updateButtons,
});

function updateButtons(): void {
  $<HTMLButtonElement>('step').disabled = !model || busy || loader.loading || ids.length === 0;
}

function setStatus(text: string, state: 'busy' | 'ready' | 'error' | 'idle'): void {
  const status = $('inspect-status');
  status.textContent = text;
  status.dataset.state = state;
  if (state === 'ready') status.dataset.runs = String(++runs);
}

function temperature(): number {
  const T = Number($<HTMLInputElement>('temperature-number').value);
  return Number.isFinite(T) && T >= 0 ? T : 1;
}

function fail(e: unknown, m: RemoteModel): void {
  if (isAbort(e) || model !== m) return;
  setStatus('Could not run the model on this text.', 'error');
  showNotice({ ...describeError(e, 'run', () => loader.reload()), key: 'run' });
}

/** Tokenizes the prompt box and explains it from the start. */
async function fromPrompt(): Promise<void> {
  const m = model;
  if (!m) return;
  try {
    const encoded = await m.encode($<HTMLTextAreaElement>('prompt').value);
    if (model !== m) return;
    ids = encoded;
    promptLength = ids.length;
    picked = Math.max(0, ids.length - 1);
    await explain();
  } catch (e) {
    fail(e, m);
  }
}

/** Runs the text through the model (inspect, then the next-token distribution) and draws every panel. */
async function explain(): Promise<void> {
  const m = model;
  if (!m) return;
  const mine = ++seq;
  const text = ids.slice();
  if (text.length === 0) {
    setStatus('Type a prompt.', 'idle');
    return;
  }
  if (text.length > m.inspectMaxTokens) {
    showNotice({
      level: 'info',
      key: 'run',
      title: 'The text is too long to explain',
      detail: `It is ${text.length} tokens; the explainer shows at most ${m.inspectMaxTokens} (one prefill chunk). Shorten the prompt.`,
    });
    setStatus(`${text.length} tokens: at most ${m.inspectMaxTokens} can be explained.`, 'idle');
    return;
  }
  busy = true;
  updateButtons();
  setStatus(`Running ${text.length} tokens through the model…`, 'busy');
  try {
    const inspected = await m.inspect(text, { attention: true, logitLens: true, residual: true, topK: 5 });
    const T = temperature();
    const next = await m.analyze({ ids: text }, TOP_TOKENS, T);
    const entropy = await m.entropy(T);
    if (mine !== seq || model !== m) return;
    clearNotice('run');
    result = inspected;
    query = text.length - 1;
    picked = Math.min(picked, text.length - 1);
    renderAll(inspected);
    renderTopTokens(next.top);
    renderEntropy(entropy, T);
    const step = $('stage-step');
    step.dataset.greedyId = String(next.top[0]?.tokenId ?? '');
    step.dataset.ids = text.join(',');
    $('stage-next').dataset.topTokenId = String(next.top[0]?.tokenId ?? '');
    await Promise.all([showNeighbours(), showScatter()]);
    if (mine !== seq) return;
    setStatus(`${text.length} tokens, ${m.config.layers} layers, ${m.config.heads} heads.`, 'ready');
  } catch (e) {
    if (mine === seq) fail(e, m);
  } finally {
    if (mine === seq) {
      busy = false;
      updateButtons();
    }
  }
}

function renderAll(r: InspectResult): void {
  renderTokens(r, (i) => void showVector(i), pickToken, picked);
  renderAttentionGrid(r, (li, hi) => {
    attentionPick = [li, hi];
    showAttention();
  });
  attentionPick = [
    Math.min(attentionPick[0], (r.attention?.length ?? 1) - 1),
    Math.min(attentionPick[1], r.heads.length - 1),
  ];
  showAttention();
  renderResidual(r);
  if (r.logitLens) renderLens(r.logitLens);
  $('step-text').replaceChildren(
    ...r.tokens.map((t, i) => {
      const span = document.createElement('span');
      span.textContent = t;
      if (i >= promptLength) span.className = 'stepped';
      return span;
    }),
  );
  void showVector(picked);
}

function showAttention(): void {
  if (!result) return;
  const [li, hi] = attentionPick;
  renderAttentionDetail(result, li, hi, query, (t) => {
    if (t === query || !result) return;
    query = t;
    shadeAttention(result, li, hi, t);
  });
}

/** 1 · The hovered token's embedding row as a heat strip. */
async function showVector(i: number): Promise<void> {
  const m = model;
  const r = result;
  if (!m || !r || i >= r.ids.length) return;
  const id = r.ids[i];
  let vector = vectors.get(id);
  if (!vector) {
    vector = m.embeddings.vector(id);
    vectors.set(id, vector);
  }
  try {
    const values = await vector;
    if (result !== r) return;
    const strip = $<HTMLCanvasElement>('vector-strip');
    const max = drawHeatStrip(strip, values);
    let norm = 0;
    for (const v of values) norm += v * v;
    strip.dataset.tokenId = String(id);
    strip.dataset.length = String(values.length);
    strip.dataset.norm = String(Math.sqrt(norm));
    $('vector-caption').textContent =
      `“${visibleToken(r.tokens[i])}” (id ${id}): ${values.length} numbers, length ${Math.sqrt(norm).toFixed(3)}; ` +
      `red positive, blue negative, the strongest ±${max.toFixed(3)}.`;
  } catch (e) {
    vectors.delete(id);
    fail(e, m);
  }
}

function pickToken(i: number): void {
  picked = i;
  for (const chip of $('token-chips').querySelectorAll<HTMLElement>('.token-chip')) {
    chip.classList.toggle('picked', chip.dataset.position === String(i));
  }
  void showNeighbours();
  void showScatter();
}

/** 2 · The nearest rows of the embedding matrix to the picked token's. */
async function showNeighbours(): Promise<void> {
  const m = model;
  const r = result;
  if (!m || !r) return;
  const id = r.ids[picked];
  try {
    const neighbours = await m.embeddings.nearest(id, NEIGHBOURS);
    if (result !== r) return;
    $('nearest-of').textContent = `“${visibleToken(r.tokens[picked])}”`;
    const list = $('nearest');
    list.dataset.query = String(id);
    renderNeighbours(list, neighbours, new Set([id]));
  } catch (e) {
    fail(e, m);
  }
}

/** 2 · Embedding arithmetic from the box: "king -man +woman". */
async function runArithmetic(): Promise<void> {
  const m = model;
  if (!m) return;
  const terms = $<HTMLInputElement>('arithmetic').value.trim().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return;
  try {
    const answer = await m.embeddings.arithmetic(terms, NEIGHBOURS);
    if (model !== m) return;
    arithmetic = answer;
    $('arithmetic-terms').textContent = describeTerms(answer);
    const own = new Set(answer.terms.flatMap((t) => t.tokenIds));
    renderNeighbours($('arithmetic-result'), answer.neighbours, own);
    await showScatter();
  } catch (e) {
    if (isAbort(e) || model !== m) return;
    showNotice({ ...describeError(e, 'run', () => loader.reload()), key: 'arithmetic' });
  }
}

/** 2 · The prompt's tokens and the arithmetic's words and results, projected to 2-D. */
async function showScatter(): Promise<void> {
  const m = model;
  const r = result;
  if (!m || !r) return;
  const points: ScatterPoint[] = [];
  const seen = new Set<number>();
  const add = (tokenId: number, label: string, kind: ScatterPoint['kind']) => {
    if (seen.has(tokenId)) return;
    seen.add(tokenId);
    points.push({ tokenId, label, kind });
  };
  for (const [i, id] of r.ids.entries()) add(id, r.tokens[i], 'prompt');
  for (const t of arithmetic?.terms ?? []) {
    for (const [i, id] of t.tokenIds.entries()) add(id, t.tokens[i], 'term');
  }
  for (const n of arithmetic?.neighbours.slice(0, 5) ?? []) add(n.tokenId, n.text, 'result');
  if (points.length < 2) return;
  try {
    const projection = await m.embeddings.project(points.map((p) => p.tokenId));
    if (result !== r) return;
    renderScatter(points, projection, r.ids[picked]);
  } catch (e) {
    fail(e, m);
  }
}

function renderEntropy(bits: number, T: number): void {
  const box = $('entropy');
  const V = model?.config.vocabSize ?? 0;
  box.dataset.entropy = String(bits);
  box.textContent =
    `Entropy at temperature ${T}: ${bits.toFixed(3)} bits ` +
    `(0 = certain; ${Math.log2(V).toFixed(1)} bits = all ${V} tokens equally likely).`;
}

/** 6 · The temperature moved: the same logits, redrawn at once. */
let redrawQueued = false;
async function redraw(): Promise<void> {
  if (redrawQueued) return;
  redrawQueued = true;
  await new Promise(requestAnimationFrame);
  redrawQueued = false;
  const m = model;
  if (!m || !result) return;
  const T = temperature();
  try {
    const top = await m.topTokens(TOP_TOKENS, T);
    const entropy = await m.entropy(T);
    if (model !== m) return;
    renderTopTokens(top);
    renderEntropy(entropy, T);
  } catch (e) {
    fail(e, m);
  }
}

/** 7 · One turn of generation by the engine: greedy, or sampled at the temperature. */
async function step(): Promise<void> {
  const m = model;
  if (!m || busy || ids.length === 0) return;
  busy = true;
  updateButtons();
  const sample = $<HTMLInputElement>('sample').checked;
  try {
    let appended: number | undefined;
    for await (const event of m.generate(
      { ids },
      { maxNewTokens: 1, temperature: sample ? temperature() : 0 },
    )) {
      if (!('done' in event)) appended = event.tokenId;
    }
    if (model !== m) return;
    if (appended === undefined) {
      showNotice({
        level: 'info',
        key: 'step',
        title: 'The model ended the text',
        detail: 'It picked the end-of-text token, so there is nothing to append.',
      });
      return;
    }
    ids = [...ids, appended];
    $('stage-step').dataset.lastId = String(appended);
    busy = false;
    await explain();
  } catch (e) {
    fail(e, m);
  } finally {
    busy = false;
    updateButtons();
  }
}

let promptTimer: ReturnType<typeof setTimeout> | undefined;

function wire(): void {
  loader.wire();
  $('prompt').addEventListener('input', () => {
    clearTimeout(promptTimer);
    promptTimer = setTimeout(() => void fromPrompt(), 400);
  });
  $('step').addEventListener('click', () => void step());
  $('reset').addEventListener('click', () => void fromPrompt());
  $('arithmetic-form').addEventListener('submit', (e) => {
    e.preventDefault();
    void runArithmetic();
  });
  wireTemperature(() => void redraw());
}

function start(): void {
  wire();
  updateButtons();
  if (!navigator.gpu) {
    showNotice({ level: 'error', key: 'gpu', title: 'This browser has no WebGPU', detail: NO_WEBGPU_HELP });
    loader.noWebGpu();
    return;
  }
  void loader.load().then(() => {
    if (model) void runArithmetic();
  });
}

start();

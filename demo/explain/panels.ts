/**
 * The explainer's panels, drawn from an `InspectResult` and the embeddings' answers. Every number
 * shown is also in a data attribute, for tests and the curious (row sums of each attention map,
 * the logit lens' top token per layer, the residual norms per layer).
 */
import type {
  ArithmeticResult,
  InspectResult,
  LensToken,
  Neighbour,
  Projection,
} from '../../src/inspect-types';
import { $, el, visibleToken } from '../ui';
import { attentionChecks, drawAttention, percent, sequential } from './draw';

/** 1 · The token chips, each with its id; `onHover` and `onPick` get the position. */
export function renderTokens(
  r: InspectResult,
  onHover: (i: number) => void,
  onPick: (i: number) => void,
  picked: number,
): void {
  $('token-chips').replaceChildren(
    ...r.ids.map((id, i) => {
      const chip = el('button', 'token-chip');
      chip.type = 'button';
      chip.dataset.tokenId = String(id);
      chip.dataset.position = String(i);
      chip.classList.toggle('picked', i === picked);
      chip.append(el('span', 'piece', visibleToken(r.tokens[i])), el('small', 'id', String(id)));
      chip.addEventListener('mouseenter', () => onHover(i));
      chip.addEventListener('focus', () => onHover(i));
      chip.addEventListener('click', () => onPick(i));
      return chip;
    }),
  );
}

/** A ranked list of neighbours; `own` marks tokens that are among the query's own. */
export function renderNeighbours(
  list: HTMLElement,
  neighbours: Neighbour[],
  own: Set<number> = new Set(),
): void {
  list.replaceChildren(
    ...neighbours.map((n) => {
      const li = el('li');
      li.dataset.tokenId = String(n.tokenId);
      li.dataset.similarity = String(n.similarity);
      if (own.has(n.tokenId)) {
        li.classList.add('own');
        li.title = 'one of the query’s own tokens';
      }
      const bar = el('span', 'sim-bar');
      const fill = el('div');
      fill.style.width = `${Math.max(0, 100 * n.similarity)}%`;
      bar.append(fill);
      li.append(el('span', 'token', visibleToken(n.text)), bar, el('span', 'num', n.similarity.toFixed(3)));
      return li;
    }),
  );
}

/** The arithmetic's terms as read: each word's tokens, and whether they were averaged. */
export function describeTerms(result: ArithmeticResult): string {
  return result.terms
    .map((t) => {
      const tokens = t.tokens.map((x) => `“${visibleToken(x)}”`).join(' ');
      return `${t.sign < 0 ? '−' : '+'}${t.term.replace(/^[+-]/, '')} = ${tokens}${t.averaged ? ` (mean of ${t.tokenIds.length})` : ''}`;
    })
    .join(' · ');
}

export interface ScatterPoint {
  label: string;
  kind: 'prompt' | 'result' | 'term';
  tokenId: number;
}

/** 2 · The projected embeddings: prompt tokens, arithmetic terms and results, labelled. */
export function renderScatter(points: ScatterPoint[], projection: Projection, highlight?: number): void {
  const svg = $('scatter') as unknown as SVGSVGElement;
  const W = 600;
  const H = 320;
  const pad = 28;
  const xs = projection.points.map((p) => p[0]);
  const ys = projection.points.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * pad);
  const sy = (y: number) => H - pad - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * pad);
  const ns = 'http://www.w3.org/2000/svg';
  const nodes: SVGElement[] = [];
  points.forEach((p, i) => {
    const [x, y] = projection.points[i];
    const g = document.createElementNS(ns, 'g');
    g.setAttribute('class', `pt ${p.kind}${p.tokenId === highlight ? ' picked' : ''}`);
    g.dataset.tokenId = String(p.tokenId);
    g.dataset.x = String(x);
    g.dataset.y = String(y);
    const c = document.createElementNS(ns, 'circle');
    c.setAttribute('cx', String(sx(x)));
    c.setAttribute('cy', String(sy(y)));
    c.setAttribute('r', '4');
    const t = document.createElementNS(ns, 'text');
    t.setAttribute('x', String(sx(x) + 6));
    t.setAttribute('y', String(sy(y) + 4));
    t.textContent = visibleToken(p.label);
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${p.label} (token ${p.tokenId}) · (${x.toFixed(3)}, ${y.toFixed(3)})`;
    g.append(c, t, title);
    nodes.push(g);
  });
  svg.replaceChildren(...nodes);
  svg.dataset.points = String(points.length);
  const [a, b] = projection.explained;
  $('scatter-caption').textContent =
    `Blue: the prompt's tokens; orange: the arithmetic's words; green: its results. ` +
    `The two axes hold ${percent(a)} and ${percent(b)} of these vectors' variance.`;
}

/** 3 · The layer × head grid of attention maps; a click selects one. */
export function renderAttentionGrid(r: InspectResult, onPick: (li: number, hi: number) => void): void {
  const grid = $('attention-grid');
  const T = r.ids.length;
  const attention = r.attention ?? [];
  grid.style.setProperty('--heads', String(r.heads.length));
  const cells: HTMLElement[] = [el('span', 'corner')];
  for (const h of r.heads) cells.push(el('span', 'col-label', `h${h + 1}`));
  attention.forEach((layer, li) => {
    cells.push(el('span', 'row-label', `L${r.layers[li] + 1}`));
    layer.forEach((probs, hi) => {
      const canvas = el('canvas', 'attention-cell');
      drawAttention(canvas, probs, T);
      const checks = attentionChecks(probs, T);
      canvas.dataset.layer = String(r.layers[li]);
      canvas.dataset.head = String(r.heads[hi]);
      canvas.dataset.rowSums = checks.rowSums.map((s) => s.toFixed(6)).join(',');
      canvas.dataset.aboveDiagonal = String(checks.aboveDiagonal);
      canvas.title = `layer ${r.layers[li] + 1}, head ${r.heads[hi] + 1}`;
      canvas.tabIndex = 0;
      canvas.addEventListener('click', () => onPick(li, hi));
      canvas.addEventListener('keydown', (e) => e.key === 'Enter' && onPick(li, hi));
      cells.push(canvas);
    });
  });
  grid.replaceChildren(...cells);
}

/** 3 · The enlarged map of one head, and a chip per token to hover (built once per head). */
export function renderAttentionDetail(
  r: InspectResult,
  li: number,
  hi: number,
  query: number,
  onHover: (t: number) => void,
): void {
  if (!r.attention?.[li]?.[hi]) return;
  for (const c of $('attention-grid').querySelectorAll('canvas')) {
    c.classList.toggle(
      'picked',
      c.dataset.layer === String(r.layers[li]) && c.dataset.head === String(r.heads[hi]),
    );
  }
  const T = r.ids.length;
  const big = $<HTMLCanvasElement>('attention-big');
  big.onmousemove = (e) => {
    const rect = big.getBoundingClientRect();
    const t = Math.floor(((e.clientY - rect.top) / rect.height) * T);
    if (t >= 0 && t < T) onHover(t);
  };
  $('attention-tokens').replaceChildren(
    ...r.tokens.map((text, s) => {
      const chip = el('span', 'token-chip', visibleToken(text));
      chip.addEventListener('mouseenter', () => onHover(s));
      return chip;
    }),
  );
  shadeAttention(r, li, hi, query);
}

/** 3 · Where `query` looks: its row outlined in the enlarged map, the tokens shaded by its weights. */
export function shadeAttention(r: InspectResult, li: number, hi: number, query: number): void {
  const T = r.ids.length;
  const probs = r.attention?.[li]?.[hi];
  if (!probs) return;
  $('attention-detail-title').textContent =
    `Layer ${r.layers[li] + 1}, head ${r.heads[hi] + 1}: where “${visibleToken(r.tokens[query])}” looks`;
  drawAttention($<HTMLCanvasElement>('attention-big'), probs, T, Math.max(1, Math.floor(320 / T)), query);
  const chips = $('attention-tokens').querySelectorAll<HTMLElement>('.token-chip');
  chips.forEach((chip, s) => {
    const p = probs[query * T + s];
    chip.classList.toggle('query', s === query);
    chip.style.background = sequential(Math.sqrt(p));
    chip.style.color = p > 0.4 ? '#fff' : '';
    chip.title = `${percent(p)} of the attention of “${visibleToken(r.tokens[query])}”`;
    chip.dataset.probability = String(p);
  });
}

/** 4 · Residual stream: per layer and token, the norms of the attention and MLP updates (and the stream). */
export function renderResidual(r: InspectResult): void {
  const res = r.residual;
  if (!res) return;
  const T = r.ids.length;
  const L = res.attention.length / T;
  let max = 0;
  for (const a of [res.attention, res.mlp]) for (const v of a) max = Math.max(max, v);
  const table = el('table', 'residual-table');
  const head = el('tr');
  head.append(el('th', undefined, ''), ...r.tokens.map((t) => el('th', 'tok', visibleToken(t))));
  table.append(head);
  const row = (label: string, kind: string, layer: number, values: Float32Array, scale: number) => {
    const tr = el('tr', kind);
    tr.dataset.kind = kind;
    tr.dataset.layer = String(layer);
    tr.dataset.values = Array.from(values, (v) => v.toPrecision(5)).join(',');
    tr.append(el('th', undefined, label));
    for (const v of values) {
      const td = el('td', undefined, v.toPrecision(2));
      td.style.background = sequential(scale > 0 ? v / scale : 0);
      td.style.color = scale > 0 && v / scale > 0.6 ? '#fff' : '';
      td.title = v.toPrecision(5);
      tr.append(td);
    }
    table.append(tr);
  };
  let streamMax = 0;
  for (const v of res.stream) streamMax = Math.max(streamMax, v);
  row('embedding', 'stream', -1, res.stream.subarray(0, T), streamMax);
  for (let l = 0; l < L; l++) {
    row(`L${l + 1} attention +`, 'attention', l, res.attention.subarray(l * T, (l + 1) * T), max);
    row(`L${l + 1} MLP +`, 'mlp', l, res.mlp.subarray(l * T, (l + 1) * T), max);
    row(`after L${l + 1}`, 'stream', l, res.stream.subarray((l + 1) * T, (l + 2) * T), streamMax);
  }
  $('residual').replaceChildren(residualChart(res.attention, res.mlp, L, T), table);
}

/** Mean update norm per layer, attention beside MLP, as bars. */
function residualChart(attention: Float32Array, mlp: Float32Array, L: number, T: number): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const W = 560;
  const H = 120;
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('class', 'residual-chart');
  const mean = (a: Float32Array, l: number) => a.subarray(l * T, (l + 1) * T).reduce((s, v) => s + v, 0) / T;
  const means = Array.from({ length: L }, (_, l) => [mean(attention, l), mean(mlp, l)]);
  const top = Math.max(1e-9, ...means.flat());
  const slot = (W - 40) / L;
  const bar = Math.min(24, slot / 2.5);
  means.forEach(([a, m], l) => {
    [a, m].forEach((v, k) => {
      const rect = document.createElementNS(ns, 'rect');
      const h = (v / top) * (H - 34);
      rect.setAttribute('x', String(30 + l * slot + k * bar + slot / 2 - bar));
      rect.setAttribute('y', String(H - 18 - h));
      rect.setAttribute('width', String(bar - 2));
      rect.setAttribute('height', String(h));
      rect.setAttribute('class', k === 0 ? 'attn' : 'mlp');
      const title = document.createElementNS(ns, 'title');
      title.textContent = `layer ${l + 1} ${k === 0 ? 'attention' : 'MLP'}: mean update norm ${v.toPrecision(4)}`;
      rect.append(title);
      svg.append(rect);
    });
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('x', String(30 + l * slot + slot / 2));
    label.setAttribute('y', String(H - 4));
    label.setAttribute('text-anchor', 'middle');
    label.textContent = `L${l + 1}`;
    svg.append(label);
  });
  const legend = document.createElementNS(ns, 'text');
  legend.setAttribute('x', '30');
  legend.setAttribute('y', '12');
  legend.textContent = 'mean update norm per layer: ■ attention ■ MLP';
  svg.append(legend);
  return svg;
}

/** 5 · Logit lens: one row per layer, its top tokens for the last position. */
export function renderLens(lens: LensToken[][]): void {
  const table = $('lens');
  const k = Math.max(0, ...lens.map((row) => row.length));
  const head = el('tr');
  head.append(
    el('th', undefined, 'after'),
    ...Array.from({ length: k }, (_, i) => el('th', undefined, `#${i + 1}`)),
  );
  const rows = lens.map((tokens, l) => {
    const tr = el('tr');
    tr.dataset.layer = String(l);
    tr.dataset.topTokenId = String(tokens[0]?.tokenId ?? '');
    tr.dataset.topToken = tokens[0]?.text ?? '';
    tr.append(el('th', undefined, `layer ${l + 1}`));
    for (const t of tokens) {
      const td = el('td');
      td.dataset.tokenId = String(t.tokenId);
      td.style.background = sequential(Math.sqrt(t.probability));
      td.style.color = t.probability > 0.4 ? '#fff' : '';
      td.title = `token ${t.tokenId} · logit ${t.logit.toFixed(3)}`;
      td.append(
        el('span', 'lens-token', visibleToken(t.text)),
        el('small', undefined, percent(t.probability)),
      );
      tr.append(td);
    }
    return tr;
  });
  table.replaceChildren(head, ...rows);
}

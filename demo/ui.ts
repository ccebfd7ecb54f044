/** Rendering: messages, load progress, the next-token bars, prompt token chips, statistics. */
import type { GenerateSummary, LoadProgress } from '../src/index';
import type { RankedToken } from '../src/worker/client';
import { formatBytes } from './local-files';
import type { Notice } from './messages';

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Shows a notice; one with the same key is replaced. */
export function showNotice(notice: Notice): void {
  clearNotice(notice.key);
  const box = el('div', `message ${notice.level}`);
  box.dataset.key = notice.key;
  box.setAttribute('role', notice.level === 'error' ? 'alert' : 'status');
  const body = el('div', 'body');
  body.append(el('div', 'title', notice.title), el('div', 'detail', notice.detail));
  const actions = el('div', 'actions');
  if (notice.action) {
    const button = el('button', 'primary', notice.action.label);
    button.type = 'button';
    const run = notice.action.run;
    button.onclick = () => {
      box.remove();
      run();
    };
    actions.append(button);
  }
  const dismiss = el('button', 'dismiss', '×');
  dismiss.type = 'button';
  dismiss.title = 'Dismiss';
  dismiss.setAttribute('aria-label', 'Dismiss');
  dismiss.onclick = () => box.remove();
  actions.append(dismiss);
  box.append(body, actions);
  $('messages').append(box);
}

export function clearNotice(key: string): void {
  for (const node of $('messages').querySelectorAll<HTMLElement>('.message')) {
    if (node.dataset.key === key) node.remove();
  }
}

/** Load progress: one overall bar, one small bar per file. */
export class ProgressView {
  private files = new Map<string, HTMLLIElement>();

  reset(): void {
    this.files.clear();
    $('progress-files').replaceChildren();
    $('progress-bar').style.width = '0';
    $('progress-phase').textContent = 'Starting…';
    $('progress-text').textContent = '';
    $('progress').hidden = false;
  }

  update(p: LoadProgress): void {
    const overall = p.overallTotal ? p.overallLoaded / p.overallTotal : undefined;
    $('progress-phase').textContent = p.phase === 'upload' ? 'Copying weights to the GPU' : 'Reading files';
    $('progress-text').textContent = p.overallTotal
      ? `${formatBytes(p.overallLoaded)} / ${formatBytes(p.overallTotal)} · ${Math.floor(100 * (overall ?? 0))}%`
      : formatBytes(p.overallLoaded);
    $('progress-bar').style.width = `${100 * (overall ?? 0)}%`;
    if (p.phase === 'upload') return;
    let row = this.files.get(p.file);
    if (!row) {
      row = el('li');
      row.append(el('span', 'name', p.file), el('span', 'amount'), el('div', 'bar'));
      row.querySelector('.bar')!.append(el('div'));
      this.files.set(p.file, row);
      $('progress-files').append(row);
    }
    const fraction = p.total ? p.loaded / p.total : 0;
    row.querySelector('.amount')!.textContent = p.total
      ? `${formatBytes(p.loaded)} / ${formatBytes(p.total)} · ${Math.floor(100 * fraction)}%`
      : formatBytes(p.loaded);
    row.querySelector<HTMLElement>('.bar > div')!.style.width = `${100 * fraction}%`;
  }

  finish(ok: boolean): void {
    if (ok) {
      $('progress-phase').textContent = 'Loaded';
      $('progress-bar').style.width = '100%';
    } else $('progress').hidden = true;
  }
}

/** A token as the tokenizer splits it, with spaces and line breaks made visible. */
export function visibleToken(text: string): string {
  return text.replace(/[ ▁]/g, '␣').replace(/\n/g, '↵').replace(/\t/g, '⇥').replace(/\r/g, '␍') || '∅';
}

/** The ten bars; `chosen` marks the token that was picked. */
export function renderTopTokens(top: RankedToken[], chosen?: number): void {
  const list = $('top-tokens');
  const rows = top.map((t) => {
    const row = el('li');
    row.dataset.tokenId = String(t.tokenId);
    row.dataset.probability = String(t.probability);
    if (t.tokenId === chosen) row.classList.add('chosen');
    const token = el('span', 'token', visibleToken(t.text));
    token.title = `token ${t.tokenId} · logit ${t.logit.toFixed(3)}`;
    const bar = el('span', 'prob-bar');
    const fill = el('div');
    fill.style.width = `${Number.isFinite(t.probability) ? 100 * t.probability : 0}%`;
    bar.append(fill);
    row.append(token, bar, el('span', 'pct', formatPercent(t.probability)));
    return row;
  });
  list.replaceChildren(...rows);
}

export function markChosen(tokenId: number): void {
  for (const row of $('top-tokens').querySelectorAll<HTMLElement>('li')) {
    row.classList.toggle('chosen', row.dataset.tokenId === String(tokenId));
  }
}

function formatPercent(p: number): string {
  if (!Number.isFinite(p)) return '–';
  if (p === 0) return '0%';
  if (p < 0.001) return '<0.1%';
  return `${(100 * p).toFixed(1)}%`;
}

/** The prompt's tokens as chips. */
export function renderPromptTokens(pieces: string[], ids: number[]): void {
  $('prompt-tokens').replaceChildren(
    ...pieces.map((piece, i) => {
      const chip = el('span', /^<.*>$/.test(piece) ? 'special' : undefined, visibleToken(piece));
      chip.title = `token ${ids[i]}`;
      return chip;
    }),
  );
}

export function renderStats(s: GenerateSummary): void {
  const values: Record<string, string> = {
    promptTokens: String(s.promptTokens),
    generatedTokens: String(s.generatedTokens),
    timeToFirstTokenMs: `${s.timeToFirstTokenMs.toFixed(0)} ms`,
    prefillTokensPerSecond: `${s.prefillTokensPerSecond.toFixed(1)} tok/s`,
    decodeTokensPerSecond: `${s.decodeTokensPerSecond.toFixed(1)} tok/s`,
    finishReason: { stop: 'end of text', length: 'max tokens', abort: 'stopped' }[s.finishReason],
  };
  for (const dd of $('stats').querySelectorAll<HTMLElement>('dd')) {
    const key = dd.dataset.stat!;
    dd.textContent = values[key];
    dd.dataset.value = String(s[key as keyof GenerateSummary]);
  }
  $('stats').hidden = false;
}

/** Keeps the temperature slider (#temperature, 0..2) and its number field (#temperature-number) in step; `changed` redraws. */
export function wireTemperature(changed: () => void): void {
  const slider = $<HTMLInputElement>('temperature');
  const field = $<HTMLInputElement>('temperature-number');
  slider.addEventListener('input', () => {
    field.value = slider.value;
    changed();
  });
  field.addEventListener('input', () => {
    const T = Number(field.value);
    if (field.value.trim() !== '' && Number.isFinite(T)) slider.value = String(Math.min(2, Math.max(0, T)));
    changed();
  });
}

/**
 * The demo's "Cached models" panel: the models whose files this browser keeps in Cache Storage
 * (what the worker's cachedFetch stored), each with its size and an Evict button. It mounts
 * itself on `#cache-panel` (a <details>), and refreshes when opened, after every model load
 * (`#model-status` data-loads changes) and after the Clear cache button.
 */
import { type CachedModel, evictCachedModel, listCachedModels } from '../src/cache/api';
import { formatBytes } from './local-files';
import './cache-panel.css';

function row(m: CachedModel, refresh: () => Promise<void>): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset.model = m.model;
  const name = document.createElement('span');
  name.className = 'name';
  // A model served by this page: its path is enough.
  name.textContent = m.model.startsWith(`${location.origin}/`)
    ? m.model.slice(location.origin.length)
    : m.model;
  name.title =
    `${m.model}\n` +
    m.files
      .map((f) => `${f.file} (${formatBytes(f.size)}${f.verified ? ', sha256 verified' : ''})`)
      .join('\n');
  const size = document.createElement('span');
  size.className = 'size';
  size.textContent = `${m.files.length} file${m.files.length === 1 ? '' : 's'}, ${formatBytes(m.bytes)}`;
  const evict = document.createElement('button');
  evict.type = 'button';
  evict.textContent = 'Evict';
  evict.title = `Delete ${m.model}'s downloaded files from this browser`;
  evict.addEventListener('click', async () => {
    evict.disabled = true;
    await evictCachedModel(m.model);
    await refresh();
  });
  li.append(name, size, evict);
  return li;
}

export function mountCachePanel(panel: HTMLDetailsElement): { refresh(): Promise<void> } {
  const summary = panel.querySelector('summary')!;
  const list = document.createElement('ul');
  list.className = 'cache-list';
  const note = document.createElement('p');
  note.className = 'hint';
  panel.append(list, note);
  let running: Promise<void> | undefined;
  const render = async () => {
    const models = typeof caches === 'undefined' ? [] : await listCachedModels();
    const total = models.reduce((n, m) => n + m.bytes, 0);
    summary.textContent = `Cached models (${models.length}, ${formatBytes(total)})`;
    list.replaceChildren(...models.map((m) => row(m, refresh)));
    note.textContent = models.length
      ? 'Loaded again, these models need no download. Files are checked before use and fetched again when damaged.'
      : 'Nothing cached yet: models downloaded from a URL or the Hub are kept here.';
    panel.dataset.models = String(models.length);
  };
  const refresh = async () => {
    // One listing at a time; a refresh asked for during one runs after it.
    const before = running ?? Promise.resolve();
    const next = before.then(render, render).catch((e) => {
      note.textContent = `Could not list the cache: ${e}`;
    });
    running = next;
    await next;
  };
  panel.addEventListener('toggle', () => panel.open && void refresh());
  const status = document.getElementById('model-status');
  if (status) new MutationObserver(() => void refresh()).observe(status, { attributeFilter: ['data-loads'] });
  // Clear cache runs in the worker: list again once it had time to finish.
  document
    .getElementById('clear-cache')
    ?.addEventListener('click', () => setTimeout(() => void refresh(), 500));
  void refresh();
  return { refresh };
}

const panel = document.getElementById('cache-panel');
if (panel instanceof HTMLDetailsElement) mountCachePanel(panel);

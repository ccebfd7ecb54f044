/**
 * The embedded default model, shipped in the package's models/ folder (see its PROVENANCE.md),
 * so the library, the CLI and the demo work offline.
 */
export const DEFAULT_MODEL = 'tinystories-656k';

/** Node: the folder of the embedded default model (works from src/ in tests and from dist/). */
export function defaultModelPath(): string {
  const fromSource = import.meta.url.endsWith('/src/model/default-model.ts');
  const url = new URL(`${fromSource ? '../../' : '../'}models/${DEFAULT_MODEL}`, import.meta.url);
  return decodeURIComponent(url.pathname);
}

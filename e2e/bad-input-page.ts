/**
 * The loading part of the bad-input corpus (test/bad-input-cases.ts) and a seeded fuzz run in
 * the browser: each malformed model is handed to openCheckpoint as picked Files (read through
 * File.slice, as a user's files are) and must fail with its row's error class and a message
 * naming the file and the tensor or field. Publishes the outcome on `window.badInput`.
 */
import { openCheckpoint } from '../src/checkpoint/checkpoint';
import { BAD_INPUTS } from '../test/bad-input-cases';
import { fuzz } from '../test/fuzz-harness';

export interface BadInputPageResult {
  cases: number;
  /** '<case>: <what went wrong>' for every case that did not fail as its row says. */
  failures: string[];
  fuzzed: number;
  /** Fuzz cases that were neither opened nor a typed error. */
  fuzzFailures: string[];
  error?: string;
}

declare global {
  interface Window {
    badInput?: BadInputPageResult;
  }
}

const log = document.getElementById('log')!;

async function run(): Promise<BadInputPageResult> {
  const all = Object.values(BAD_INPUTS).flat();
  const failures: string[] = [];
  for (const c of all) {
    const picked = Object.fromEntries(
      Object.entries(c.files()).map(([name, v]) => [name, new File([v as BlobPart], name)]),
    );
    const e = await openCheckpoint(picked).then(
      () => undefined,
      (err: unknown) => err,
    );
    const message = (e as Error | undefined)?.message ?? '';
    if (e === undefined) failures.push(`${c.name}: it loaded`);
    else if (!(e instanceof c.error)) failures.push(`${c.name}: ${(e as Error).name}: ${message}`);
    else {
      const missing = c.names.filter((n) => !message.includes(n));
      if (missing.length) failures.push(`${c.name}: message '${message}' lacks ${missing.join(', ')}`);
    }
  }
  const summary = await fuzz(300, 5);
  const fuzzFailures = summary.failures.map((f) => `[${f.seed}] ${f.describe}: ${JSON.stringify(f.outcome)}`);
  return { cases: all.length, failures, fuzzed: summary.count, fuzzFailures };
}

run().then(
  (r) => {
    log.textContent = JSON.stringify(r, null, 2);
    window.badInput = r;
  },
  (e: unknown) => {
    log.textContent = String(e);
    window.badInput = {
      cases: 0,
      failures: [],
      fuzzed: 0,
      fuzzFailures: [],
      error: String((e as Error)?.stack ?? e),
    };
  },
);

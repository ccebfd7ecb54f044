/**
 * Fuzzes the loading paths: `npm run fuzz -- --count 10000 --seed 1` mutates small valid models
 * (safetensors and GGUF headers, config.json, tokenizer.json; see test/fuzz-harness.ts), opens each
 * with openCheckpoint and prints how many opened, how many failed with each typed error, and every
 * case that did anything else (an untyped error or a hang) with the mutation that caused it.
 * Exits 1 when there is any such case. `--verbose` prints each mutation before it runs.
 */
import { fuzz } from '../test/fuzz-harness';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer`);
  return v;
}

const count = arg('count', 2000);
const seed = arg('seed', 1);
const started = performance.now();
const verbose = process.argv.includes('--verbose');
const summary = await fuzz(count, seed, (i, m) => {
  if (verbose) process.stderr.write(`${i} [${m.seed}] ${m.describe}\n`);
  else if (i % 500 === 0 && i) process.stderr.write(`${i} / ${count}\n`);
});
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`fuzz: ${count} mutations from seed ${seed} in ${seconds} s`);
console.log(`  opened: ${summary.ok}`);
for (const [name, n] of Object.entries(summary.typed).sort()) console.log(`  ${name}: ${n}`);
console.log(`  untyped or hung: ${summary.failures.length}`);
for (const f of summary.failures.slice(0, 50)) {
  const o = f.outcome;
  const what = o.kind === 'untyped' ? `${o.error}: ${o.message}\n${o.stack ?? ''}` : o.kind;
  console.log(`\n[${f.seed}] ${f.describe}\n  ${what}`);
}
process.exit(summary.failures.length ? 1 : 0);

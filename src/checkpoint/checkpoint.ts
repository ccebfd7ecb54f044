/**
 * Opening a checkpoint: which format a source holds (a Hugging Face folder of config.json,
 * safetensors and tokenizer.json, or one GGUF file), its config, tokenizer and weights as stored.
 * Everything here runs on the CPU and reads only headers and small tensors; large tensors are read
 * later, tensor by tensor, by whoever consumes them.
 */
import { ModelFormatError, ModelLoadError, UnsupportedModelError } from '../errors';
import type { StorageFormat } from '../formats/formats';
import type { ModelSource } from '../types';
import type { ModelConfig } from './config';
import { readJSONFile } from './config-fields';
import { hfWeights, parseConfig } from './families';
import { readGgufHeader } from './gguf';
import { configFromGguf } from './gguf-config';
import { tokenizerFromGguf } from './gguf-tokenizer';
import { GPT2_GGUF, gpt2Weights } from './gpt2';
import { LLAMA_GGUF, llamaWeights } from './llama';
import { readSafetensors } from './safetensors';
import { type FileSource, openSource, type SourceOptions, unsafeFileName } from './source';
import { readF32, type StoredTensor } from './tensor';
import { Tokenizer } from './tokenizer';
import { checkFinite, type ModelWeights, Resolver, scanFinite } from './weights';

export const SAFETENSORS_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';

export interface Checkpoint {
  format: 'safetensors' | 'gguf';
  /** The source in words, and the GGUF file's name. */
  describe: string;
  config: ModelConfig;
  tokenizer: Tokenizer;
  weights: ModelWeights;
  /** How many tensors of each storage format the checkpoint holds. */
  tensorFormats: Partial<Record<StorageFormat, number>>;
  /** Bytes of all its tensors as stored. */
  tensorBytes: number;
}

const GGUF = /\.gguf$/i;

const isNode = () => typeof process !== 'undefined' && !!process.versions?.node;

/**
 * A GGUF named by the source itself: a path or URL ending in .gguf, 'owner/repo/file.gguf' (a repo's
 * file, unless in Node a local file of that path exists), or { repo, file }.
 */
async function splitGguf(source: ModelSource): Promise<{ dir: ModelSource; file: string } | undefined> {
  const hub = (repo: string, file: string, revision = 'main') => ({
    dir: `https://huggingface.co/${repo}/resolve/${encodeURIComponent(revision)}`,
    file,
  });
  if (typeof source === 'object' && source !== null && isRepoFile(source)) {
    const { repo, file, revision } = source as unknown as { repo: string; file: string; revision?: string };
    return hub(repo, file, revision);
  }
  if (typeof source !== 'string' || !GGUF.test(source)) return undefined;
  const repo = /^([\w.-]+\/[\w.-]+)\/(.+)$/.exec(source);
  if (repo && !source.includes('://') && !/^[./~]/.test(source)) {
    const local =
      isNode() &&
      (await import('node:fs/promises').then(({ stat }) =>
        stat(source).then(
          () => true,
          () => false,
        ),
      ));
    if (!local) return hub(repo[1], repo[2]);
  }
  const at = source.lastIndexOf('/');
  if (at < 0) return { dir: '.', file: source };
  return { dir: source.slice(0, at) || '/', file: source.slice(at + 1) };
}

function isRepoFile(o: object): boolean {
  const keys = Object.keys(o).sort().join();
  const r = o as Record<string, unknown>;
  return (
    (keys === 'file,repo' || keys === 'file,repo,revision') &&
    typeof r.repo === 'string' &&
    /^[\w.-]+\/[\w.-]+$/.test(r.repo) &&
    typeof r.file === 'string'
  );
}

/** Opens a model source of either format and reads its config, tokenizer and tensor layout. */
export async function openCheckpoint(source: ModelSource, opts: SourceOptions = {}): Promise<Checkpoint> {
  const named = await splitGguf(source);
  if (named) return openGguf(openSource(named.dir, opts), named.file);
  const files = openSource(source, opts);
  if (!(await files.has('config.json'))) {
    const ggufs = ((await files.list()) ?? []).filter((f) => GGUF.test(f));
    if (ggufs.length === 1) return openGguf(files, ggufs[0]);
    if (ggufs.length > 1) {
      throw new ModelLoadError(
        files.describe,
        `holds ${ggufs.length} GGUF files (${ggufs.join(', ')}) and no config.json: name the one to load`,
      );
    }
  }
  return openSafetensors(files);
}

async function openSafetensors(files: FileSource): Promise<Checkpoint> {
  const config = parseConfig(await readJSONFile(files, 'config.json'), 'config.json');
  const tokenizer = await Tokenizer.fromFiles(files, config);
  let names: string[];
  let weightMap: Record<string, string> | undefined;
  if (await files.has(SAFETENSORS_FILE)) {
    names = [SAFETENSORS_FILE];
  } else if (await files.has(SAFETENSORS_INDEX)) {
    weightMap = shardIndex(await readJSONFile(files, SAFETENSORS_INDEX));
    names = [...new Set(Object.values(weightMap))].sort();
  } else {
    throw new ModelLoadError(
      SAFETENSORS_FILE,
      `neither ${SAFETENSORS_FILE} nor ${SAFETENSORS_INDEX} found in ${files.describe}`,
    );
  }
  const tensors = new Map<string, StoredTensor>();
  const aliases: [string, string][] = [];
  for (const file of names) {
    const header = await readSafetensors(files, file);
    for (const t of header.tensors) {
      const prev = tensors.get(t.name);
      if (prev) throw new ModelFormatError(file, `also stored in ${prev.file}`, t.name);
      tensors.set(t.name, t);
    }
    aliases.push(...Object.entries(header.metadata));
  }
  if (weightMap) checkShards(weightMap, tensors);
  // `__metadata__` may name a tensor left out of the file as an alias of one stored (tied weights).
  for (const [alias, target] of aliases) {
    const t = tensors.get(target);
    if (t && !tensors.has(alias)) tensors.set(alias, t);
  }
  const r = new Resolver(tensors, names.join(', '));
  const weights = await hfWeights(r, config);
  await r.finish();
  await scanFinite(weights.wte);
  // An untied unembedding is scanned the same way (NaN there would make every logit NaN).
  if (weights.lmHead !== weights.wte && weights.lmHead.tensor !== weights.wte.tensor)
    await scanFinite(weights.lmHead);
  return { format: 'safetensors', describe: files.describe, config, tokenizer, weights, ...summary(tensors) };
}

async function openGguf(files: FileSource, file: string): Promise<Checkpoint> {
  const size = await files.size(file);
  const header = await readGgufHeader(file, (b, e) => files.readRange(file, b, e), size);
  const tensors = new Map<string, StoredTensor>();
  for (const t of header.tensors) {
    tensors.set(t.name, {
      name: t.name,
      file,
      format: t.format,
      shape: [...t.dims].reverse(),
      byteLength: t.byteLength,
      read: (begin = 0, end = t.byteLength) => files.readRange(file, t.offset + begin, t.offset + end),
    });
  }
  const config = configFromGguf(header.metadata, file);
  const freqs = tensors.get('rope_freqs.weight');
  if (freqs) {
    // Llama 3.1+ as llama.cpp converts it: per-pair divisors of the rotary frequencies.
    if (!config.rope)
      throw new ModelFormatError(file, 'has rotary frequency factors but no rotary embedding', freqs.name);
    const half = config.rope.rotaryDim / 2;
    if (freqs.shape.length !== 1 || freqs.shape[0] !== half) {
      throw new ModelFormatError(
        file,
        `expected shape [${half}], found [${freqs.shape.join(', ')}]`,
        freqs.name,
      );
    }
    config.rope.freqFactors = checkFinite(freqs, await readF32(freqs));
  }
  // GGUF leaves the unembedding out when it is the embedding.
  config.tiedEmbeddings = !tensors.has('output.weight');
  const tokenizer = tokenizerFromGguf(header.metadata, config, file);
  const r = new Resolver(tensors, file);
  let weights: ModelWeights;
  if (config.arch === 'gpt2') weights = await gpt2Weights(r, config, GPT2_GGUF);
  else if (config.arch === 'llama') weights = await llamaWeights(r, config, LLAMA_GGUF);
  else throw new UnsupportedModelError(`${file}: architecture ${config.modelType} has no GGUF tensor map`);
  await r.finish();
  await scanFinite(weights.wte);
  // An untied unembedding is scanned the same way (NaN there would make every logit NaN).
  if (weights.lmHead !== weights.wte && weights.lmHead.tensor !== weights.wte.tensor)
    await scanFinite(weights.lmHead);
  return {
    format: 'gguf',
    describe: `${files.describe}: ${file}`,
    config,
    tokenizer,
    weights,
    ...summary(tensors),
  };
}

/** model.safetensors.index.json's weight_map (tensor name -> shard file), every shard name checked before any is read. */
function shardIndex(index: unknown): Record<string, string> {
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof index !== 'object' || index === null || Array.isArray(index)) {
    throw new ModelFormatError(SAFETENSORS_INDEX, 'is not a JSON object');
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new ModelFormatError(SAFETENSORS_INDEX, "'weight_map' must map tensor names to file names");
  }
  const entries = Object.entries(map);
  if (entries.length === 0) throw new ModelFormatError(SAFETENSORS_INDEX, "'weight_map' is empty");
  for (const [tensor, file] of entries) {
    if (typeof file !== 'string') {
      throw new ModelFormatError(
        SAFETENSORS_INDEX,
        `'weight_map' entry ${JSON.stringify(tensor)} must be a file name, found ${JSON.stringify(file)}`,
        tensor,
      );
    }
    const why = unsafeFileName(file);
    if (why) {
      throw new ModelFormatError(
        SAFETENSORS_INDEX,
        `'weight_map' entry ${JSON.stringify(tensor)}: shard ${JSON.stringify(file)} ${why}; shards must be files inside the model's folder`,
        tensor,
      );
    }
  }
  return map as Record<string, string>;
}

/** Every tensor the index maps is in the shard it names, and every tensor of the shards is mapped there. */
function checkShards(weightMap: Record<string, string>, tensors: Map<string, StoredTensor>): void {
  for (const [name, file] of Object.entries(weightMap)) {
    const t = tensors.get(name);
    if (!t) {
      throw new ModelFormatError(
        SAFETENSORS_INDEX,
        `maps tensor '${name}' to ${file}, which does not hold it`,
        name,
      );
    }
    if (t.file !== file) {
      throw new ModelFormatError(
        SAFETENSORS_INDEX,
        `maps tensor '${name}' to ${file}, but it is stored in ${t.file}`,
        name,
      );
    }
  }
  for (const t of tensors.values()) {
    if (!Object.hasOwn(weightMap, t.name)) {
      throw new ModelFormatError(
        SAFETENSORS_INDEX,
        `does not map tensor '${t.name}', which ${t.file} holds`,
        t.name,
      );
    }
  }
}

function summary(tensors: Map<string, StoredTensor>) {
  const tensorFormats: Partial<Record<StorageFormat, number>> = {};
  let tensorBytes = 0;
  for (const t of new Set(tensors.values())) {
    tensorFormats[t.format] = (tensorFormats[t.format] ?? 0) + 1;
    tensorBytes += t.byteLength;
  }
  return { tensorFormats, tensorBytes };
}

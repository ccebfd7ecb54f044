import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../src/checkpoint/config';
import { type GgufValue, readGgufHeader } from '../src/checkpoint/gguf';
import { configFromGguf } from '../src/checkpoint/gguf-config';
import { chatTemplateFromGguf, tokenizerFromGguf } from '../src/checkpoint/gguf-tokenizer';
import { ModelFormatError } from '../src/errors';

/** A metadata map; keys given as undefined are left out. */
const meta = (o: Record<string, GgufValue | undefined>) =>
  new Map(Object.entries(o).filter((e): e is [string, GgufValue] => e[1] !== undefined));
const config = { eosTokenIds: [] } as unknown as ModelConfig;
const build = (o: Record<string, GgufValue | undefined>) => tokenizerFromGguf(meta(o), config, 'm.gguf');

const hex = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

/**
 * llama.cpp's SPM tokenizer written the slow, obvious way: repeatedly merge the adjacent pair whose
 * merged piece has the highest score (leftmost on ties); characters left without a piece become
 * byte tokens, or <unk> without them. `text` is already normalized ('▁' for spaces).
 */
function spmReference(text: string, tokens: string[], scores: number[], unk = 0): number[] {
  const id = new Map(tokens.map((t, i) => [t, i]));
  const syms = Array.from(text);
  for (;;) {
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const m = id.get(syms[i] + syms[i + 1]);
      if (m !== undefined && scores[m] > bestScore) {
        best = i;
        bestScore = scores[m];
      }
    }
    if (best < 0) break;
    syms.splice(best, 2, syms[best] + syms[best + 1]);
  }
  return syms.flatMap((s) => {
    if (id.has(s)) return [id.get(s)!];
    const bytes = [...new TextEncoder().encode(s)].map((b) => id.get(hex(b)));
    return bytes.every((b) => b !== undefined) ? (bytes as number[]) : [unk];
  });
}

// A tiny SentencePiece vocabulary: ids 0-2 special, 3-4 the bytes of 'é', then pieces.
const SPM_TOKENS = [
  '<unk>',
  '<s>',
  '</s>',
  '<0xC3>',
  '<0xA9>',
  '▁',
  'a',
  'b',
  'c',
  'ab',
  'bc',
  '▁a',
  '<tool>',
];
const SPM_TYPES = [2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 4];
const spm = (scores: Record<string, number>, extra: Record<string, GgufValue | undefined> = {}) =>
  build({
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': SPM_TOKENS,
    'tokenizer.ggml.scores': SPM_TOKENS.map((t) => scores[t] ?? 0),
    'tokenizer.ggml.token_type': SPM_TYPES,
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
    'tokenizer.ggml.unknown_token_id': 0,
    'tokenizer.ggml.padding_token_id': 0xffffffff,
    ...extra,
  });
const id = (t: string) => SPM_TOKENS.indexOf(t);

describe('tokenizerFromGguf (SentencePiece, tokenizer.ggml.model = llama)', () => {
  it('merges the highest-scoring pair first', () => {
    // "▁abc": with 'bc' best the result is ▁a + bc; with 'ab' best, ▁ + ab + c.
    const bcFirst = spm({ bc: -1, '▁a': -2, ab: -3 });
    const abFirst = spm({ ab: -1, '▁a': -2, bc: -3 });
    expect(bcFirst.encode('abc')).toEqual([1, id('▁a'), id('bc')]);
    expect(abFirst.encode('abc')).toEqual([1, id('▁'), id('ab'), id('c')]);
    for (const scores of [
      { bc: -1, '▁a': -2, ab: -3 },
      { ab: -1, '▁a': -2, bc: -3 },
      { '▁a': -1, bc: -2, ab: -3 },
    ]) {
      const tok = spm(scores);
      const s = SPM_TOKENS.map((t) => scores[t as keyof typeof scores] ?? 0);
      for (const text of ['abc', 'cab', 'a bca', 'abcabc', 'bcab  ab']) {
        expect(tok.encode(text).slice(1)).toEqual(
          spmReference(`▁${text.replaceAll(' ', '▁')}`, SPM_TOKENS, s),
        );
      }
    }
  });

  it('falls back to bytes, or <unk> when the bytes are not in the vocabulary', () => {
    const tok = spm({ ab: -1 });
    expect(tok.encode('é')).toEqual([1, id('▁'), id('<0xC3>'), id('<0xA9>')]);
    expect(tok.decode(tok.encode('abé'))).toBe('abé');
    expect(tok.encode('az')).toEqual([1, id('▁a'), 0]);
  });

  it('prepends the leading space, and strips it when decoding', () => {
    const tok = spm({ '▁a': -1 });
    expect(tok.encode('a')).toEqual([1, id('▁a')]);
    expect(tok.encode(' a')).toEqual([1, id('▁'), id('▁a')]);
    expect(tok.decode(tok.encode(' a b'))).toBe(' a b');
    expect(tok.tokenText(id('▁a'))).toBe(' a');
    const plain = spm({ '▁a': -1 }, { 'tokenizer.ggml.add_space_prefix': false });
    expect(plain.encode('a a')).toEqual([1, id('a'), id('▁a')]);
    expect(plain.decode(plain.encode('a a'))).toBe('a a');
  });

  it('adds BOS (not EOS) by default, as add_bos_token / add_eos_token say otherwise', () => {
    expect(spm({}).encode('b')).toEqual([1, id('▁'), id('b')]);
    expect(spm({}, { 'tokenizer.ggml.add_bos_token': false }).encode('b')).toEqual([id('▁'), id('b')]);
    expect(spm({}, { 'tokenizer.ggml.add_eos_token': true }).encode('b')).toEqual([1, id('▁'), id('b'), 2]);
    expect(spm({}).encode('')).toEqual([1]);
  });

  it('leaves control tokens out of decode, keeps user-defined tokens', () => {
    const tok = spm({ ab: -1 });
    expect(tok.decode([1, id('ab'), 2])).toBe('ab');
    // As in llama.cpp, text after a user-defined token starts a new word ('▁' prepended).
    const ids = tok.encode('a<tool>b');
    expect(ids).toEqual([1, id('▁a'), id('<tool>'), id('▁'), id('b')]);
    expect(tok.decode(ids)).toBe('a<tool> b');
    expect(tok.eosIds).toEqual([2]);
    expect(tok.vocabSize).toBe(SPM_TOKENS.length);
  });

  it('marks only the named ids special when token types are missing', () => {
    const tok = spm({ ab: -1 }, { 'tokenizer.ggml.token_type': undefined });
    expect(tok.decode([1, id('ab'), 2])).toBe('ab');
  });
});

// GPT-2's byte -> printable character table.
const BYTE_CHARS = (() => {
  const chars: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    chars.push(String.fromCharCode(printable ? b : 256 + extra++));
  }
  return chars;
})();
const BPE_MERGES = ['Ġ t', 'h e', 'Ġt he', '1 2', 'Ġ 1'];
const BPE_TOKENS = [...BYTE_CHARS, 'Ġt', 'he', 'Ġthe', '12', 'Ġ1', '<|endoftext|>', '<|im_end|>'];
const bpeId = (t: string) => BPE_TOKENS.indexOf(t);
const bpe = (extra: Record<string, GgufValue | undefined> = {}) =>
  build({
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.pre': 'gpt-2',
    'tokenizer.ggml.tokens': BPE_TOKENS,
    'tokenizer.ggml.token_type': BPE_TOKENS.map((t) => (t.startsWith('<|') ? 3 : 1)),
    'tokenizer.ggml.merges': BPE_MERGES,
    'tokenizer.ggml.bos_token_id': bpeId('<|endoftext|>'),
    'tokenizer.ggml.eos_token_id': bpeId('<|endoftext|>'),
    'tokenizer.ggml.eot_token_id': bpeId('<|im_end|>'),
    ...extra,
  });

describe('tokenizerFromGguf (byte-level BPE, tokenizer.ggml.model = gpt2)', () => {
  it('applies the merges in rank order and adds nothing', () => {
    const tok = bpe();
    expect(tok.encode('the the')).toEqual([bpeId('t'), bpeId('he'), bpeId('Ġthe')]);
    expect(tok.decode(tok.encode('the the'))).toBe('the the');
    expect(tok.tokenText(bpeId('Ġthe'))).toBe(' the');
  });

  it('round-trips any text through bytes', () => {
    const tok = bpe();
    for (const text of ['Emoji 😀 and 日本語\n\ttabs  ', 'x<|endoftext|>y']) {
      expect(tok.decode(tok.encode(text))).toBe(text.replace('<|endoftext|>', ''));
    }
  });

  it('splits text with the regexes of tokenizer.ggml.pre', () => {
    // GPT-2 keeps ' 12' together (and '1 2' outranks 'Ġ 1'); Qwen2 splits off the space and every digit.
    expect(bpe().encode(' 12')).toEqual([bpeId('Ġ'), bpeId('12')]);
    expect(bpe({ 'tokenizer.ggml.pre': 'qwen2' }).encode(' 12')).toEqual([
      bpeId('Ġ'),
      bpeId('1'),
      bpeId('2'),
    ]);
    expect(bpe({ 'tokenizer.ggml.pre': 'default' }).encode('the the')).toEqual(bpe().encode('the the'));
    expect(bpe({ 'tokenizer.ggml.pre': undefined }).encode('12')).toEqual([bpeId('12')]);
  });

  it('stops on EOS and EOT, and leaves control tokens out of decode', () => {
    const tok = bpe();
    expect(tok.eosIds.sort()).toEqual([bpeId('<|endoftext|>'), bpeId('<|im_end|>')].sort());
    expect(tok.decode([bpeId('he'), bpeId('<|im_end|>')])).toBe('he');
    expect(bpe({ 'tokenizer.ggml.add_bos_token': true }).encode('he')).toEqual([
      bpeId('<|endoftext|>'),
      bpeId('he'),
    ]);
  });
});

const bytes = readFileSync(new URL('../models/stories260K-gguf/stories260K.gguf', import.meta.url));
const stories = await readGgufHeader('stories260K.gguf', async (b, e) => bytes.subarray(b, e), bytes.length);

describe('tokenizerFromGguf (stories260K.gguf)', () => {
  const md = stories.metadata;
  const tok = tokenizerFromGguf(md, configFromGguf(md, 'stories260K.gguf'), 'stories260K.gguf');

  it('encodes with BOS as llama.cpp does', () => {
    expect(tok.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
    expect(tok.vocabSize).toBe(512);
    expect(tok.eosIds).toEqual([2]);
  });

  it('decodes, and streams, what it encodes', () => {
    const text = 'Once upon a time, there was a little girl named Lily.\nShe said: "Café? 42 😀!"  Bye.';
    const ids = tok.encode(text);
    expect(tok.decode(ids)).toBe(text);
    const stream = tok.createStream();
    expect(ids.map((i) => stream.push(i)).join('') + stream.flush()).toBe(text);
  });

  it('matches the score-ordered SentencePiece merging on random text', () => {
    const tokens = md.get('tokenizer.ggml.tokens') as string[];
    const scores = md.get('tokenizer.ggml.scores') as number[];
    const words = ['the', 'The', 'once', 'upon', 'time', 'Lily', 'dog', 'happy', 'ball', 'went', 'said'];
    const odd = ['1', '42', ',', '.', '!', '"', 'é', '😀', '日本', '\n', ' ', 'xq', 'zzz', "'s"];
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let trial = 0; trial < 300; trial++) {
      let text = '';
      for (let w = 0, n = 1 + rand(12); w < n; w++) {
        const piece = rand(3) === 0 ? odd[rand(odd.length)] : words[rand(words.length)];
        const chars = Array.from(piece);
        text +=
          (rand(4) === 0 ? '' : ' ') +
          chars.slice(0, rand(3) === 0 ? 1 + rand(chars.length) : undefined).join('');
      }
      const ids = tok.encode(text);
      expect(ids.slice(1), JSON.stringify(text)).toEqual(
        spmReference(`▁${text.replaceAll(' ', '▁')}`, tokens, scores),
      );
      expect(tok.decode(ids)).toBe(text);
    }
  });
});

describe('tokenizerFromGguf errors', () => {
  const base = {
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': SPM_TOKENS,
    'tokenizer.ggml.scores': SPM_TOKENS.map(() => 0),
  } as Record<string, GgufValue | undefined>;
  const fails = (o: Record<string, GgufValue | undefined>, key: RegExp) => {
    expect(() => build({ ...base, ...o })).toThrow(ModelFormatError);
    expect(() => build({ ...base, ...o })).toThrow(key);
  };

  it('names the key that is missing or ill-typed', () => {
    fails({ 'tokenizer.ggml.tokens': [1, 2] }, /m\.gguf.*'tokenizer\.ggml\.tokens'/);
    fails({ 'tokenizer.ggml.tokens': undefined }, /'tokenizer\.ggml\.tokens'/);
    fails(
      { 'tokenizer.ggml.tokens': ['a', 'b', 'a'], 'tokenizer.ggml.scores': [0, 0, 0] },
      /'tokenizer\.ggml\.tokens'.*"a" twice/,
    );
    fails({ 'tokenizer.ggml.scores': [0, 0] }, /'tokenizer\.ggml\.scores'.*13/);
    fails({ 'tokenizer.ggml.scores': undefined }, /'tokenizer\.ggml\.scores'/);
    fails({ 'tokenizer.ggml.token_type': ['a'] }, /'tokenizer\.ggml\.token_type'/);
    fails({ 'tokenizer.ggml.bos_token_id': 13 }, /'tokenizer\.ggml\.bos_token_id' is 13, out of range/);
    fails({ 'tokenizer.ggml.eos_token_id': 'x' }, /'tokenizer\.ggml\.eos_token_id'/);
    fails({ 'tokenizer.ggml.add_bos_token': 1 }, /'tokenizer\.ggml\.add_bos_token'/);
    fails({ 'tokenizer.ggml.model': 'bert' }, /'tokenizer\.ggml\.model'.*bert.*llama, gpt2/);
    fails({ 'tokenizer.ggml.model': 'gpt2' }, /'tokenizer\.ggml\.merges'/);
    fails(
      { 'tokenizer.ggml.model': 'gpt2', 'tokenizer.ggml.merges': ['ab'] },
      /'tokenizer\.ggml\.merges' entry 0/,
    );
    fails(
      { 'tokenizer.ggml.model': 'gpt2', 'tokenizer.ggml.merges': [], 'tokenizer.ggml.pre': 'martian' },
      /'tokenizer\.ggml\.pre'.*martian/,
    );
  });

  it('reads 0xFFFFFFFF and -1 as no token', () => {
    const tok = build({ ...base, 'tokenizer.ggml.padding_token_id': -1, 'tokenizer.ggml.bos_token_id': 1 });
    expect(tok.encode('')).toEqual([1]);
  });
});

describe('chatTemplateFromGguf', () => {
  it('returns tokenizer.chat_template when it is a string', () => {
    expect(chatTemplateFromGguf(meta({ 'tokenizer.chat_template': '{{ x }}' }))).toBe('{{ x }}');
    expect(chatTemplateFromGguf(meta({}))).toBeUndefined();
  });
});

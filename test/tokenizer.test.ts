import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/checkpoint/config';
import { openSource } from '../src/checkpoint/source';
import { Tokenizer } from '../src/checkpoint/tokenizer';
import { ModelFormatError } from '../src/errors';
import { randomModel } from '../src/model/testing';

const dir = (p: string) => fileURLToPath(new URL(p, import.meta.url));

async function tokenizerOf(source: string | Record<string, Uint8Array | string>) {
  const files = openSource(source);
  return Tokenizer.fromFiles(files, parseConfig(await files.readJSON('config.json')));
}

/** Streams ids one by one and checks the text equals decode() at every step boundary. */
function streamed(tok: Tokenizer, ids: number[]): string {
  const s = tok.createStream();
  let text = '';
  for (const id of ids) {
    const piece = s.push(id);
    expect(piece).not.toContain('\uFFFD');
    text += piece;
  }
  return text + s.flush();
}

const tiny = await tokenizerOf(dir('../models/tinystories-656k'));
const gpt2 = await tokenizerOf(dir('./fixtures/gpt2-tiny-random'));

describe('Tokenizer (tinystories-656k)', () => {
  const tok = tiny;

  it('adds BOS as the tokenizer config says', () => {
    expect(tok.encode('Once upon a time')).toEqual([1, 80, 147, 201, 282, 57]);
    expect(tok.vocabSize).toBe(2048);
    expect(tok.eosIds).toEqual([2]);
  });

  it('decodes without special tokens and streams the same text', () => {
    const text = 'Once upon a time, there was a little girl named Lily.\nShe liked "cats"!';
    const ids = tok.encode(text);
    expect(tok.decode(ids)).toBe(text);
    expect(streamed(tok, ids)).toBe(text);
    expect(streamed(tok, ids.slice(1))).toBe(tok.decode(ids.slice(1)));
  });

  it('shows token pieces readably', () => {
    expect(tok.tokenText(1)).toBe('<|start_story|>');
    expect(tok.tokenText(80)).toBe(' ');
    expect(tok.tokenText(201)).toBe('ce ');
  });
});

describe('Tokenizer (GPT-2 byte-level BPE)', () => {
  const tok = gpt2;
  const texts = [
    'Hello, world! The quick brown fox.',
    'Emoji 😀👍🏽 and a family 👨‍👩‍👧 here.',
    '日本語のテキストと中文文本, 한국어 too.',
    '  leading spaces\tand\nnewlines  ',
  ];

  it('adds nothing and knows its vocabulary and EOS', () => {
    expect(tok.encode('Once upon a time')).toEqual([7454, 2402, 257, 640]);
    expect(tok.vocabSize).toBe(50257);
    expect(tok.eosIds).toEqual([50256]);
  });

  it.each(texts)('round-trips %j, and streams it token by token exactly', (text) => {
    const ids = tok.encode(text);
    expect(tok.decode(ids)).toBe(text);
    expect(streamed(tok, ids)).toBe(text);
  });

  it('holds back a character whose bytes span tokens', () => {
    const ids = tok.encode('😀');
    expect(ids.length).toBeGreaterThan(1);
    const s = tok.createStream();
    expect(s.push(ids[0])).toBe('');
    let rest = '';
    for (const id of ids.slice(1)) rest += s.push(id);
    expect(rest + s.flush()).toBe('😀');
  });

  it('flush emits an incomplete tail', () => {
    const ids = tok.encode('😀');
    const s = tok.createStream();
    s.push(ids[0]);
    expect(s.flush()).toBe(tok.decode([ids[0]]));
  });

  it('shows token pieces readably', () => {
    expect(tok.tokenText(2402)).toBe(' upon');
    expect(tok.tokenText(tok.encode(' 😀')[0])).toMatch(/^ ?(<0x[0-9A-F]{2}>)+$/);
  });
});

describe('Tokenizer (random test model)', () => {
  it('has the model vocabulary size and round-trips', async () => {
    const tok = await tokenizerOf(
      randomModel('llama', { C: 64, NH: 4, NKV: 2, L: 1, V: 67, F: 172, ctx: 64 }, 1),
    );
    expect(tok.vocabSize).toBe(67);
    const ids = tok.encode('Hello there, 42!');
    expect(ids.every((i) => i > 0 && i < 67)).toBe(true);
    expect(tok.decode(ids)).toBe('Hello there, 42!');
    expect(streamed(tok, ids)).toBe('Hello there, 42!');
  });

  it('rejects a tokenizer.json without a model', async () => {
    const files = randomModel('gpt2', { C: 48, NH: 3, L: 1, V: 67, F: 172, ctx: 64 }, 1);
    await expect(tokenizerOf({ ...files, 'tokenizer.json': '{"version":"1.0"}' })).rejects.toThrow(
      ModelFormatError,
    );
    await expect(tokenizerOf({ ...files, 'tokenizer.json': '{"version":"1.0"}' })).rejects.toThrow(
      /tokenizer\.json/,
    );
  });
});

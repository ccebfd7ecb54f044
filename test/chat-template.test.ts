import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type ChatMessage,
  ChatTemplates,
  chatTemplateConfigFromGguf,
  chatTemplatesFromConfig,
} from '../src/checkpoint/chat-template';
import { parseConfig } from '../src/checkpoint/config';
import type { GgufValue } from '../src/checkpoint/gguf';
import { tokenizerFromGguf } from '../src/checkpoint/gguf-tokenizer';
import { openSource } from '../src/checkpoint/source';
import { Tokenizer } from '../src/checkpoint/tokenizer';
import { ChatTemplateError, errorFromJSON, InvalidOptionError, ModelFormatError } from '../src/errors';
import { charTokenizerJSON } from '../src/model/testing';

const dir = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const fixture = (name: string) =>
  JSON.parse(readFileSync(dir(`./fixtures/chat-templates/${name}`), 'utf8')) as Record<string, unknown>;

interface Render {
  template: string;
  conversation: string;
  add_generation_prompt: boolean;
  template_kwargs: Record<string, unknown>;
  special_tokens: Record<string, string>;
  rendered?: string;
  error?: string;
}
const reference = fixture('rendered.json') as {
  conversations: Record<string, ChatMessage[]>;
  renders: Render[];
  errors: string[];
};

const config = { eosTokenIds: [] } as unknown as ModelConfigLike;
type ModelConfigLike = Parameters<typeof Tokenizer.fromJSON>[2];

/** A character tokenizer with a model's tokenizer_config.json (its chat template and special tokens). */
const charTokenizer = (tokenizerConfig: Record<string, unknown>) =>
  Tokenizer.fromJSON(JSON.parse(charTokenizerJSON(80)), tokenizerConfig, config);

const MODELS = ['gemma-2b-it', 'Phi-3-mini-4k-instruct', 'Llama-3.2-3B-Instruct', 'Qwen2.5-3B-Instruct'];
const tokenizers = new Map(MODELS.map((m) => [m, charTokenizer(fixture(`${m}.tokenizer_config.json`))]));

const label = (r: Render) =>
  `${r.template} / ${r.conversation} / add_generation_prompt=${r.add_generation_prompt}`;

describe('chat templates against transformers (rendered.json)', () => {
  it('covers every template × conversation × add_generation_prompt', () => {
    const templates = new Set(reference.renders.map((r) => r.template));
    expect([...templates].sort()).toEqual([...MODELS].sort());
    const convs = Object.keys(reference.conversations).length;
    expect(reference.renders.length).toBe(templates.size * convs * 2);
  });

  it.each(reference.renders.filter((r) => r.rendered !== undefined).map((r) => [label(r), r] as const))(
    'renders %s exactly',
    (_, r) => {
      const tok = tokenizers.get(r.template)!;
      // The special tokens transformers passed are the ones the tokenizer reads from its config.
      expect(tok.chatTemplates.specialTokens).toEqual(r.special_tokens);
      const prompt = tok.applyChatTemplate(reference.conversations[r.conversation], {
        addGenerationPrompt: r.add_generation_prompt,
        variables: r.template_kwargs,
      });
      expect(prompt).toBe(r.rendered);
    },
  );

  it.each(reference.renders.filter((r) => r.error !== undefined).map((r) => [label(r), r] as const))(
    'refuses %s with the template’s message',
    (_, r) => {
      expect(reference.errors).toContain(
        `${label(r).replace(/=(true|false)$/, (_m, b) => (b === 'true' ? '=True' : '=False'))}: ${r.error}`,
      );
      const reason = r.error!.replace(/^TemplateError: /, '');
      const tok = tokenizers.get(r.template)!;
      let caught: unknown;
      try {
        tok.applyChatTemplate(reference.conversations[r.conversation], {
          addGenerationPrompt: r.add_generation_prompt,
        });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ChatTemplateError);
      const err = caught as ChatTemplateError;
      expect(err.reason).toBe(reason);
      expect(err.template).toBe('default');
      expect(err.code).toBe('CHAT_TEMPLATE');
      expect(err.message).toContain(reason);
      // It crosses a worker boundary with its class and fields.
      const back = errorFromJSON(JSON.parse(JSON.stringify(err))) as ChatTemplateError;
      expect(back).toBeInstanceOf(ChatTemplateError);
      expect([back.template, back.reason, back.message]).toEqual([err.template, err.reason, err.message]);
    },
  );

  it('has as many error cases as rendered.json lists', () => {
    expect(reference.renders.filter((r) => r.error !== undefined).length).toBe(reference.errors.length);
  });
});

describe('applyChatTemplate options', () => {
  const qwen = tokenizers.get('Qwen2.5-3B-Instruct')!;
  const hi: ChatMessage[] = [{ role: 'user', content: 'Hi' }];

  it('refuses empty messages, unknown roles and non-string content, naming the field', () => {
    const bad = (messages: unknown, field: string) => {
      let caught: unknown;
      try {
        qwen.applyChatTemplate(messages as ChatMessage[]);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(InvalidOptionError);
      expect((caught as InvalidOptionError).option).toBe(field);
    };
    bad([], 'messages');
    bad('hello', 'messages');
    bad(
      [
        { role: 'user', content: 'a' },
        { role: 'bot', content: 'b' },
      ],
      'messages[1].role',
    );
    bad([{ content: 'a' }], 'messages[0].role');
    bad([{ role: 'user', content: 3 }], 'messages[0].content');
    bad([{ role: 'user', content: null }], 'messages[0].content');
    bad([{ role: 'user', content: [{ type: 'text', text: 'a' }] }], 'messages[0].content');
    bad([null], 'messages[0]');
  });

  it('passes caller variables and refuses ones it sets itself', () => {
    const t = new ChatTemplates(
      new Map([['default', '{{ greeting }} {{ messages[0].content }}{{ bos_token }}']]),
      {
        bos_token: '<s>',
      },
    );
    expect(t.apply(hi, { variables: { greeting: 'Hello' } })).toBe('Hello Hi<s>');
    // A caller's variable replaces a special token, as transformers' template kwargs do.
    expect(t.apply(hi, { variables: { greeting: 'Yo', bos_token: '' } })).toBe('Yo Hi');
    expect(() => t.apply(hi, { variables: { messages: [] } })).toThrow(InvalidOptionError);
    expect(() => t.apply(hi, { addGenerationPrompt: 'yes' as never })).toThrow(InvalidOptionError);
  });

  it('passes a Qwen3-style enable_thinking', () => {
    const t = new ChatTemplates(
      new Map([
        [
          'default',
          '{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{% endif %}{% endif %}',
        ],
      ]),
    );
    const on = t.apply(hi, { addGenerationPrompt: true });
    const off = t.apply(hi, { addGenerationPrompt: true, variables: { enable_thinking: false } });
    expect(on).toBe('<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n');
    expect(off).toBe(`${on}<think>\n\n</think>\n\n`);
  });

  it('reads a list of named templates, the one named default unless asked', () => {
    const tok = charTokenizer({
      chat_template: [
        { name: 'default', template: 'D:{{ messages[0].content }}' },
        { name: 'tool_use', template: 'T:{{ messages[0].content }}' },
      ],
    });
    expect(tok.applyChatTemplate(hi)).toBe('D:Hi');
    expect(tok.applyChatTemplate(hi, { template: 'tool_use' })).toBe('T:Hi');
    expect(() => tok.applyChatTemplate(hi, { template: 'rag' })).toThrow(/'rag'.*'default', 'tool_use'/);
    expect([...tok.chatTemplates.templates.keys()]).toEqual(['default', 'tool_use']);
  });

  it('asks for a name when no template is the default', () => {
    const tok = charTokenizer({ chat_template: [{ name: 'tool_use', template: 'T' }] });
    expect(() => tok.applyChatTemplate(hi)).toThrow(ChatTemplateError);
    expect(tok.applyChatTemplate(hi, { template: 'tool_use' })).toBe('T');
  });

  it('refuses a chat_template of another shape as a model format error', () => {
    expect(() => chatTemplatesFromConfig({ chat_template: 3 })).toThrow(ModelFormatError);
    expect(() => chatTemplatesFromConfig({ chat_template: [{ name: 'x' }] })).toThrow(ModelFormatError);
    expect(chatTemplatesFromConfig({}).size).toBe(0);
  });

  it('throws ChatTemplateError without a template, unless asked for the plain fallback', () => {
    const tok = charTokenizer({});
    expect(() => tok.applyChatTemplate(hi)).toThrow(ChatTemplateError);
    expect(() => tok.applyChatTemplate(hi)).toThrow(/no chat template.*fallback: 'plain'/);
    const conv: ChatMessage[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ];
    expect(tok.applyChatTemplate(conv, { fallback: 'plain' })).toBe('system: Be brief.\nuser: Hi');
    expect(tok.applyChatTemplate(conv, { fallback: 'plain', addGenerationPrompt: true })).toBe(
      'system: Be brief.\nuser: Hi\nassistant:',
    );
    // A model with a template ignores the fallback.
    expect(qwen.applyChatTemplate(hi, { fallback: 'plain' })).toContain('<|im_start|>user\nHi<|im_end|>');
  });

  it('keeps a newline the template starts with', () => {
    const t = new ChatTemplates(new Map([['default', '\n{{ messages[0].content }}']]));
    expect(t.apply(hi)).toBe('\nHi');
  });

  it('renders a template passed by the caller', () => {
    expect(charTokenizer({}).applyChatTemplate(hi, { source: '[{{ messages[0].content }}]' })).toBe('[Hi]');
  });

  it('reports a template that does not parse or render as ChatTemplateError', () => {
    const t = new ChatTemplates(new Map([['default', '{% for m in messages %}']]));
    expect(() => t.apply(hi)).toThrow(ChatTemplateError);
    const u = new ChatTemplates(new Map([['default', '{{ messages[0].content.nope() }}']]));
    expect(() => u.apply(hi)).toThrow(ChatTemplateError);
  });
});

describe('GGUF chat templates', () => {
  const base: Record<string, GgufValue> = {
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': ['<unk>', '<s>', '</s>', '▁', 'H', 'i', '[', ']'],
    'tokenizer.ggml.scores': [0, 0, 0, 0, 0, 0, 0, 0],
    'tokenizer.ggml.token_type': [2, 3, 3, 1, 1, 1, 1, 1],
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
  };
  const template = '{{ bos_token }}{% for m in messages %}[{{ m.content }}]{{ eos_token }}{% endfor %}';

  it('reads tokenizer.chat_template and the vocabulary’s special tokens', () => {
    const meta = new Map(Object.entries({ ...base, 'tokenizer.chat_template': template }));
    const tok = tokenizerFromGguf(meta, config, 'm.gguf');
    expect(tok.chatTemplates.specialTokens).toEqual({
      bos_token: '<s>',
      eos_token: '</s>',
      unk_token: '<unk>',
    });
    const prompt = tok.applyChatTemplate([{ role: 'user', content: 'Hi' }]);
    expect(prompt).toBe('<s>[Hi]</s>');
    // The template wrote BOS; encoding without special tokens does not add a second.
    const ids = tok.encode(prompt, { addSpecialTokens: false });
    expect(ids[0]).toBe(1);
    expect(ids.filter((id) => id === 1)).toHaveLength(1);
    expect(tok.encode(prompt).filter((id) => id === 1)).toHaveLength(2);
  });

  it('reads tokenizer.chat_template.<name> as named templates', () => {
    const meta = new Map(
      Object.entries({ ...base, 'tokenizer.chat_template': template, 'tokenizer.chat_template.rag': 'R' }),
    );
    expect(chatTemplateConfigFromGguf(meta)).toEqual([
      { name: 'default', template },
      { name: 'rag', template: 'R' },
    ]);
    const tok = tokenizerFromGguf(meta, config, 'm.gguf');
    expect(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { template: 'rag' })).toBe('R');
    expect(chatTemplateConfigFromGguf(new Map(Object.entries(base)))).toBeUndefined();
  });

  it('starts the plain fallback with BOS when the tokenizer adds BOS', () => {
    const tok = tokenizerFromGguf(new Map(Object.entries(base)), config, 'm.gguf');
    const prompt = tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { fallback: 'plain' });
    expect(prompt).toBe('<s>user: Hi');
  });
});

describe('chat prompt tokenization (tinystories-656k)', () => {
  it('adds no second BOS to a prompt whose template wrote one', async () => {
    const files = openSource(dir('../models/tinystories-656k'));
    const tok = await Tokenizer.fromFiles(files, parseConfig(await files.readJSON('config.json')));
    const bos = 1;
    expect(tok.encode('Once upon a time')[0]).toBe(bos);
    const chat = new ChatTemplates(
      new Map([['default', '{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}']]),
      tok.chatTemplates.specialTokens,
    );
    const prompt = chat.apply([{ role: 'user', content: 'Once upon a time' }]);
    expect(prompt).toBe('<|start_story|>Once upon a time');
    const ids = tok.encode(prompt, { addSpecialTokens: false });
    // legacy: false SentencePiece: no '▁' is prepended after a special token, as in transformers.
    expect(ids).toEqual([bos, 147, 201, 282, 57]);
    expect(ids.filter((id) => id === bos)).toHaveLength(1);
    // encode(text) is unchanged: without the option, it adds BOS as before.
    expect(tok.encode(prompt).slice(0, 2)).toEqual([bos, bos]);
  });

  it('reads chat_template.jinja beside tokenizer_config.json', async () => {
    const files = openSource({
      'tokenizer.json': charTokenizerJSON(80),
      'tokenizer_config.json': JSON.stringify({ chat_template: 'old' }),
      'chat_template.jinja': 'new:{{ messages[0].content }}',
    });
    const tok = await Tokenizer.fromFiles(files, config);
    expect(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }])).toBe('new:Hi');
  });
});

/**
 * The demo's chat mode: a conversation with the loaded model through
 * `model.chat.completions.create` (run in the engine worker, streamed back), the prompt its chat
 * template renders (on request), Stop, and the statistics of each answer. A model without a chat
 * template keeps the mode disabled, and the page says why.
 */
import type { ChatCompletionChunk, ChatCompletionRequest, ChatMessage, GenerateOptions } from '../src/index';
import type { RemoteModel } from '../src/worker/client';
import { describeError, isAbort, type Notice } from './messages';
import { $, visibleToken } from './ui';

interface ChatHooks {
  /** The sampling fields of the side panel. */
  options(): GenerateOptions;
  notify(notice: Notice): void;
  clear(key: string): void;
}

/** One answer's figures, `data-value` of each statistic. */
interface ChatStats {
  promptTokens: number;
  reusedTokens: number;
  completionTokens: number;
  tokensPerSecond: number;
  finishReason: 'stop' | 'length' | 'abort';
}

export class ChatMode {
  private model?: RemoteModel;
  private messages: ChatMessage[] = [];
  private running?: AbortController;
  private promptSeq = 0;

  constructor(private readonly hooks: ChatHooks) {
    $('mode-completion').addEventListener('click', () => this.show(false));
    $('mode-chat').addEventListener('click', () => this.show(true));
    $('chat-send').addEventListener('click', () => void this.send());
    $('chat-stop').addEventListener('click', () => this.running?.abort());
    $('chat-clear').addEventListener('click', () => this.reset());
    $('chat-show-prompt').addEventListener('change', () => void this.renderPrompt());
    const input = $<HTMLTextAreaElement>('chat-input');
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        void this.send();
      }
    });
    input.addEventListener('input', () => {
      this.update();
      void this.renderPrompt();
    });
  }

  /** A new model (or none): chat is offered when it has a chat template. */
  setModel(model: RemoteModel | undefined): void {
    this.running?.abort();
    this.model = model;
    this.reset();
    const templates = model?.chatInfo.templates ?? [];
    const usable = templates.includes('default');
    const note = $('chat-unavailable');
    note.hidden = !model || usable;
    note.textContent = templates.length
      ? `This model has chat templates (${templates.join(', ')}) but none named default, so chat is unavailable here; completion works.`
      : 'This model has no chat template, so chat is unavailable; completion works.';
    $<HTMLButtonElement>('mode-chat').disabled = !usable;
    if (!usable) this.show(false);
    const stops = model?.chatInfo.stopTokens ?? [];
    $('chat-stop-tokens').textContent = stops.length
      ? `Answers end at ${stops.map((t) => visibleToken(t.text)).join(', ')} (the template's end-of-turn and end-of-text tokens).`
      : '';
    this.update();
  }

  private show(chat: boolean): void {
    $('mode-completion').setAttribute('aria-selected', String(!chat));
    $('mode-chat').setAttribute('aria-selected', String(chat));
    $('completion-view').hidden = chat;
    $('chat-view').hidden = !chat;
  }

  private update(): void {
    const text = $<HTMLTextAreaElement>('chat-input').value.trim();
    $<HTMLButtonElement>('chat-send').disabled = !this.model || !!this.running || text === '';
    $<HTMLButtonElement>('chat-stop').disabled = !this.running;
    $<HTMLButtonElement>('chat-clear').disabled = !!this.running;
  }

  private reset(): void {
    this.messages = [];
    const log = $('chat-log');
    log.replaceChildren(turnElement('placeholder', 'The conversation appears here.'));
    $('chat-stats').hidden = true;
    void this.renderPrompt();
    this.update();
  }

  /** The conversation and the message being written, as the template renders them for the model. */
  private async renderPrompt(): Promise<void> {
    const pre = $('chat-prompt');
    const shown = $<HTMLInputElement>('chat-show-prompt').checked;
    pre.hidden = !shown;
    const m = this.model;
    if (!shown || !m?.chatInfo.templates.includes('default')) return;
    const seq = ++this.promptSeq;
    const draft = $<HTMLTextAreaElement>('chat-input').value.trim();
    const messages: ChatMessage[] = draft
      ? [...this.messages, { role: 'user', content: draft }]
      : this.messages;
    try {
      const text = messages.length ? await m.applyChatTemplate(messages, { addGenerationPrompt: true }) : '';
      if (seq === this.promptSeq) pre.textContent = text || 'Write a message to see the prompt.';
    } catch (e) {
      if (seq === this.promptSeq)
        pre.textContent = `The template cannot render this conversation: ${(e as Error).message}`;
    }
  }

  private async send(): Promise<void> {
    const m = this.model;
    const input = $<HTMLTextAreaElement>('chat-input');
    const content = input.value.trim();
    if (!m || this.running || !content) return;
    const controller = new AbortController();
    this.running = controller;
    const log = $('chat-log');
    log.querySelector('.placeholder')?.remove();
    this.messages.push({ role: 'user', content });
    log.append(turnElement('user', content));
    const answer = turnElement('assistant', '');
    answer.classList.add('running');
    log.append(answer);
    input.value = '';
    this.update();
    void this.renderPrompt();
    this.hooks.clear('chat');
    $('chat-stats').hidden = true;
    for (const dd of $('chat-stats').querySelectorAll<HTMLElement>('dd')) delete dd.dataset.value;
    const o = this.hooks.options();
    const request: ChatCompletionRequest & { stream: true } = {
      messages: this.messages.slice(),
      stream: true,
      temperature: o.temperature,
      top_k: o.topK,
      top_p: o.topP,
      seed: o.seed,
      max_tokens: o.maxNewTokens,
      signal: controller.signal,
    };
    const body = answer.querySelector('.content')!;
    let text = '';
    let pieces = 0;
    let firstAt = 0;
    let last: ChatCompletionChunk | undefined;
    let failed = false;
    try {
      const stream = await m.chat.completions.create(request);
      for await (const chunk of stream) {
        last = chunk;
        const piece = chunk.choices[0]?.delta.content;
        if (!piece) continue;
        if (pieces++ === 0) firstAt = performance.now();
        text += piece;
        body.textContent = text;
        log.scrollTop = log.scrollHeight;
      }
      const usage = last?.usage;
      const seconds = (performance.now() - firstAt) / 1000;
      this.showStats({
        promptTokens: usage?.prompt_tokens ?? 0,
        reusedTokens: usage?.prompt_tokens_details.cached_tokens ?? 0,
        completionTokens: usage?.completion_tokens ?? 0,
        tokensPerSecond: pieces > 1 && seconds > 0 ? (usage?.completion_tokens ?? pieces) / seconds : 0,
        finishReason: last?.choices[0]?.finish_reason ?? 'stop',
      });
    } catch (e) {
      if (isAbort(e)) {
        answer.classList.add('stopped');
        const seconds = (performance.now() - firstAt) / 1000;
        this.showStats({
          promptTokens: 0,
          reusedTokens: 0,
          completionTokens: pieces,
          tokensPerSecond: pieces > 1 && seconds > 0 ? pieces / seconds : 0,
          finishReason: 'abort',
        });
      } else {
        failed = true;
        if (this.model === m)
          this.hooks.notify({ ...describeError(e, 'run', () => {}), key: 'chat', action: undefined });
      }
    } finally {
      answer.classList.remove('running');
      // A failed request leaves no turn behind: the message can be edited and sent again.
      if (failed) {
        this.messages.pop();
        answer.previousElementSibling?.remove();
        answer.remove();
        input.value = content;
      } else this.messages.push({ role: 'assistant', content: text });
      if (this.running === controller) this.running = undefined;
      this.update();
      void this.renderPrompt();
    }
  }

  private showStats(s: ChatStats): void {
    const shown: Record<keyof ChatStats, string> = {
      promptTokens: s.finishReason === 'abort' ? '–' : String(s.promptTokens),
      reusedTokens: s.finishReason === 'abort' ? '–' : String(s.reusedTokens),
      completionTokens: String(s.completionTokens),
      tokensPerSecond: `${s.tokensPerSecond.toFixed(1)} tok/s`,
      finishReason: { stop: 'end of turn', length: 'max tokens', abort: 'stopped' }[s.finishReason],
    };
    for (const dd of $('chat-stats').querySelectorAll<HTMLElement>('dd')) {
      const key = dd.dataset.chatStat as keyof ChatStats;
      dd.textContent = shown[key];
      dd.dataset.value = String(s[key]);
    }
    $('chat-stats').hidden = false;
  }
}

function turnElement(role: 'user' | 'assistant' | 'placeholder', text: string): HTMLLIElement {
  const li = document.createElement('li');
  li.className = `turn ${role}`;
  if (role !== 'placeholder') {
    const who = document.createElement('span');
    who.className = 'role';
    who.textContent = role === 'user' ? 'You' : 'Model';
    li.append(who);
  }
  const content = document.createElement('div');
  content.className = 'content';
  content.textContent = text;
  li.append(content);
  return li;
}

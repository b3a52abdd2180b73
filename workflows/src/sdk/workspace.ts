import type { ChatMessage } from './types.js';
import { messageTokens, textTokens } from './tokens.js';

/** How a run's working memory is kept within its token budget. */
export interface ContextPolicy {
  /** Token budget of the prompt sent each turn: pinned messages, summary and recent turns (default 8000). */
  windowTokens: number;
  /** When over budget: "summarise" older turns with a low-priority LLM turn, or "truncate" them (default "summarise"). */
  onOverflow: 'summarise' | 'truncate';
  /** Messages kept verbatim at the end when compacting (default 6). */
  keepRecentMessages: number;
  /** A message above this many tokens is stored by reference, with a preview in the window (default 2000, or a quarter of the window if smaller). */
  inlineLimitTokens: number;
  /** Scheduler priority of summarisation turns; below agents' own turns so they yield (default -10). */
  summaryPriority: number;
  /** Output tokens of a summary (default 256). */
  summaryMaxTokens: number;
  /** Agent turns per Temporal run before a snapshot and continue-as-new (default 100). */
  turnsPerRun: number;
  /** History events after which a run continues as new even before turnsPerRun (default 5000). */
  maxHistoryEvents: number;
}

export const defaultContextPolicy: Readonly<ContextPolicy> = {
  windowTokens: 8000,
  onOverflow: 'summarise',
  keepRecentMessages: 6,
  inlineLimitTokens: 2000,
  summaryPriority: -10,
  summaryMaxTokens: 256,
  turnsPerRun: 100,
  maxHistoryEvents: 5000,
};

/** Resolves a partial policy, rejecting values that would make the window unusable (the field is named). */
export function resolveContextPolicy(partial: Partial<ContextPolicy> = {}): ContextPolicy {
  const policy = { ...defaultContextPolicy, ...partial };
  // A small window gets a proportionally small inline limit unless one is given.
  if (partial.inlineLimitTokens === undefined) policy.inlineLimitTokens = Math.max(1, Math.min(policy.inlineLimitTokens, Math.floor(policy.windowTokens / 4)));
  const positive: (keyof ContextPolicy)[] = ['windowTokens', 'keepRecentMessages', 'inlineLimitTokens', 'summaryMaxTokens', 'turnsPerRun', 'maxHistoryEvents'];
  for (const key of positive) {
    const value = policy[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new TypeError(`context.${key}: expected a positive integer, got ${String(value)}`);
  }
  if (policy.onOverflow !== 'summarise' && policy.onOverflow !== 'truncate') {
    throw new TypeError(`context.onOverflow: expected "summarise" or "truncate", got ${String(policy.onOverflow)}`);
  }
  if (policy.inlineLimitTokens > policy.windowTokens) throw new TypeError('context.inlineLimitTokens: must not exceed context.windowTokens');
  return policy;
}

/** What the workspace needs from the kernel; the SDK passes activities, unit tests pass fakes. */
export interface WorkspaceIO {
  /** Stores text in the object store and returns its reference. */
  store(kind: 'archive' | 'blob', text: string): Promise<string>;
  load(ref: string): Promise<string>;
  /** Folds evicted messages into the running summary (a low-priority LLM turn). */
  summarise(previousSummary: string, transcript: string): Promise<string>;
}

/** The serialisable state of a workspace: what a snapshot carries over continue-as-new. */
export interface WorkspaceState {
  pinned: ChatMessage[];
  summary: string;
  messages: ChatMessage[];
  /** References of archived (evicted) message segments, oldest first. */
  archive: string[];
  /** References of messages stored out of the window because they were large. */
  blobs: string[];
  compactions: number;
  evictedMessages: number;
}

/** Counters for the operator's `state` query and the run's result. */
export interface WorkspaceStats {
  windowTokens: number;
  messages: number;
  compactions: number;
  evictedMessages: number;
  archived: number;
  storedByReference: number;
}

/**
 * A run's working memory: the messages the model sees, kept apart from the persistent graph memory. It counts
 * tokens with the o200k tokenizer, keeps the prompt within the policy's window by summarising or truncating the
 * oldest turns (archived by reference in the object store, never lost), and keeps large messages out of the
 * window and out of workflow history by reference.
 */
export class Workspace {
  readonly policy: ContextPolicy;
  readonly #io: WorkspaceIO;
  #state: WorkspaceState;
  #tokens: number[];
  /** Pinned messages, summary and reply priming; recomputed when the summary changes. */
  #fixedTokens: number | undefined;

  constructor(policy: ContextPolicy, io: WorkspaceIO, state: WorkspaceState) {
    this.policy = policy;
    this.#io = io;
    this.#state = structuredCloneState(state);
    this.#tokens = this.#state.messages.map(messageTokens);
  }

  static create(policy: ContextPolicy, io: WorkspaceIO, pinned: ChatMessage[]): Workspace {
    return new Workspace(policy, io, { pinned, summary: '', messages: [], archive: [], blobs: [], compactions: 0, evictedMessages: 0 });
  }

  /** The prompt for the next turn: pinned messages, the summary of older turns, then recent turns. */
  prompt(): ChatMessage[] {
    const summary: ChatMessage[] = this.#state.summary === '' ? [] : [{ role: 'system', content: `Summary of earlier turns:\n${this.#state.summary}` }];
    return [...this.#state.pinned, ...summary, ...this.#state.messages];
  }

  /** Tokens of `prompt()`, from per-message counts cached as messages arrive (the workflow counts every turn). */
  tokens(): number {
    this.#fixedTokens ??= this.#state.pinned.reduce((sum, m) => sum + messageTokens(m), 3) + this.#summaryTokens();
    return this.#tokens.reduce((sum, t) => sum + t, this.#fixedTokens);
  }

  #summaryTokens(): number {
    return this.#state.summary === '' ? 0 : messageTokens({ role: 'system', content: `Summary of earlier turns:\n${this.#state.summary}` });
  }

  /**
   * Adds a message. Content above the inline limit is stored by reference; the window keeps its head and a note
   * with the reference, so the model knows more exists and the author can `load` it.
   */
  async add(message: ChatMessage): Promise<void> {
    let kept = message;
    const tokens = textTokens(message.content);
    if (tokens > this.policy.inlineLimitTokens) {
      const ref = await this.#io.store('blob', message.content);
      this.#state.blobs.push(ref);
      kept = { ...message, content: `${headOf(message.content, this.policy.inlineLimitTokens / 2)}\n[truncated: ${tokens} tokens in full at ${ref}]` };
    }
    this.#state.messages.push(kept);
    this.#tokens.push(messageTokens(kept));
  }

  /** Loads something stored by reference (a large message or an archived segment). */
  load(ref: string): Promise<string> {
    return this.#io.load(ref);
  }

  /**
   * Brings the prompt within the window: the oldest turns beyond `keepRecentMessages` are archived and folded
   * into the summary (or dropped, with "truncate"). Never splits a tool call from its result. Returns whether it
   * compacted.
   */
  async fit(): Promise<boolean> {
    if (this.tokens() <= this.policy.windowTokens) return false;
    const messages = this.#state.messages;
    let cut = Math.max(0, messages.length - this.policy.keepRecentMessages);
    // Recent turns alone may be over budget: evict more, but always leave the newest message.
    const keptTokens = () => this.#tokens.slice(cut).reduce((a, b) => a + b, 0);
    const roomForRecent = Math.floor(this.policy.windowTokens * 0.6);
    while (cut < messages.length - 1 && keptTokens() > roomForRecent) cut += 1;
    // A tool result must follow the assistant message that asked for it; move the cut off tool messages.
    while (cut > 0 && cut < messages.length && messages[cut]!.role === 'tool') cut -= 1;
    if (cut === 0) return false;

    const evicted = messages.slice(0, cut);
    this.#state.archive.push(await this.#io.store('archive', JSON.stringify(evicted)));
    if (this.policy.onOverflow === 'summarise') {
      const transcript = headOf(evicted.map(renderForSummary).join('\n'), Math.floor(this.policy.windowTokens / 2));
      const summary = await this.#io.summarise(this.#state.summary, transcript);
      // The summary is itself bounded, so it can never crowd out the recent turns.
      this.#state.summary = headOf(summary, Math.floor(this.policy.windowTokens / 4));
    } else {
      this.#state.summary = `${this.#state.evictedMessages + evicted.length} earlier messages were dropped to fit the context window.`;
    }
    this.#fixedTokens = undefined;
    this.#state.messages = messages.slice(cut);
    this.#tokens = this.#tokens.slice(cut);
    this.#state.compactions += 1;
    this.#state.evictedMessages += evicted.length;
    return true;
  }

  stats(): WorkspaceStats {
    return {
      windowTokens: this.tokens(),
      messages: this.#state.messages.length,
      compactions: this.#state.compactions,
      evictedMessages: this.#state.evictedMessages,
      archived: this.#state.archive.length,
      storedByReference: this.#state.blobs.length,
    };
  }

  state(): WorkspaceState {
    return structuredCloneState(this.#state);
  }
}

function renderForSummary(message: ChatMessage): string {
  const calls = (message.toolCalls ?? []).map((c) => ` [calls ${c.name}(${c.arguments})]`).join('');
  return `${message.role}: ${message.content}${calls}`;
}

/** The beginning of a text, at most about `maxTokens` tokens (cut on characters, then checked with the tokenizer). */
export function headOf(text: string, maxTokens: number): string {
  if (textTokens(text) <= maxTokens) return text;
  let chars = Math.max(1, Math.floor(maxTokens * 3));
  let head = text.slice(0, chars);
  while (chars > 1 && textTokens(head) > maxTokens) {
    chars = Math.floor(chars * 0.8);
    head = text.slice(0, chars);
  }
  return head;
}

function structuredCloneState(state: WorkspaceState): WorkspaceState {
  // JSON round trip: the state must survive Temporal's JSON payload converter anyway, so this also proves it does.
  return JSON.parse(JSON.stringify(state)) as WorkspaceState;
}

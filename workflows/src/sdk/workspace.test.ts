import { describe, expect, it } from 'vitest';
import { Budget } from './budget.js';
import { promptTokens, textTokens } from './tokens.js';
import type { ChatMessage } from './types.js';
import { headOf, resolveContextPolicy, Workspace, type WorkspaceIO } from './workspace.js';

/** An in-memory object store and a summariser that records what it was asked. */
function fakeIO() {
  const stored = new Map<string, string>();
  const summaries: string[] = [];
  const io: WorkspaceIO = {
    store: async (kind, text) => {
      const ref = `obj://test/${kind}/${stored.size}`;
      stored.set(ref, text);
      return ref;
    },
    load: async (ref) => stored.get(ref) ?? '',
    summarise: async (previous, transcript) => {
      summaries.push(transcript);
      return `${previous} S${summaries.length}`.trim();
    },
  };
  return { io, stored, summaries };
}

const pinned: ChatMessage[] = [
  { role: 'system', content: 'You are a test agent.' },
  { role: 'user', content: 'The goal.' },
];
const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i % 50}`).join(' ');

describe('token counting', () => {
  it('counts with the o200k tokenizer, not characters', () => {
    expect(textTokens('hello world')).toBe(2);
    expect(textTokens('')).toBe(0);
    // 3 framing per message + role + content, plus 3 to prime the reply: OpenAI's recipe.
    expect(promptTokens([{ role: 'user', content: 'hello world' }])).toBe(3 + textTokens('user') + 2 + 3);
  });

  it('cuts a text to a token bound', () => {
    const text = words(500);
    expect(textTokens(headOf(text, 100))).toBeLessThanOrEqual(100);
    expect(headOf('short', 100)).toBe('short');
  });
});

describe('workspace', () => {
  it('keeps the prompt within the window by summarising the oldest turns, archiving them by reference', async () => {
    const { io, stored, summaries } = fakeIO();
    const ws = Workspace.create(resolveContextPolicy({ windowTokens: 400, keepRecentMessages: 4, inlineLimitTokens: 200 }), io, pinned);
    for (let i = 0; i < 40; i++) {
      await ws.add({ role: i % 2 === 0 ? 'user' : 'assistant', content: `turn ${i}: ${words(20)}` });
      await ws.fit();
      expect(ws.tokens()).toBeLessThanOrEqual(400);
      // The cached count is the real count of what is sent.
      expect(ws.tokens()).toBe(promptTokens(ws.prompt()));
    }
    const stats = ws.stats();
    expect(stats.compactions).toBeGreaterThan(0);
    expect(summaries.length).toBe(stats.compactions);
    // Pinned messages survive every compaction; the summary sits right after them.
    const prompt = ws.prompt();
    expect(prompt.slice(0, 2)).toEqual(pinned);
    expect(prompt[2]?.content).toMatch(/^Summary of earlier turns:\n.*S\d+/);
    expect(prompt.at(-1)?.content).toMatch(/^turn 39:/);
    // Nothing is lost: every evicted message is in an archived segment.
    const archived = [...stored.entries()].filter(([ref]) => ref.includes('/archive/')).flatMap(([, text]) => JSON.parse(text) as ChatMessage[]);
    expect(archived.length).toBe(stats.evictedMessages);
    expect(archived[0]?.content).toMatch(/^turn 0:/);
  });

  it('truncates instead of summarising when the policy says so', async () => {
    const { io, summaries } = fakeIO();
    const ws = Workspace.create(resolveContextPolicy({ windowTokens: 300, keepRecentMessages: 2, inlineLimitTokens: 100, onOverflow: 'truncate' }), io, pinned);
    for (let i = 0; i < 20; i++) await ws.add({ role: 'user', content: `turn ${i}: ${words(20)}` });
    expect(await ws.fit()).toBe(true);
    expect(summaries).toEqual([]);
    expect(ws.tokens()).toBeLessThanOrEqual(300);
    expect(ws.prompt()[2]?.content).toMatch(/earlier messages were dropped/);
  });

  it('never separates a tool result from the assistant message that called the tool', async () => {
    const { io } = fakeIO();
    const ws = Workspace.create(resolveContextPolicy({ windowTokens: 250, keepRecentMessages: 1, inlineLimitTokens: 100 }), io, pinned);
    for (let i = 0; i < 10; i++) {
      await ws.add({ role: 'assistant', content: `call ${i}`, toolCalls: [{ id: `c${i}`, name: 'echo', arguments: '{}' }] });
      await ws.add({ role: 'tool', toolCallId: `c${i}`, content: `result ${i} ${words(15)}` });
    }
    await ws.fit();
    const messages = ws.state().messages;
    expect(messages[0]?.role).toBe('assistant');
  });

  it('stores a large message by reference and keeps a preview that names it', async () => {
    const { io } = fakeIO();
    const ws = Workspace.create(resolveContextPolicy({ windowTokens: 1000, inlineLimitTokens: 100 }), io, pinned);
    const big = words(600);
    await ws.add({ role: 'tool', toolCallId: 'c1', content: big });
    const kept = ws.state().messages[0]!.content;
    expect(textTokens(kept)).toBeLessThan(100);
    const ref = /in full at (\S+)\]/.exec(kept)?.[1];
    expect(ref).toBeDefined();
    expect(await ws.load(ref!)).toBe(big);
    expect(ws.stats().storedByReference).toBe(1);
  });

  it('survives a snapshot round trip', async () => {
    const { io } = fakeIO();
    const policy = resolveContextPolicy({ windowTokens: 500 });
    const ws = Workspace.create(policy, io, pinned);
    await ws.add({ role: 'user', content: 'hello' });
    const again = new Workspace(policy, io, JSON.parse(JSON.stringify(ws.state())));
    expect(again.prompt()).toEqual(ws.prompt());
    expect(again.tokens()).toBe(ws.tokens());
  });

  it('rejects a policy that cannot work, naming the field', () => {
    expect(() => resolveContextPolicy({ windowTokens: 0 })).toThrow(/context.windowTokens/);
    expect(() => resolveContextPolicy({ onOverflow: 'forget' as never })).toThrow(/context.onOverflow/);
    expect(() => resolveContextPolicy({ windowTokens: 100, inlineLimitTokens: 200 })).toThrow(/context.inlineLimitTokens/);
  });
});

describe('budget', () => {
  it('refuses the turn after the token budget is spent and cuts the last turn to fit', () => {
    const budget = new Budget({ maxTotalTokens: 100 });
    expect(budget.check().ok).toBe(true);
    budget.chargeTurn(60, 20);
    expect(budget.outputAllowance(256)).toBe(20);
    budget.chargeTurn(15, 5);
    expect(budget.check()).toEqual({ ok: false, limit: 'maxTotalTokens', reason: 'token budget spent: 100 of 100' });
  });

  it('counts turns and tool calls separately; summaries spend tokens but not turns', () => {
    const budget = new Budget({ maxTurns: 1, maxToolCalls: 1 });
    budget.chargeTurn(1, 1, 'summary');
    expect(budget.check('turn').ok).toBe(true);
    budget.chargeTurn(1, 1);
    expect(budget.check('turn').ok).toBe(false);
    expect(budget.check('tool').ok).toBe(true);
    budget.chargeToolCall();
    expect(budget.check('tool').ok).toBe(false);
    expect(budget.usage).toEqual({ turns: 1, toolCalls: 1, inputTokens: 2, outputTokens: 2, summaryTurns: 1 });
  });

  it('rejects a negative or fractional limit, naming it', () => {
    expect(() => new Budget({ maxTurns: -1 })).toThrow(/budget.maxTurns/);
    expect(() => new Budget({ maxTotalTokens: 1.5 })).toThrow(/budget.maxTotalTokens/);
  });
});

import bpeRanks from 'gpt-tokenizer/bpeRanks/o200k_base';
import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import type { ChatMessage } from './types.js';

// gpt-tokenizer is pure JavaScript with its ranks bundled (no file or network access), so it is deterministic and
// safe inside Temporal's workflow sandbox: the context manager counts tokens where it decides, without an activity.
//
// The encoder is built on first use, not at import: building it indexes ~200k ranks (tens of MB, a fraction of a
// second), and every workflow in the bundle imports this module, including ones that never count a token. The
// ranks themselves are a plain array the worker preloads once and shares (workflows/src/worker.ts); the encoder
// cannot be shared that way, because Temporal freezes preloaded modules and the encoder writes to its own regex.
let encoding: GptEncoding | undefined;
const o200k = (): GptEncoding => (encoding ??= GptEncoding.getEncodingApi('o200k_base', () => bpeRanks));

/** Framing tokens OpenAI adds per message (role and separators), per its published counting recipe. */
const perMessageTokens = 3;

/** Tokens of one text in the o200k encoding (GPT-4o family, and what the model emulator counts with). */
export function textTokens(text: string): number {
  return text === '' ? 0 : o200k().countTokens(text);
}

/** Tokens one chat message costs in a prompt: its content, its tool calls as JSON, and the framing. */
export function messageTokens(message: ChatMessage): number {
  let tokens = perMessageTokens + textTokens(message.role) + textTokens(message.content);
  for (const call of message.toolCalls ?? []) tokens += textTokens(call.name) + textTokens(call.arguments);
  return tokens;
}

/** Tokens of a whole prompt, plus the 3 that prime the reply. */
export function promptTokens(messages: readonly ChatMessage[]): number {
  return messages.reduce((sum, m) => sum + messageTokens(m), 3);
}

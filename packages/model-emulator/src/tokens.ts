import { countTokens, decodeGenerator, encode } from 'gpt-tokenizer/encoding/o200k_base';

/** Token counting and splitting with the o200k_base encoding (the one GPT-4o and later use). */

export { countTokens, encode };

/**
 * Splits a token list into the text each token completes, one entry per token. Tokens that end inside a
 * multi-byte character map to '' and the character appears with the token that completes it.
 *
 * Why not decode([token]) per token: gpt-tokenizer decodes through one shared streaming TextDecoder, so decoding
 * a lone partial character leaves bytes behind that corrupt the next decode anywhere in the process. Decoding the
 * whole (valid) list once and noting which token each piece arrived with keeps that decoder clean.
 */
export function tokenPieces(tokens: readonly number[]): string[] {
  const pieces = tokens.map(() => '');
  let current = 0;
  function* track(): Generator<number> {
    for (let i = 0; i < tokens.length; i++) {
      current = i;
      yield tokens[i]!;
    }
  }
  for (const piece of decodeGenerator(track())) pieces[current] += piece;
  return pieces;
}

/** Splits text into its per-token pieces; joining them gives the text back. */
export function textPieces(text: string): string[] {
  return tokenPieces(encode(text));
}

/** The parts of a chat request that count towards prompt tokens. */
export interface PromptLike {
  messages: ReadonlyArray<{ role: string; content?: unknown; name?: string; tool_calls?: unknown; tool_call_id?: string }>;
  tools?: unknown;
}

/** Framing tokens OpenAI adds around each message (<|start|>role ... <|end|>), per its token-counting recipe. */
const TOKENS_PER_MESSAGE = 3;
/** Every reply is primed with <|start|>assistant<|message|>. */
const REPLY_PRIMING_TOKENS = 3;

/**
 * Prompt tokens of a chat request, following OpenAI's published counting recipe (framing per message, role,
 * content, name), extended to tool calls and tool definitions by counting their JSON. Exact for plain messages,
 * a close approximation for tools, whose real rendering is not public.
 */
export function countPromptTokens(request: PromptLike): number {
  let total = REPLY_PRIMING_TOKENS;
  for (const message of request.messages) {
    total += TOKENS_PER_MESSAGE + countTokens(message.role) + countTokens(contentText(message.content));
    if (message.name) total += countTokens(message.name) + 1;
    if (message.tool_calls) total += countTokens(JSON.stringify(message.tool_calls));
    if (message.tool_call_id) total += countTokens(message.tool_call_id);
  }
  if (Array.isArray(request.tools) && request.tools.length > 0) total += countTokens(JSON.stringify(request.tools));
  return total;
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => (typeof part === 'object' && part !== null && 'text' in part && typeof part.text === 'string' ? part.text : ''))
    .join('');
}

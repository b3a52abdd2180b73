import { describe, expect, it } from 'vitest';
import { countPromptTokens, encode, textPieces, tokenPieces } from './tokens.js';
import { decode } from 'gpt-tokenizer/encoding/o200k_base';

describe('tokenPieces', () => {
  it('gives one piece per token that joins back to the text, multi-byte characters included', () => {
    for (const text of ['plain words here', 'héllo 世界 🎉', '𝔘𝔫𝔦 🧑‍🤝‍🧑 𓀀', '{"a": [1, 2]}']) {
      const tokens = encode(text);
      const pieces = tokenPieces(tokens);
      expect(pieces).toHaveLength(tokens.length);
      expect(pieces.join('')).toBe(text);
    }
  });

  it('leaves the shared decoder clean for later decodes', () => {
    textPieces('𓀀𓀁 partial-prone text');
    expect(decode(encode('clean afterwards'))).toBe('clean afterwards');
  });
});

describe('countPromptTokens', () => {
  it('counts framing, role and content per message, plus reply priming', () => {
    const content = 'Hello there, how are you?';
    // 3 priming + (3 framing + role 'user' + content)
    expect(countPromptTokens({ messages: [{ role: 'user', content }] })).toBe(3 + 3 + encode('user').length + encode(content).length);
  });

  it('grows with tool definitions', () => {
    const base = { messages: [{ role: 'user', content: 'hi' }] };
    const tools = [{ type: 'function', function: { name: 'search', parameters: { type: 'object' } } }];
    expect(countPromptTokens({ ...base, tools })).toBeGreaterThan(countPromptTokens(base));
  });
});

import type { ChatCompletionRequest, ChatMessage, FunctionTool, ScriptedToolCall } from './schemas.js';

/** What the emulated model decided to say, before it is tokenised and paced. */
export type Reply = { kind: 'text'; content: string } | { kind: 'tool_calls'; calls: ScriptedToolCall[] };

/** Longest excerpt of the input the default text reply quotes. */
export const ANSWER_EXCERPT_CHARS = 200;

/** The text of a message's content, whatever its shape (string, parts, null). */
export function messageText(message: ChatMessage): string {
  const content = message.content;
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part) => (typeof part.text === 'string' ? part.text : ''))
    .filter((text) => text !== '')
    .join('\n');
}

/** The last user message's text, or '' when there is none. */
export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!;
    if (message.role === 'user') return messageText(message);
  }
  return '';
}

/** Whether a tool result arrived after the last user message: the agent loop is waiting for a final answer. */
export function hasToolResultSinceLastUser(messages: readonly ChatMessage[]): boolean {
  for (let i = messages.length - 1; i >= 0; i--) {
    const role = messages[i]!.role;
    if (role === 'tool' || role === 'function') return true;
    if (role === 'user') return false;
  }
  return false;
}

/** The tool a request forces, the first offered when a call is otherwise due, or undefined for a text reply. */
export function chooseTool(request: ChatCompletionRequest): FunctionTool | undefined {
  const tools = request.tools ?? [];
  const choice = request.tool_choice ?? 'auto';
  if (tools.length === 0 || choice === 'none') return undefined;
  if (typeof choice === 'object') return tools.find((t) => t.function.name === choice.function.name);
  if (choice === 'required') return tools[0];
  return hasToolResultSinceLastUser(request.messages) ? undefined : tools[0];
}

/**
 * The deterministic default reply: one call to the chosen tool with arguments synthesised from its schema, or a
 * text that quotes what the model was last given (the newest tool result if the loop is answering one, else the
 * last user message), so demo agents visibly make progress and finish.
 */
export function defaultReply(request: ChatCompletionRequest): Reply {
  const userText = lastUserText(request.messages);
  const tool = chooseTool(request);
  if (tool) {
    const args = synthesizeFromSchema(tool.function.parameters ?? { type: 'object' }, userText);
    return { kind: 'tool_calls', calls: [{ name: tool.function.name, arguments: args as Record<string, unknown> }] };
  }
  const answer = `Answer: ${latestInput(request.messages).slice(0, ANSWER_EXCERPT_CHARS)}`;
  const format = request.response_format;
  if (format?.type === 'json_schema' && format.json_schema.schema) {
    return { kind: 'text', content: JSON.stringify(synthesizeFromSchema(format.json_schema.schema, answer)) };
  }
  if (format?.type === 'json_object') return { kind: 'text', content: JSON.stringify({ answer }) };
  return { kind: 'text', content: answer };
}

function latestInput(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!;
    if (message.role === 'tool' || message.role === 'function' || message.role === 'user') return messageText(message);
  }
  return '';
}

type Schema = Record<string, unknown>;

const isSchema = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A value that satisfies a JSON schema, built deterministically: strings get `text`, numbers 1 (clamped into
 * minimum/maximum), booleans false, enums their first value, objects their required properties, arrays
 * `minItems` items. Only the commonly used keywords are understood; anything else yields null.
 */
export function synthesizeFromSchema(schema: unknown, text: string, depth = 0): unknown {
  if (!isSchema(schema) || depth > 16) return null;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const branches = schema[key];
    if (Array.isArray(branches) && branches.length > 0) {
      const branch = branches.find((b) => !(isSchema(b) && b.type === 'null')) ?? branches[0];
      return synthesizeFromSchema(branch, text, depth + 1);
    }
  }
  const type = Array.isArray(schema.type) ? (schema.type.find((t) => t !== 'null') ?? 'null') : schema.type;
  switch (type ?? (isSchema(schema.properties) ? 'object' : undefined)) {
    case 'string':
      return text;
    case 'integer':
    case 'number':
      return clampNumber(schema, type === 'integer');
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'array': {
      const count = typeof schema.minItems === 'number' ? schema.minItems : 0;
      return Array.from({ length: count }, () => synthesizeFromSchema(schema.items, text, depth + 1));
    }
    case 'object': {
      const properties = isSchema(schema.properties) ? schema.properties : {};
      const required = Array.isArray(schema.required) ? schema.required.filter((k) => typeof k === 'string') : [];
      const out: Record<string, unknown> = {};
      for (const key of required) out[key] = synthesizeFromSchema(properties[key], text, depth + 1);
      return out;
    }
    default:
      return null;
  }
}

function clampNumber(schema: Schema, integer: boolean): number {
  let value = 1;
  if (typeof schema.minimum === 'number') value = Math.max(value, schema.minimum);
  if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) value = schema.exclusiveMinimum + 1;
  if (typeof schema.maximum === 'number') value = Math.min(value, schema.maximum);
  if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) value = schema.exclusiveMaximum - 1;
  return integer ? Math.ceil(value) : value;
}

const FILLER_WORDS = [
  'the', 'agent', 'plan', 'step', 'result', 'data', 'tool', 'value', 'check', 'next', 'so', 'and', 'then', 'with',
  'this', 'shows', 'that', 'we', 'can', 'use', 'it', 'for', 'task', 'output', 'context', 'memory', 'state', 'graph',
];

/**
 * Stretches or cuts a text to exactly `targetTokens` tokens, padding with seeded filler words, to emulate the
 * varied output lengths of a real model without changing how the reply starts.
 */
export function shapeToTokens(text: string, targetTokens: number, random: () => number, pieces: (text: string) => string[]): string {
  let shaped = text;
  let current = pieces(shaped);
  while (current.length < targetTokens) {
    const words: string[] = [];
    for (let i = 0; i < targetTokens - current.length; i++) words.push(FILLER_WORDS[Math.floor(random() * FILLER_WORDS.length)]!);
    shaped = `${shaped}${shaped === '' ? '' : ' '}${words.join(' ')}`;
    current = pieces(shaped);
  }
  return current.slice(0, targetTokens).join('');
}

import { z } from 'zod';

/**
 * Request schemas for the emulated endpoints. Objects are loose: real clients send many parameters the emulator
 * does not act on (temperature, seed, metadata...), and rejecting them would make it stricter than OpenAI.
 * Only the fields the emulator reads, plus a few common numeric ones, are validated.
 */

const contentPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const content = z.union([z.string(), z.array(contentPart)]);

const toolCall = z.looseObject({
  id: z.string(),
  type: z.literal('function'),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

const message = z.discriminatedUnion('role', [
  z.looseObject({ role: z.literal('system'), content, name: z.string().optional() }),
  z.looseObject({ role: z.literal('developer'), content, name: z.string().optional() }),
  z.looseObject({ role: z.literal('user'), content, name: z.string().optional() }),
  z.looseObject({
    role: z.literal('assistant'),
    content: content.nullish(),
    name: z.string().optional(),
    tool_calls: z.array(toolCall).nullish(),
  }),
  z.looseObject({ role: z.literal('tool'), content, tool_call_id: z.string() }),
  z.looseObject({ role: z.literal('function'), content: z.string().nullable(), name: z.string() }),
]);

export type ChatMessage = z.infer<typeof message>;

const functionTool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

export type FunctionTool = z.infer<typeof functionTool>;

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
]);

export type ToolChoice = z.infer<typeof toolChoice>;

const responseFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({ name: z.string(), schema: z.record(z.string(), z.unknown()).optional() }),
  }),
]);

const positiveInt = z.number().int().positive();

export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  tools: z.array(functionTool).nullish(),
  tool_choice: toolChoice.nullish(),
  max_tokens: positiveInt.nullish(),
  max_completion_tokens: positiveInt.nullish(),
  n: z.number().int().nullish(),
  user: z.string().optional(),
  response_format: responseFormat.nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
});

export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

export const embeddingRequestSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([
    z.string().min(1),
    z.array(z.string().min(1)).min(1),
    z.array(z.number().int().nonnegative()).min(1),
    z.array(z.array(z.number().int().nonnegative()).min(1)).min(1),
  ]),
  dimensions: z.number().int().min(1).max(4096).optional(),
  encoding_format: z.enum(['float', 'base64']).optional(),
  user: z.string().optional(),
});

export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>;

/** One scripted tool call. */
export interface ScriptedToolCall {
  /** Function name, sent as-is (it need not be one of the offered tools, to emulate model mistakes). */
  name: string;
  /** Arguments: an object is JSON-encoded; a string is sent verbatim (so invalid JSON can be emulated). */
  arguments: string | Record<string, unknown>;
}

/** Fields every scripted response may carry. */
export interface ScriptedTiming {
  /**
   * Replaces the sampled first-token latency for this response (milliseconds of emulated time, so divided by
   * `timeScale` like every other duration). For errors it is the delay before the error is sent. Default: sampled.
   */
  delayMs?: number;
}

/** One response a script rule yields: text, tool calls, or an injected fault. */
export type ScriptedResponse =
  | ({ content: string } & ScriptedTiming)
  | ({ toolCalls: ScriptedToolCall[] } & ScriptedTiming)
  | ({ error: { status: number; message: string; type?: string; code?: string } } & ScriptedTiming);

/** A rule: which requests it answers and what it answers them with. */
export interface ScriptRule {
  /** Only requests for this model. Default: any model. */
  model?: string;
  /** Only requests whose `user` field equals this. Default: any. */
  user?: string;
  /** Only requests whose last user message contains this substring (case-sensitive). Default: any. */
  contains?: string;
  /** Responses given to successive matching requests, in order. */
  responses: ScriptedResponse[];
  /**
   * How many matching requests the rule answers, cycling through `responses`, before it is removed;
   * `'forever'` keeps it. Default: `responses.length` (each response once).
   */
  times?: number | 'forever';
}

const timing = { delayMs: z.number().min(0).optional() };

const scriptedResponseSchema = z.union([
  z.strictObject({ content: z.string(), ...timing }),
  z.strictObject({
    toolCalls: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          arguments: z.union([z.string(), z.record(z.string(), z.unknown())]),
        }),
      )
      .min(1),
    ...timing,
  }),
  z.strictObject({
    error: z.strictObject({
      status: z.number().int().min(400).max(599),
      message: z.string(),
      type: z.string().optional(),
      code: z.string().optional(),
    }),
    ...timing,
  }),
]);

export const scriptRuleSchema: z.ZodType<ScriptRule> = z.strictObject({
  model: z.string().optional(),
  user: z.string().optional(),
  contains: z.string().optional(),
  responses: z.array(scriptedResponseSchema).min(1),
  times: z.union([z.number().int().positive(), z.literal('forever')]).optional(),
});

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { createGate, createTokenPacer } from './capacity.js';
import { embedText, embedTokens, toBase64Float32 } from './embeddings.js';
import { badRequest, EmulatorHttpError, fromZodError, modelNotFound } from './errors.js';
import { createLognormalSampler, deriveSeed, mulberry32 } from './prng.js';
import { defaultReply, lastUserText, shapeToTokens, type Reply } from './reply.js';
import {
  chatCompletionRequestSchema,
  embeddingRequestSchema,
  scriptRuleSchema,
  type ChatCompletionRequest,
  type ScriptedResponse,
  type ScriptRule,
} from './schemas.js';
import { createScriptBook } from './script.js';
import { countPromptTokens, countTokens, encode, textPieces } from './tokens.js';

/** Model ids served when none are configured. */
export const DEFAULT_MODELS: readonly string[] = ['kernos-emu-small', 'kernos-emu-large'];

/** A distribution of default reply lengths, in output tokens. */
export interface OutputLengthOptions {
  /** Median length in tokens. */
  median: number;
  /** Sigma of the lognormal; 0 gives every reply the median length. */
  sigma: number;
}

/** Options of {@link createEmulator}. Durations and rates are in emulated time; see `timeScale`. */
export interface EmulatorOptions {
  /** Interface to listen on. Default `'127.0.0.1'`. */
  host?: string;
  /** Port to listen on; 0 picks a free one (read it from `start()`). Default `0`. */
  port?: number;
  /** Model ids served by every endpoint and listed by `GET /v1/models`. Default `['kernos-emu-small', 'kernos-emu-large']`. */
  models?: readonly string[];
  /** When set, every request except `GET /health` must send `Authorization: Bearer <apiKey>`. Default: no auth. */
  apiKey?: string;
  /** Seed of every random choice (latencies, output lengths, embeddings). Default `1`. */
  seed?: number;
  /** Chat requests in service at once. Default `16`. */
  maxConcurrent?: number;
  /** Chat requests allowed to wait for a slot (FIFO) before new ones get 429. Default `Infinity`. */
  maxQueue?: number;
  /** Total output tokens per second, shared equally by the requests decoding; 0 or Infinity = unpaced. Default `1000`. */
  tokensPerSecond?: number;
  /** Ceiling on one request's output rate, whatever its share; 0 or Infinity = none. Default `Infinity`. */
  perRequestTokensPerSecond?: number;
  /** Median first-token latency in ms (lognormal); 0 = none. Default `50`. */
  latencyMs?: number;
  /** Sigma of the first-token latency lognormal. Default `0.5`. */
  latencySigma?: number;
  /** When set, default text replies are padded or cut to a length drawn from this lognormal. Default: natural length. */
  outputTokens?: OutputLengthOptions;
  /** Embedding size when the request has no `dimensions`. Default `256`. */
  embeddingDimensions?: number;
  /** Emulated time runs this many times faster than wall time: 100 makes a 1 s emulated latency take 10 ms. Default `1`. */
  timeScale?: number;
  /** Retry hint sent with a queue-full 429, in emulated ms (`retry-after` and `retry-after-ms`). Default `1000`. */
  retryAfterMs?: number;
}

/** Counters of an emulator since start (or the last reset). */
export interface EmulatorStats {
  /** Chat and embedding requests received, whatever their outcome. */
  requestsTotal: number;
  /** Chat and embedding requests answered successfully. */
  completed: number;
  /** Chat requests holding a concurrency slot now. */
  inFlight: number;
  /** Chat requests waiting for a slot now. */
  queued: number;
  /** Highest number of chat requests in service at the same time. */
  maxObservedConcurrency: number;
  /** Prompt tokens of requests taken into service (chat) or answered (embeddings). */
  tokensIn: number;
  /** Completion tokens emitted. */
  tokensOut: number;
  /** Requests refused with 429 because the queue was full. */
  rateLimited: number;
}

/** A running (or startable) emulator. */
export interface Emulator {
  /** Starts listening; resolves with the base URL (the openai client wants `url + '/v1'`). */
  start(): Promise<{ url: string }>;
  /**
   * Stops taking requests, lets in-flight ones finish for up to `graceMs` (default 0), then cuts the rest off
   * and closes every connection.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** Adds a scripted rule (validated like `POST /emulator/script`); returns its id. */
  script(rule: ScriptRule): string;
  /** Removes every scripted rule. */
  clearScript(): void;
  /** Snapshot of the counters. */
  stats(): EmulatorStats;
  /** Zeroes the counters (in-flight and queued reflect reality and are not reset). */
  resetStats(): void;
  /** The most recent chat requests (at most 256, oldest first), as `GET /emulator/requests` serves them. */
  requests(): RecordedChatRequest[];
}

/**
 * What the emulator remembers of a chat request, so a test can assert what a client offered the model (e.g. that
 * an agent's tool list holds only what its job may call). Bounded: only the last 256 are kept.
 */
export interface RecordedChatRequest {
  model: string;
  user: string | undefined;
  lastUserText: string;
  /** Names of the function tools offered, in request order. */
  tools: string[];
}

const RECORDED_REQUESTS = 256;

type Unit =
  | { kind: 'content'; text: string }
  | { kind: 'tool_start'; index: number; id: string; name: string }
  | { kind: 'tool_args'; index: number; text: string };

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const SYSTEM_FINGERPRINT = 'fp_kernos_emulator';

const unlimitedIfZero = (value: number): number => (value === 0 ? Infinity : value);

/** Creates an OpenAI-compatible model emulator; nothing listens until `start()`. */
export function createEmulator(options: EmulatorOptions = {}): Emulator {
  const host = options.host ?? '127.0.0.1';
  const models = [...(options.models ?? DEFAULT_MODELS)];
  const seed = options.seed ?? 1;
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0)) throw new Error(`timeScale must be > 0, got ${timeScale}`);
  const embeddingDimensions = options.embeddingDimensions ?? 256;
  const retryAfterMs = options.retryAfterMs ?? 1000;

  const recorded: RecordedChatRequest[] = [];
  const gate = createGate({ maxConcurrent: options.maxConcurrent ?? 16, maxQueue: options.maxQueue ?? Infinity });
  const pacer = createTokenPacer({
    tokensPerSecond: unlimitedIfZero(options.tokensPerSecond ?? 1000) * timeScale,
    perStreamTokensPerSecond: unlimitedIfZero(options.perRequestTokensPerSecond ?? Infinity) * timeScale,
  });
  const sampleLatency = createLognormalSampler({
    median: options.latencyMs ?? 50,
    sigma: options.latencySigma ?? 0.5,
    seed: deriveSeed(seed, 'latency'),
  });
  const outputLength = options.outputTokens;
  const sampleOutputLength = outputLength
    ? createLognormalSampler({ ...outputLength, seed: deriveSeed(seed, 'output-length') })
    : undefined;
  const fillerRandom = mulberry32(deriveSeed(seed, 'filler'));
  const embeddingSeed = deriveSeed(seed, 'embedding');
  const scripts = createScriptBook();

  const counters = { requestsTotal: 0, completed: 0, tokensIn: 0, tokensOut: 0, rateLimited: 0 };
  const inProgress = new Set<Promise<void>>();
  const cancellers = new Set<AbortController>();
  let server: Server | undefined;
  let sequence = 0;

  const wallMs = (emulatedMs: number): number => emulatedMs / timeScale;

  function sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (ms <= 0 || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  function requireModel(model: string): void {
    if (!models.includes(model)) throw modelNotFound(model);
  }

  function checkChatRequest(request: ChatCompletionRequest): void {
    if (request.n !== undefined && request.n !== null && request.n !== 1) {
      throw badRequest(`Invalid value for 'n': the emulator only supports n=1, got ${request.n}.`, 'n', 'unsupported_value');
    }
    const tools = request.tools ?? [];
    const choice = request.tool_choice;
    if (choice !== undefined && choice !== null && choice !== 'none' && choice !== 'auto' && tools.length === 0) {
      throw badRequest("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice');
    }
    if (typeof choice === 'object' && choice !== null && !tools.some((t) => t.function.name === choice.function.name)) {
      throw badRequest(
        `Invalid value for 'tool_choice': no function named '${choice.function.name}' is among the offered tools.`,
        'tool_choice.function.name',
      );
    }
    requireModel(request.model);
  }

  function replyFor(request: ChatCompletionRequest, scripted: ScriptedResponse | undefined): Reply {
    if (scripted && 'content' in scripted) return { kind: 'text', content: scripted.content };
    if (scripted && 'toolCalls' in scripted) return { kind: 'tool_calls', calls: scripted.toolCalls };
    const reply = defaultReply(request);
    const plainText = reply.kind === 'text' && (request.response_format ?? { type: 'text' }).type === 'text';
    if (plainText && sampleOutputLength) {
      const target = Math.max(1, Math.round(sampleOutputLength()));
      return { kind: 'text', content: shapeToTokens(reply.content, target, fillerRandom, textPieces) };
    }
    return reply;
  }

  function unitsOf(reply: Reply, requestId: number): Unit[] {
    if (reply.kind === 'text') return textPieces(reply.content).map((text) => ({ kind: 'content', text }));
    const units: Unit[] = [];
    reply.calls.forEach((call, index) => {
      units.push({ kind: 'tool_start', index, id: `call_emu_${requestId}_${index}`, name: call.name });
      // The name costs tokens too; the pieces after its first carry no text of their own.
      for (let i = 1; i < encode(call.name).length; i++) units.push({ kind: 'tool_args', index, text: '' });
      const args = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
      for (const text of textPieces(args)) units.push({ kind: 'tool_args', index, text });
    });
    return units;
  }

  async function chatCompletions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counters.requestsTotal++;
    const request = parse(chatCompletionRequestSchema, await readJson(req));
    checkChatRequest(request);
    const ticket = gate.tryEnter();
    if (!ticket) {
      counters.rateLimited++;
      const wait = Math.max(1, Math.round(wallMs(retryAfterMs)));
      throw new EmulatorHttpError(
        429,
        `The emulated endpoint is at capacity (${gate.inFlight} in service, ${gate.queued} queued). Retry later.`,
        'rate_limit_error',
        'rate_limit_exceeded',
        null,
        { 'retry-after': String(Math.ceil(wait / 1000)), 'retry-after-ms': String(wait) },
      );
    }
    const lastText = lastUserText(request.messages);
    recorded.push({ model: request.model, user: request.user ?? undefined, lastUserText: lastText, tools: (request.tools ?? []).map((t) => t.function.name) });
    if (recorded.length > RECORDED_REQUESTS) recorded.shift();
    const scripted = scripts.take({ model: request.model, user: request.user, lastUserText: lastText });
    const abort = new AbortController();
    cancellers.add(abort);
    res.on('close', () => {
      // The client is gone: give up its place in the queue (or its slot) right away, not once it is admitted.
      abort.abort();
      ticket.release();
    });
    try {
      if (!(await ticket.ready) || abort.signal.aborted) return;
      await serveChat(request, scripted, res, abort.signal);
    } finally {
      ticket.release();
      cancellers.delete(abort);
    }
  }

  async function serveChat(
    request: ChatCompletionRequest,
    scripted: ScriptedResponse | undefined,
    res: ServerResponse,
    signal: AbortSignal,
  ): Promise<void> {
    const requestId = ++sequence;
    const promptTokens = countPromptTokens(request);
    counters.tokensIn += promptTokens;
    // Drawn for every request in service, scripted or not, so the n-th request always gets the n-th latency.
    const sampledLatency = sampleLatency();
    if (scripted && 'error' in scripted) {
      await sleep(wallMs(scripted.delayMs ?? 0), signal);
      const { status, message, type, code } = scripted.error;
      throw new EmulatorHttpError(status, message, type, code ?? null);
    }
    const reply = replyFor(request, scripted);
    const all = unitsOf(reply, requestId);
    const limit = request.max_completion_tokens ?? request.max_tokens ?? Infinity;
    const units = all.slice(0, limit);
    const finishReason = all.length > units.length ? 'length' : reply.kind === 'tool_calls' ? 'tool_calls' : 'stop';
    const id = `chatcmpl-emu-${requestId}`;
    const created = Math.floor(Date.now() / 1000);
    const stream = request.stream === true;
    const includeUsage = stream && request.stream_options?.include_usage === true;
    const usageOf = (completion: number): Record<string, unknown> => ({
      prompt_tokens: promptTokens,
      completion_tokens: completion,
      total_tokens: promptTokens + completion,
    });
    const chunk = (choices: unknown[], usage?: unknown): string =>
      `data: ${JSON.stringify({
        id,
        object: 'chat.completion.chunk',
        created,
        model: request.model,
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices,
        ...(includeUsage ? { usage: usage ?? null } : {}),
      })}\n\n`;
    const delta = (d: Record<string, unknown>, finish: string | null = null): string =>
      chunk([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);

    if (stream) {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-request-id': `req_emu_${requestId}`,
      });
      res.flushHeaders();
    }
    await sleep(wallMs(scripted?.delayMs ?? sampledLatency), signal);
    if (signal.aborted) return;

    let emitted = 0;
    const emit = (unit: Unit): void => {
      emitted++;
      counters.tokensOut++;
      if (!stream) return;
      if (unit.kind === 'content') {
        if (unit.text !== '') res.write(delta({ content: unit.text }));
      } else if (unit.kind === 'tool_start') {
        res.write(delta({ tool_calls: [{ index: unit.index, id: unit.id, type: 'function', function: { name: unit.name, arguments: '' } }] }));
      } else if (unit.text !== '') {
        res.write(delta({ tool_calls: [{ index: unit.index, function: { arguments: unit.text } }] }));
      }
    };

    if (stream) res.write(delta({ role: 'assistant', content: reply.kind === 'text' ? '' : null, refusal: null }));
    if (units.length > 0) emit(units[0]!);
    const paced = pacer.stream(units.length - 1, (i) => emit(units[i + 1]!));
    const cancel = (): void => paced.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    const completed = await paced.done;
    signal.removeEventListener('abort', cancel);
    if (!completed || signal.aborted) return;

    counters.completed++;
    if (stream) {
      res.write(delta({}, finishReason));
      if (includeUsage) res.write(chunk([], usageOf(emitted)));
      res.end('data: [DONE]\n\n');
      return;
    }
    sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model: request.model,
      system_fingerprint: SYSTEM_FINGERPRINT,
      choices: [{ index: 0, message: assemble(units), logprobs: null, finish_reason: finishReason }],
      usage: usageOf(emitted),
    }, { 'x-request-id': `req_emu_${requestId}` });
  }

  async function embeddings(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counters.requestsTotal++;
    const request = parse(embeddingRequestSchema, await readJson(req));
    requireModel(request.model);
    const dimensions = request.dimensions ?? embeddingDimensions;
    const raw = request.input;
    const inputs: Array<string | number[]> =
      typeof raw === 'string' ? [raw] : raw.every((x) => typeof x === 'number') ? [raw as number[]] : (raw as Array<string | number[]>);
    let promptTokens = 0;
    const data = inputs.map((input, index) => {
      promptTokens += typeof input === 'string' ? countTokens(input) : input.length;
      const vector = typeof input === 'string' ? embedText(input, dimensions, embeddingSeed) : embedTokens(input, dimensions, embeddingSeed);
      return { object: 'embedding', index, embedding: request.encoding_format === 'base64' ? toBase64Float32(vector) : vector };
    });
    counters.tokensIn += promptTokens;
    counters.completed++;
    sendJson(res, 200, { object: 'list', data, model: request.model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } });
  }

  function script(rule: ScriptRule): string {
    const parsed = scriptRuleSchema.safeParse(rule);
    if (!parsed.success) throw fromZodError(parsed.error, 'script rule');
    return scripts.add(parsed.data);
  }

  function stats(): EmulatorStats {
    return { ...counters, inFlight: gate.inFlight, queued: gate.queued, maxObservedConcurrency: gate.maxObservedConcurrency };
  }

  function authorize(req: IncomingMessage): void {
    if (options.apiKey === undefined) return;
    const header = req.headers.authorization;
    if (!header) {
      throw new EmulatorHttpError(401, "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.", 'invalid_request_error', 'missing_api_key');
    }
    if (header !== `Bearer ${options.apiKey}`) {
      throw new EmulatorHttpError(401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://emulator').pathname.replace(/\/+$/, '') || '/';
    const key = `${req.method ?? 'GET'} ${path}`;
    if (key === 'GET /health') return sendJson(res, 200, { status: 'ok' });
    authorize(req);
    switch (key) {
      case 'GET /v1/models':
        return sendJson(res, 200, { object: 'list', data: models.map(modelObject) });
      case 'POST /v1/chat/completions':
        return chatCompletions(req, res);
      case 'POST /v1/embeddings':
        return embeddings(req, res);
      case 'POST /emulator/script':
        return sendJson(res, 201, { id: script(parse(scriptRuleSchema, await readJson(req), 'script rule')) });
      case 'DELETE /emulator/script':
        scripts.clear();
        return sendJson(res, 200, { cleared: true });
      case 'GET /emulator/stats':
        return sendJson(res, 200, stats());
      case 'GET /emulator/requests':
        return sendJson(res, 200, { requests: recorded });
      case 'DELETE /emulator/stats':
        resetStats();
        return sendJson(res, 200, stats());
    }
    const modelMatch = req.method === 'GET' ? /^\/v1\/models\/(.+)$/.exec(path) : null;
    if (modelMatch) {
      const model = decodeURIComponent(modelMatch[1]!);
      requireModel(model);
      return sendJson(res, 200, modelObject(model));
    }
    throw new EmulatorHttpError(404, `Unknown request URL: ${key}.`, 'invalid_request_error', 'unknown_url');
  }

  function resetStats(): void {
    Object.assign(counters, { requestsTotal: 0, completed: 0, tokensIn: 0, tokensOut: 0, rateLimited: 0 });
    gate.resetMaxObserved();
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const work = route(req, res)
      .catch((error: unknown) => sendError(res, error))
      .finally(() => inProgress.delete(work));
    inProgress.add(work);
  }

  return {
    async start() {
      if (server) throw new Error('The emulator is already started.');
      const s = createServer({ noDelay: true, keepAlive: true }, onRequest);
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(options.port ?? 0, host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      const address = s.address() as AddressInfo;
      const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      return { url: `http://${shown}:${address.port}` };
    },
    async stop({ graceMs = 0 } = {}) {
      const s = server;
      if (!s) return;
      server = undefined;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeIdleConnections();
      if (graceMs > 0 && inProgress.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...inProgress]),
          new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
        ]);
        clearTimeout(timer);
      }
      for (const abort of cancellers) abort.abort();
      pacer.close();
      s.closeAllConnections();
      await closed;
    },
    script,
    clearScript: () => scripts.clear(),
    stats,
    resetStats,
    requests: () => [...recorded],
  };
}

function modelObject(id: string): Record<string, unknown> {
  return { id, object: 'model', created: 0, owned_by: 'kernos-emulator' };
}

/** Rebuilds the assistant message from the units a non-streaming request produced. */
function assemble(units: readonly Unit[]): Record<string, unknown> {
  let content = '';
  const calls: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }> = [];
  for (const unit of units) {
    if (unit.kind === 'content') content += unit.text;
    else if (unit.kind === 'tool_start') calls.push({ id: unit.id, type: 'function', function: { name: unit.name, arguments: '' } });
    else calls[unit.index]!.function.arguments += unit.text;
  }
  if (calls.length > 0) return { role: 'assistant', content: null, refusal: null, tool_calls: calls, annotations: [] };
  return { role: 'assistant', content, refusal: null, annotations: [] };
}

function parse<T>(schema: z.ZodType<T>, body: unknown, what = 'request body'): T {
  const result = schema.safeParse(body);
  if (!result.success) throw fromZodError(result.error, what);
  return result.data;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new EmulatorHttpError(413, `Request body exceeds ${MAX_BODY_BYTES} bytes.`, 'invalid_request_error', 'body_too_large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw badRequest('The request body is empty; send a JSON object.');
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('We could not parse the JSON body of your request: it is not valid JSON.', null, 'invalid_json');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, error: unknown): void {
  const httpError =
    error instanceof EmulatorHttpError
      ? error
      : new EmulatorHttpError(500, `Emulator internal error: ${error instanceof Error ? error.message : String(error)}`);
  if (res.writableEnded || res.destroyed) return;
  if (res.headersSent) {
    // Mid-stream: the status is already 200, so report the fault the way OpenAI does, as an SSE error event.
    res.end(`data: ${JSON.stringify(httpError.toBody())}\n\n`);
    return;
  }
  sendJson(res, httpError.status, httpError.toBody(), httpError.headers);
}

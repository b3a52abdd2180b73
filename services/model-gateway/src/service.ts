import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KernelClient, Logger } from '@kernos/service-kit';
import { createAuditor } from './audit.js';
import { createJobBudgets, type JobBudgets } from './budget.js';
import type { ApiKeyConfig } from './config.js';
import { handleChatCompletions, respondWithError, sendJson } from './handlers/chat-completions.js';
import { listModels } from './handlers/models.js';
import { bearerToken, HttpError } from './http.js';

export interface ModelGatewayDeps {
  kernel: KernelClient;
  logger: Logger;
  keys: ApiKeyConfig[];
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port; 0 picks a free one (default 0). */
  port?: number;
  /** API key sent to the real model endpoints (default "kernos-dev"). */
  upstreamApiKey?: string;
  /** How long a request may wait for a lease (default 120000 ms). */
  leaseWaitMs?: number;
}

export interface ModelGatewayService {
  /** Listens; resolves with the base URL clients use, e.g. http://127.0.0.1:8480/v1. */
  start(): Promise<{ baseUrl: string }>;
  /** Stops taking requests and waits (bounded by the caller) for those in flight. */
  stop(): Promise<void>;
  readonly budgets: JobBudgets;
}

/**
 * The kernel's OpenAI-compatible endpoint. An unchanged OpenAI client (of any framework) points its base URL here
 * with a Kernos API key; the key names its job, and each request is then access-checked, budgeted, scheduled,
 * forwarded to the endpoint the lease names and audited, like a native agent's turn.
 */
export function createModelGatewayService(deps: ModelGatewayDeps): ModelGatewayService {
  const byKey = new Map(deps.keys.map((k) => [k.key, k]));
  const budgets = createJobBudgets();
  const auditor = createAuditor(deps.kernel, deps.logger);
  const createdAt = Math.floor(Date.now() / 1000);
  const chatDeps = { kernel: deps.kernel, budgets, auditor, upstreamApiKey: deps.upstreamApiKey ?? 'kernos-dev', leaseWaitMs: deps.leaseWaitMs ?? 120_000 };
  let server: Server | undefined;

  const authenticate = (req: IncomingMessage): ApiKeyConfig => {
    const token = bearerToken(req);
    if (!token) throw new HttpError(401, 'missing API key: send Authorization: Bearer <your Kernos API key>', 'invalid_request_error', 'missing_api_key');
    const job = byKey.get(token);
    if (!job) throw new HttpError(401, 'invalid API key', 'invalid_request_error', 'invalid_api_key');
    return job;
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/$/, '');
    try {
      if (req.method === 'GET' && path === '/health') return sendJson(res, 200, { status: 'ok' });
      if (path === '/v1/models' && req.method === 'GET') return sendJson(res, 200, listModels(authenticate(req), createdAt));
      if (path.startsWith('/v1/models/') && req.method === 'GET') {
        const job = authenticate(req);
        const id = decodeURIComponent(path.slice('/v1/models/'.length));
        const model = listModels(job, createdAt).data.find((m) => m.id === id);
        if (!model) throw new HttpError(404, `model "${id}" is not available to job ${job.jobId}`, 'invalid_request_error', 'model_not_found', 'model');
        return sendJson(res, 200, model);
      }
      if (path === '/v1/chat/completions' && req.method === 'POST') return await handleChatCompletions(chatDeps, authenticate(req), req, res);
      throw new HttpError(404, `unknown URL ${req.method} ${path}`, 'invalid_request_error', 'unknown_url');
    } catch (error) {
      if (!(error instanceof HttpError)) deps.logger.warn('request failed', { path, error: (error as Error).message });
      respondWithError(res, error);
    }
  };

  return {
    budgets,
    async start() {
      server = createServer({ keepAlive: true }, (req, res) => void onRequest(req, res));
      const listening = server;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(deps.port ?? 0, deps.host ?? '127.0.0.1', () => resolve());
      });
      const { address, port } = listening.address() as AddressInfo;
      return { baseUrl: `http://${address}:${port}/v1` };
    },
    async stop() {
      const closing = server;
      server = undefined;
      if (!closing) return;
      await new Promise<void>((resolve) => {
        closing.close(() => resolve());
        // Idle keep-alive connections would hold close() open; requests in flight still finish.
        closing.closeIdleConnections();
      });
    },
  };
}

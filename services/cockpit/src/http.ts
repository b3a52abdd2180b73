import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { KernosError, statusForCode, toKernosError } from '@kernos/errors';
import type { Logger } from '@kernos/service-kit';
import { scheduler } from '@kernos/wire';
import { requirePermission, sessionCookie, UnauthenticatedError, type Authenticator } from './auth.js';
import type { CockpitUser } from './config.js';
import type { Sources } from './sources.js';

export const publicDir = fileURLToPath(new URL('../public/', import.meta.url));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const loginBody = z.object({ token: z.string().min(1, 'token: required') }).strict();
const steerBody = z.object({ reason: z.string().max(500).optional(), hard: z.boolean().optional() }).strict();
const decideBody = z
  .object({
    source: z.enum(['access', 'workflow']),
    approvalId: z.string().min(1),
    runId: z.string().min(1).optional(),
    approve: z.boolean(),
    comment: z.string().max(1000).default(''),
  })
  .strict();
const duration = z
  .string()
  .regex(/^\d+(s|m|h|d)$/, 'expected a duration like 15m, 2h, 7d')
  .transform((t) => Number(t.slice(0, -1)) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[t.slice(-1) as 's' | 'm' | 'h' | 'd']);
const auditQuery = z
  .object({
    tenant: z.string().optional(),
    job: z.string().optional(),
    run: z.string().optional(),
    agent: z.string().optional(),
    kind: z.string().optional(),
    q: z.string().optional(),
    since: duration.optional(),
    limit: z.coerce.number().int().positive().max(1000).optional(),
  })
  .strict();
const graphQuery = z.object({ subject: z.string().optional(), q: z.string().optional(), limit: z.coerce.number().int().positive().max(1000).optional() }).strict();

/** Scheduler operator controls by route (kernos.scheduler.control). */
const controlActions: Record<string, scheduler.ControlAction> = {
  'endpoints/drain': scheduler.ControlAction.DRAIN_ENDPOINT,
  'endpoints/resume': scheduler.ControlAction.RESUME_ENDPOINT,
  'jobs/hold': scheduler.ControlAction.HOLD_JOB,
  'jobs/release': scheduler.ControlAction.RELEASE_JOB,
};

export interface HttpDeps {
  sources: Sources;
  auth: Authenticator;
  logger: Logger;
  /** How often SSE streams push a fresh board, ms. */
  refreshMs: number;
}

type Handler = (ctx: { req: IncomingMessage; res: ServerResponse; user: CockpitUser; params: string[]; query: URLSearchParams }) => Promise<unknown>;

/**
 * The cockpit's HTTP API and static UI on node:http. A handful of routes do not need a framework, and node:http
 * keeps SSE (a long-lived response) plain. Every body and query is checked with zod; errors are JSON
 * `{error: {code, message}}` with the KernosError's HTTP status.
 */
export function createRequestHandler(deps: HttpDeps) {
  const { sources } = deps;
  const streams = new Set<ServerResponse>();

  const routes: [method: string, pattern: RegExp, handler: Handler][] = [
    ['GET', /^\/api\/me$/, async ({ user }) => ({ name: user.name, identity: user.identity, role: user.role, dataCategories: user.dataCategories })],
    ['GET', /^\/api\/board$/, () => sources.board()],
    ['GET', /^\/api\/jobs$/, () => sources.jobs()],
    ['GET', /^\/api\/runs\/([^/]+)$/, ({ params, user }) => sources.run(params[0]!, user)],
    [
      'POST',
      /^\/api\/runs\/([^/]+)\/(pause|resume|cancel)$/,
      async ({ req, params, user }) => {
        requirePermission(user, 'steer');
        const body = steerBody.parse(await readJson(req));
        const [runId, verb] = params as [string, string];
        const operator = sourcesOperator(deps);
        deps.logger.info(`run ${verb}`, { runId, by: user.identity, reason: body.reason ?? '' });
        if (verb === 'pause') return { ok: true, via: await operator.pause(runId, body.reason ?? `paused by ${user.identity}`) };
        if (verb === 'resume') return { ok: true, via: await operator.resume(runId) };
        return { ok: true, via: await operator.cancel(runId, { reason: body.reason ?? `cancelled by ${user.identity}`, hard: body.hard === true }) };
      },
    ],
    ['GET', /^\/api\/approvals$/, ({ user }) => sources.approvals(user)],
    [
      'POST',
      /^\/api\/approvals\/decide$/,
      async ({ req, user }) => {
        requirePermission(user, 'decide');
        const body = decideBody.parse(await readJson(req));
        deps.logger.info('approval decided', { approvalId: body.approvalId, approve: body.approve, by: user.identity });
        return { ok: true, approval: await sources.decide(user, body) };
      },
    ],
    ['GET', /^\/api\/scheduler$/, () => sources.scheduler()],
    [
      'POST',
      /^\/api\/scheduler\/(endpoints|jobs)\/([^/]+)\/(drain|resume|hold|release)$/,
      async ({ req, params, user }) => {
        requirePermission(user, 'steer');
        const body = steerBody.parse(await readJson(req));
        const [kind, target, verb] = params as [string, string, string];
        const action = controlActions[`${kind}/${verb}`];
        if (action === undefined) throw new KernosError('invalid_argument', `${kind}: no "${verb}" control (endpoints: drain, resume; jobs: hold, release)`);
        deps.logger.info(`scheduler ${verb}`, { kind, target, by: user.identity });
        return { ok: true, affected: await sources.control(action, target, body.reason ?? `${verb} by ${user.identity}`) };
      },
    ],
    ['GET', /^\/api\/audit$/, ({ query, user }) => sources.audit(auditQuery.parse(Object.fromEntries(query)), user)],
    ['GET', /^\/api\/graph$/, ({ query, user }) => sources.graph(user, graphQuery.parse(Object.fromEntries(query)))],
    ['GET', /^\/api\/traces\/([0-9a-f]{32})$/, async ({ params }) => sources.trace(params[0]!)],
  ];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://cockpit');
    const path = url.pathname;
    try {
      if (path === '/api/login' && req.method === 'POST') {
        const { token } = loginBody.parse(await readJson(req));
        const user = deps.auth.byToken(token);
        if (!user) throw new UnauthenticatedError('unknown token');
        // HttpOnly + SameSite=Strict: scripts cannot read it and other sites cannot ride it (no CSRF token needed).
        res.setHeader('set-cookie', `${sessionCookie}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
        return send(res, 200, { name: user.name, role: user.role, identity: user.identity });
      }
      if (path === '/api/logout' && req.method === 'POST') {
        res.setHeader('set-cookie', `${sessionCookie}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
        return send(res, 200, { ok: true });
      }
      if (path === '/healthz') return send(res, 200, { ok: true });
      if (!path.startsWith('/api/')) return serveStatic(path, res);

      const user = deps.auth.authenticate(req);
      if (path === '/api/events' && req.method === 'GET') return openStream(req, res);
      for (const [method, pattern, handler] of routes) {
        const match = pattern.exec(path);
        if (!match || method !== req.method) continue;
        const params = match.slice(1).map((p) => decodeURIComponent(p));
        return send(res, 200, await handler({ req, res, user, params, query: url.searchParams }));
      }
      throw new KernosError('not_found', `no route ${req.method} ${path}`);
    } catch (thrown) {
      sendError(res, thrown);
    }
  };

  const openStream = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    streams.add(res);
    req.once('close', () => streams.delete(res));
  };

  // One refresh loop for all streams: the board is read once per tick, whatever the number of open browsers.
  let last = '';
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // The tick in progress, so stopping waits for it: a board read still in flight would otherwise go on using the
  // Temporal client after its owner closed the connection (its retries then throw from a timer).
  let running: Promise<void> = Promise.resolve();
  const schedule = () => {
    timer = setTimeout(() => {
      running = tick();
    }, deps.refreshMs);
  };
  const tick = async () => {
    if (streams.size > 0) {
      try {
        const board = await sources.board();
        const signature = JSON.stringify(Object.values(board.columns).map((col) => col.map((c) => `${c.runId}:${c.board}:${c.lastProgress}`)));
        const changed = signature !== last;
        last = signature;
        for (const res of streams) res.write(changed ? `event: board\ndata: ${JSON.stringify(board)}\n\n` : ': keep-alive\n\n');
      } catch (error) {
        deps.logger.warn('live update failed', { error: (error as Error).message });
      }
    }
    if (!stopped) schedule();
  };

  return {
    handle,
    startLiveUpdates() {
      stopped = false;
      schedule();
    },
    /** Stops the refresh loop and ends every live stream; resolves once a tick in progress has finished. */
    async stopLiveUpdates() {
      stopped = true;
      clearTimeout(timer);
      for (const res of streams) res.end();
      streams.clear();
      await running;
    },
  };
}

function sourcesOperator(deps: HttpDeps) {
  return deps.sources.operator;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (!String(req.headers['content-type'] ?? '').includes('application/json')) {
    throw new KernosError('invalid_argument', 'content-type: expected application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new KernosError('invalid_argument', 'body: larger than 64 KiB');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8') || '{}';
  try {
    return JSON.parse(text);
  } catch {
    throw new KernosError('invalid_argument', 'body: not valid JSON');
  }
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value ?? null, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(body);
}

function sendError(res: ServerResponse, thrown: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (thrown instanceof UnauthenticatedError) return send(res, 401, { error: { code: 'unauthenticated', message: thrown.message } });
  if (thrown instanceof z.ZodError) {
    const message = thrown.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    return send(res, 400, { error: { code: 'invalid_argument', message } });
  }
  const error = toKernosError(thrown);
  send(res, statusForCode(error.code), { error: { code: error.code, message: error.message } });
}

async function serveStatic(path: string, res: ServerResponse): Promise<void> {
  const file = path === '/' ? 'index.html' : normalize(path).replace(/^([/\\])+/, '');
  if (file.includes('..')) return send(res, 404, { error: { code: 'not_found', message: 'not found' } });
  try {
    const body = await readFile(join(publicDir, file));
    res.writeHead(200, { 'content-type': contentTypes[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' }).end(body);
  } catch {
    send(res, 404, { error: { code: 'not_found', message: `no file ${path}` } });
  }
}

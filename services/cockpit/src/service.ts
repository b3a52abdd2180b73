import { createServer, type Server } from 'node:http';
import type { Logger } from '@kernos/service-kit';
import { createAuthenticator } from './auth.js';
import type { CockpitUser } from './config.js';
import { createRequestHandler } from './http.js';
import { createSources, type CockpitDeps } from './sources.js';

export interface CockpitServiceOptions extends CockpitDeps {
  users: readonly CockpitUser[];
  logger: Logger;
  /** Port (default 8470; 0 picks a free one). */
  port?: number;
  /** Interface (default 127.0.0.1). */
  host?: string;
  /** Live-update period for SSE, ms (default 2000). */
  refreshMs?: number;
}

export interface CockpitService {
  start(): Promise<{ url: string }>;
  /** Stops taking connections, ends live streams, and waits for requests in flight. */
  stop(): Promise<void>;
}

/** The operator cockpit: an HTTP API and web UI over Temporal, the kernel services and the audit stream. */
export function createCockpitService(options: CockpitServiceOptions): CockpitService {
  const handler = createRequestHandler({
    sources: createSources(options),
    auth: createAuthenticator(options.users),
    logger: options.logger,
    refreshMs: options.refreshMs ?? 2_000,
  });
  let server: Server | undefined;
  // Requests whose handler is still running. A client that hangs up (a closed browser tab) ends its connection but
  // not its handler, which may still be reading Temporal; stop waits for them, or the caller would close the
  // Temporal connection under a call that then fails from a retry timer ("Channel has been shut down").
  const inFlight = new Set<Promise<void>>();
  return {
    async start() {
      server = createServer((req, res) => {
        const handled = handler.handle(req, res).catch((error: unknown) => options.logger.warn('request failed', { error: (error as Error).message }));
        inFlight.add(handled);
        void handled.finally(() => inFlight.delete(handled));
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(options.port ?? 8470, options.host ?? '127.0.0.1', () => resolve());
      });
      handler.startLiveUpdates();
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      return { url: `http://${options.host ?? '127.0.0.1'}:${port}` };
    },
    async stop() {
      await handler.stopLiveUpdates();
      if (!server) return;
      const closing = new Promise<void>((resolve) => server!.close(() => resolve()));
      server.closeIdleConnections();
      await closing;
      await Promise.all(inFlight);
    },
  };
}

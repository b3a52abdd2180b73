import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NatsConnection } from '@nats-io/nats-core';
import { KernosError } from '@kernos/errors';

/** One readiness condition: true when met, or a short reason why not (shown in the /readyz body). */
export type ReadinessCheck = () => boolean | string | Promise<boolean | string>;

export interface HealthServerOptions {
  /**
   * Port for GET /healthz and /readyz (config: KERNOS_HEALTH_PORT); 0 picks a free one (read it from `port`).
   * Undefined disables the server, so several kernel processes on one development machine do not fight over
   * a port (default: disabled).
   */
  port?: number;
  /** Interface to listen on (config: KERNOS_HEALTH_HOST; default "0.0.0.0", so the kubelet can reach it). */
  host?: string;
  /** Conditions for /readyz besides `setReady(true)`, by name, e.g. `{ nats: natsReadiness(nc) }` (default none). */
  checks?: Record<string, ReadinessCheck>;
  /** How long one readiness check may take before it counts as failed (default 2000 ms). */
  checkTimeoutMs?: number;
}

export interface HealthServer {
  /** The port it listens on; undefined when disabled. */
  readonly port: number | undefined;
  /**
   * Marks the process as taking work (after its service started) or not (as its ordered shutdown begins).
   * /readyz answers 503 until this was called with true.
   */
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

interface CheckOutcome {
  ok: boolean;
  reason?: string;
}

/**
 * Serves the probes the Helm chart configures: `GET /healthz` answers 200 while the event loop turns (the
 * process is alive), `GET /readyz` 200 only while the process has said it is ready and every check passes,
 * else 503 with a JSON body naming what is missing. No dependency: node:http is enough for two paths, and a
 * probe must not fail because a framework did.
 */
export async function startHealthServer(options: HealthServerOptions = {}): Promise<HealthServer> {
  let ready = false;
  const checks = Object.entries(options.checks ?? {});
  const checkTimeoutMs = options.checkTimeoutMs ?? 2_000;
  if (options.port === undefined) {
    return { port: undefined, setReady: (value) => void (ready = value), close: async () => undefined };
  }

  const runCheck = async (check: ReadinessCheck): Promise<CheckOutcome> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${checkTimeoutMs} ms`), checkTimeoutMs);
    });
    try {
      const result = await Promise.race([Promise.resolve().then(check), timeout]);
      return result === true ? { ok: true } : { ok: false, reason: result === false ? 'not ready' : result };
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    } finally {
      clearTimeout(timer);
    }
  };

  const readiness = async (): Promise<{ ok: boolean; body: Record<string, unknown> }> => {
    const outcomes = await Promise.all(checks.map(async ([name, check]) => [name, await runCheck(check)] as const));
    const results: Record<string, string> = { started: ready ? 'ok' : 'not started (or shutting down)' };
    for (const [name, outcome] of outcomes) results[name] = outcome.ok ? 'ok' : (outcome.reason ?? 'not ready');
    const ok = ready && outcomes.every(([, outcome]) => outcome.ok);
    return { ok, body: { status: ok ? 'ready' : 'not ready', checks: results } };
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://health').pathname;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { error: 'use GET' });
    if (path === '/healthz') return send(200, { status: 'alive' });
    if (path === '/readyz') {
      void readiness().then(({ ok, body }) => send(ok ? 200 : 503, body));
      return;
    }
    send(404, { error: `unknown path ${path}; try /healthz or /readyz` });
  });

  const host = options.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        new KernosError(
          'unavailable',
          error.code === 'EADDRINUSE'
            ? `health port ${options.port} on ${host} is already in use; set KERNOS_HEALTH_PORT to a free port, or unset it to disable the health server`
            : `cannot serve health checks on ${host}:${options.port}: ${error.message}`,
          { cause: error },
        ),
      );
    };
    server.once('error', onError);
    server.listen(options.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // Probes hold no keep-alive connections worth waiting for on shutdown.
  server.keepAliveTimeout = 1_000;

  return {
    port: (server.address() as AddressInfo).port,
    setReady: (value) => void (ready = value),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A readiness check for a NATS connection: false while it is disconnected, reconnecting, draining or closed.
 * It follows the connection's status events, since the client has no "connected now" flag of its own.
 */
export function natsReadiness(nc: NatsConnection): ReadinessCheck {
  let connected = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnecting') connected = false;
      else if (status.type === 'reconnect') connected = true;
    }
  })().catch(() => undefined);
  return () => {
    if (nc.isClosed()) return 'NATS connection closed';
    if (nc.isDraining()) return 'NATS connection draining';
    return connected ? true : `NATS disconnected from ${nc.getServer()}; reconnecting`;
  };
}

import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { KernosError } from '@kernos/errors';

export interface NatsOptions {
  /** NATS server URL(s), comma separated. */
  url: string;
  /** Connection name shown in the server's monitoring (default: the service name). */
  name: string;
  /** Per-role credentials: user and password, or a token. Unset in an unauthenticated dev stack. */
  user?: string;
  pass?: string;
  token?: string;
  /**
   * Let nats.js capture the caller's stack at every request, so a request that fails carries where it was made
   * (default false). It costs two Error objects per request (stack capture included) on every call, and
   * createKernelClient's errors already name the subject, the service and the timeout.
   */
  asyncTraces?: boolean;
}

/**
 * Connects with reconnects forever: a kernel service must ride out a NATS restart rather than exit.
 * The first connection must succeed, so a wrong URL fails fast with a clear message.
 */
export async function connectNats(options: NatsOptions): Promise<NatsConnection> {
  try {
    return await connect({
      servers: options.url.split(',').map((s) => s.trim()),
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Measured on a raw request/reply in one process: ~20 µs of CPU and ~25 µs of latency saved per request.
      noAsyncTraces: options.asyncTraces !== true,
      ...(options.user === undefined ? {} : { user: options.user, pass: options.pass ?? '' }),
      ...(options.token === undefined ? {} : { token: options.token }),
    });
  } catch (error) {
    throw new KernosError(
      'unavailable',
      `cannot connect to NATS at ${options.url}: ${(error as Error).message}; start it with: npm run stack -- up`,
      { cause: error },
    );
  }
}

import { describe, expect, it } from 'vitest';
import { trace } from '@opentelemetry/api';
import { createLogger, type NatsConnection } from '@kernos/service-kit';
import { create, toolGateway } from '@kernos/wire';
import type { CatalogTool } from '../catalog.js';
import type { RoutedCall, ToolRouter } from '../router.js';
import { handleCall } from './call.js';

const tool: CatalogTool = { name: 'echo', server: 's', toolName: 'echo', description: 'echo', inputSchema: { type: 'object' }, annotations: undefined };

/** A router that answers at once and keeps the call it was given. */
function recordingRouter(): ToolRouter & { calls: RoutedCall[] } {
  const calls: RoutedCall[] = [];
  return {
    calls,
    list: () => Promise.resolve({ tools: [], capabilities: [] }),
    isCapability: () => Promise.resolve(false),
    call: (call) => {
      calls.push(call);
      return Promise.resolve({ result: { tool, content: [], structuredContent: undefined, isError: false, text: '', latencyMs: 0 }, cascadeId: 'c', attempts: [] });
    },
  };
}

/** Enough of a NATS connection for the cancel subject: remembers the subscription's callback. */
function fakeNats(): NatsConnection & { cancelWith?: () => void; unsubscribed: boolean } {
  const nc = {
    unsubscribed: false,
    cancelWith: undefined as (() => void) | undefined,
    subscribe(_subject: string, options: { callback: () => void }) {
      nc.cancelWith = options.callback;
      return { unsubscribe: () => void (nc.unsubscribed = true) };
    },
  };
  return nc as unknown as NatsConnection & { cancelWith?: () => void; unsubscribed: boolean };
}

const span = trace.getTracer('t').startSpan('t');
const logger = createLogger('t', () => undefined);

describe('handleCall', () => {
  it('gives the router no abort signal when the request names no cancel subject', async () => {
    const router = recordingRouter();
    await handleCall({ router, nc: fakeNats(), logger }, create(toolGateway.CallRequestSchema, { tool: 'echo' }), { span });
    expect(router.calls[0]?.signal).toBeUndefined();
  });

  it('aborts the signal it gives the router when a message arrives on the cancel subject, and unsubscribes after', async () => {
    const router = recordingRouter();
    const nc = fakeNats();
    await handleCall({ router, nc, logger }, create(toolGateway.CallRequestSchema, { tool: 'echo', cancelSubject: 'cancel.me' }), { span });
    const signal = router.calls[0]?.signal;
    expect(signal?.aborted).toBe(false);
    nc.cancelWith?.();
    expect(signal?.aborted).toBe(true);
    expect(nc.unsubscribed).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { KernosError } from '@kernos/errors';
import { z } from 'zod';
import { natsConfigShape, parseConfig } from './config.js';
import { startHealthServer } from './health.js';

const get = async (port: number, path: string) => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('startHealthServer', () => {
  it('is alive at once and ready only after setReady(true) with every check passing', async () => {
    let natsUp: boolean | string = 'NATS disconnected';
    const health = await startHealthServer({ port: 0, host: '127.0.0.1', checks: { nats: () => natsUp } });
    try {
      const port = health.port!;
      expect(await get(port, '/healthz')).toEqual({ status: 200, body: { status: 'alive' } });

      const starting = await get(port, '/readyz');
      expect(starting.status).toBe(503);
      expect(starting.body.checks).toEqual({ started: 'not started (or shutting down)', nats: 'NATS disconnected' });

      health.setReady(true);
      expect((await get(port, '/readyz')).status).toBe(503);
      natsUp = true;
      expect(await get(port, '/readyz')).toEqual({ status: 200, body: { status: 'ready', checks: { started: 'ok', nats: 'ok' } } });

      // Shutdown begins: not ready any more, still alive.
      health.setReady(false);
      expect((await get(port, '/readyz')).status).toBe(503);
      expect((await get(port, '/healthz')).status).toBe(200);
      expect((await get(port, '/metricz')).status).toBe(404);
    } finally {
      await health.close();
    }
  });

  it('counts a check that throws or hangs as not ready, with the reason', async () => {
    const health = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      checkTimeoutMs: 50,
      checks: { broken: () => Promise.reject(new Error('boom')), stuck: () => new Promise(() => undefined) },
    });
    try {
      health.setReady(true);
      const { status, body } = await get(health.port!, '/readyz');
      expect(status).toBe(503);
      expect(body.checks).toEqual({ started: 'ok', broken: 'boom', stuck: 'no answer within 50 ms' });
    } finally {
      await health.close();
    }
  });

  it('is disabled without a port, and says which port is taken', async () => {
    const disabled = await startHealthServer({});
    expect(disabled.port).toBeUndefined();
    await disabled.close();

    const first = await startHealthServer({ port: 0, host: '127.0.0.1' });
    try {
      const clash = startHealthServer({ port: first.port, host: '127.0.0.1' });
      await expect(clash).rejects.toThrow(KernosError);
      await expect(clash).rejects.toThrow(`health port ${first.port} on 127.0.0.1 is already in use`);
    } finally {
      await first.close();
    }
  });
});

describe('KERNOS_HEALTH_PORT', () => {
  const schema = z.object(natsConfigShape);
  it('is optional, treats empty as unset and names a bad value', () => {
    expect(parseConfig(schema, {}, 't').KERNOS_HEALTH_PORT).toBeUndefined();
    expect(parseConfig(schema, { KERNOS_HEALTH_PORT: '' }, 't').KERNOS_HEALTH_PORT).toBeUndefined();
    expect(parseConfig(schema, { KERNOS_HEALTH_PORT: '9464' }, 't').KERNOS_HEALTH_PORT).toBe(9464);
    expect(() => parseConfig(schema, { KERNOS_HEALTH_PORT: 'http' }, 't')).toThrow(/KERNOS_HEALTH_PORT: expected a port number/);
    expect(() => parseConfig(schema, { KERNOS_HEALTH_PORT: '70000' }, 't')).toThrow(/KERNOS_HEALTH_PORT: expected a port number from 0 to 65535/);
  });
});

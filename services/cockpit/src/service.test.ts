import { describe, expect, it } from 'vitest';
import { createLogger } from '@kernos/service-kit';
import type { Operator } from '@kernos/cli';
import type { CockpitUser } from './config.js';
import { createCockpitService } from './service.js';

const viewer: CockpitUser = { name: 'viewer', identity: 'viewer@example.com', role: 'viewer', token: 'v'.repeat(24), dataCategories: ['public'] };

describe('createCockpitService stop', () => {
  it('waits for a request whose client hung up while its handler still reads the operator', async () => {
    let called!: () => void;
    const reached = new Promise<void>((resolve) => (called = resolve));
    let finish!: () => void;
    const blocked = new Promise<void>((resolve) => (finish = resolve));
    const operator = {
      async listRuns() {
        called();
        await blocked;
        return [];
      },
    } as unknown as Operator;
    const cockpit = createCockpitService({ operator, kernel: {} as never, users: [viewer], logger: createLogger('cockpit', () => undefined), port: 0 });
    const { url } = await cockpit.start();

    const hangUp = new AbortController();
    const request = fetch(`${url}/api/board`, { headers: { authorization: `Bearer ${viewer.token}` }, signal: hangUp.signal }).catch(() => 'aborted');
    await reached;
    hangUp.abort();
    expect(await request).toBe('aborted');

    let stopped = false;
    const stopping = cockpit.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The connection is gone, but the handler is not: stop must not return while it can still use the operator.
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(stopped).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { createAuthenticator, requirePermission } from './auth.js';
import { loadCockpitConfig } from './config.js';

const users = JSON.stringify([
  { name: 'Olga', identity: 'lead@example.com', role: 'operator', token: 'operator-token-0123456789' },
  { name: 'Vic', identity: 'vic@example.com', role: 'viewer', token: 'viewer-token-0123456789ab' },
]);

describe('cockpit config', () => {
  it('parses users with defaults', () => {
    const config = loadCockpitConfig({ KERNOS_COCKPIT_USERS: users });
    expect(config.KERNOS_COCKPIT_PORT).toBe(8470);
    expect(config.KERNOS_COCKPIT_USERS[1]).toMatchObject({ role: 'viewer', dataCategories: ['public', 'internal'] });
  });

  it('names every bad field at once', () => {
    const bad = JSON.stringify([{ name: 'x', identity: 'x', role: 'admin', token: 'short' }]);
    expect(() => loadCockpitConfig({ KERNOS_COCKPIT_USERS: bad, KERNOS_COCKPIT_PORT: 'eighty' })).toThrow(
      /KERNOS_COCKPIT_PORT: .*KERNOS_COCKPIT_USERS\.0\.role: .*KERNOS_COCKPIT_USERS\.0\.token: tokens must be at least 16 characters/,
    );
    expect(() => loadCockpitConfig({ KERNOS_COCKPIT_USERS: '[{' })).toThrow(/KERNOS_COCKPIT_USERS: not JSON/);
    expect(() => loadCockpitConfig({})).toThrow(/KERNOS_COCKPIT_USERS/);
  });
});

describe('cockpit auth', () => {
  const [operator, viewer] = loadCockpitConfig({ KERNOS_COCKPIT_USERS: users }).KERNOS_COCKPIT_USERS;
  const auth = createAuthenticator([operator!, viewer!]);
  const req = (headers: Record<string, string>) => ({ headers }) as never;

  it('accepts a bearer token or the session cookie, and nothing else', () => {
    expect(auth.authenticate(req({ authorization: 'Bearer viewer-token-0123456789ab' })).name).toBe('Vic');
    expect(auth.authenticate(req({ cookie: 'a=b; kernos_session=operator-token-0123456789' })).name).toBe('Olga');
    expect(() => auth.authenticate(req({ authorization: 'Bearer operator-token-012345678X' }))).toThrow(/unknown token/);
    expect(() => auth.authenticate(req({}))).toThrow(/log in first/);
  });

  it('lets a viewer read but not steer or decide', () => {
    expect(() => requirePermission(viewer!, 'read')).not.toThrow();
    expect(() => requirePermission(viewer!, 'steer')).toThrow(/viewer and may not pause/);
    expect(() => requirePermission(viewer!, 'decide')).toThrow(/may not approve or deny/);
    expect(() => requirePermission(operator!, 'decide')).not.toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { stackEnv } from './env.js';
import { resolveOptions } from './options.js';
import { endpointsFor } from './stack.js';

describe('resolveOptions', () => {
  it('defaults to the standard ports, reuse on, attached', () => {
    const o = resolveOptions({ env: { HOME: '/home/dev' } });
    expect(o).toMatchObject({ natsPort: 4222, natsMonitorPort: 8222, temporalPort: 7233, neo4jPort: 7687, reuse: true, detached: false });
    expect(o.cacheDir).toBe('/home/dev/.cache/kernos');
    expect(o.stateDir.endsWith('/.kernos')).toBe(true);
  });

  it('takes ports and the cache from the environment, explicit options winning', () => {
    const env = { KERNOS_NATS_PORT: '14222', KERNOS_NEO4J_PORT: '17687', KERNOS_CACHE: '/opt/kernos' };
    expect(resolveOptions({ env, neo4jPort: 27687 })).toMatchObject({ natsPort: 14222, neo4jPort: 27687, cacheDir: '/opt/kernos' });
  });

  it('passes no nats-server config unless one is given (option or KERNOS_NATS_CONFIG)', () => {
    expect(resolveOptions({ env: {} }).natsConfigFile).toBeUndefined();
    expect(resolveOptions({ env: { KERNOS_NATS_CONFIG: '/etc/kernos/nats.conf' } }).natsConfigFile).toBe('/etc/kernos/nats.conf');
    expect(resolveOptions({ env: { KERNOS_NATS_CONFIG: '/a' }, natsConfigFile: '/b' }).natsConfigFile).toBe('/b');
  });

  it('names a bad port variable', () => {
    expect(() => resolveOptions({ env: { KERNOS_TEMPORAL_PORT: '72330' } })).toThrow(
      'kernos: KERNOS_TEMPORAL_PORT=72330 is not a port (1-65535); fix or unset it',
    );
  });
});

describe('stackEnv', () => {
  it('gives services the KERNOS_* variables for the endpoints', () => {
    expect(stackEnv(endpointsFor({ natsPort: 1, temporalPort: 2, neo4jPort: 3 }))).toEqual({
      KERNOS_NATS_URL: 'nats://127.0.0.1:1',
      KERNOS_TEMPORAL_ADDRESS: '127.0.0.1:2',
      KERNOS_TEMPORAL_NAMESPACE: 'default',
      KERNOS_NEO4J_URI: 'bolt://127.0.0.1:3',
      KERNOS_NEO4J_USER: 'neo4j',
      KERNOS_NEO4J_PASSWORD: 'kernos-dev',
    });
  });
});

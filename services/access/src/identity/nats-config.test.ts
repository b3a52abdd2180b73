import { describe, expect, it } from 'vitest';
import { chartRoles, natsAuthorization, natsChartValues, passwordVariable } from './nats-config.js';
import { rolePermissions } from './roles.js';

describe('NATS identity config', () => {
  it('never lets a worker or the cockpit publish audit records or write approvals', () => {
    for (const role of ['worker', 'cockpit', 'model-gateway'] as const) {
      expect(rolePermissions[role].publish.deny).toContain('kernos.audit.*.*.*');
      expect(rolePermissions[role].publish.allow.some((subject) => subject.startsWith('$KV.'))).toBe(false);
      expect(rolePermissions[role].publish.deny).toContain('$JS.API.STREAM.DELETE.AUDIT');
    }
    expect(rolePermissions.worker.publish.deny).toContain('kernos.access.decide');
  });

  it('gives the chart a password for every process it runs, and never the admin role', () => {
    expect([...chartRoles].sort()).toEqual(['access', 'cockpit', 'graph', 'model-gateway', 'scheduler', 'tool-gateway', 'worker']);
    const values = natsChartValues('kernos-nats');
    for (const role of chartRoles) expect(values).toContain(`key: ${role} }`);
    expect(values).not.toContain('kernos-admin');
  });

  it('writes password references by default and literal passwords when given', () => {
    expect(passwordVariable('tool-gateway')).toBe('KERNOS_NATS_PASSWORD_TOOL_GATEWAY');
    expect(natsAuthorization({ roles: ['worker'] })).toContain('password: $KERNOS_NATS_PASSWORD_WORKER');
    expect(natsAuthorization({ roles: ['worker'], passwords: { worker: 'dev-worker' } })).toContain('password: "dev-worker"');
    expect(natsChartValues('kernos-nats')).toContain('secretKeyRef: { name: kernos-nats, key: worker }');
  });
});

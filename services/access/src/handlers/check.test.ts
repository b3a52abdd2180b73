import { create } from '@bufbuild/protobuf';
import { access, common, type MessageInitShape } from '@kernos/wire';
import { describe, expect, it } from 'vitest';
import { decide } from './check.js';

const governance = (overrides: MessageInitShape<typeof common.GovernanceSchema> = {}) =>
  create(common.GovernanceSchema, { riskLevel: 'limited', dataCategories: ['public'], humanOversight: 'none', approver: 'ops@example.com', ...overrides });

const request = (init: { action: string; resource?: string; governance?: common.Governance }) =>
  create(access.CheckRequestSchema, { ref: { jobId: 'job-1' }, governance: governance(), grantedTools: ['echo'], ...init });

describe('decide', () => {
  it('allows a granted tool and denies any other, naming it', () => {
    expect(decide(request({ action: 'tool.call', resource: 'echo' })).decision).toBe(access.Decision.ALLOW);
    const denied = decide(request({ action: 'tool.call', resource: 'write_file' }));
    expect(denied.decision).toBe(access.Decision.DENY);
    expect(denied.reason).toContain('write_file');
  });

  it('asks for approval when oversight is always', () => {
    const verdict = decide(request({ action: 'tool.call', resource: 'echo', governance: governance({ humanOversight: 'always' }) }));
    expect(verdict.decision).toBe(access.Decision.NEEDS_APPROVAL);
  });

  it('scopes data to the granted categories', () => {
    expect(decide(request({ action: 'data.write', resource: 'public' })).decision).toBe(access.Decision.ALLOW);
    expect(decide(request({ action: 'data.read', resource: 'health' })).decision).toBe(access.Decision.DENY);
  });

  it('denies by default: no governance, unknown action, unacceptable risk', () => {
    expect(decide(create(access.CheckRequestSchema, { action: 'tool.call', resource: 'echo' })).rule).toBe('missing-governance');
    expect(decide(request({ action: 'shell.exec', resource: 'x' })).rule).toBe('unknown-action');
    expect(decide(request({ action: 'model.use', governance: governance({ riskLevel: 'unacceptable' }) })).rule).toBe('risk-unacceptable');
  });
});

import { describe, expect, it } from 'vitest';
import { access, common, create, type MessageInitShape } from '@kernos/wire';
import { createPolicyEngine, readPolicySources } from './engine.js';

const engine = createPolicyEngine();
const governance = (overrides: MessageInitShape<typeof common.GovernanceSchema> = {}) =>
  create(common.GovernanceSchema, { riskLevel: 'limited', dataCategories: ['public'], humanOversight: 'none', approver: 'lead@example.com', ...overrides });
type RequestInit = Omit<MessageInitShape<typeof access.CheckRequestSchema>, '$typeName'> & { $typeName?: undefined };
const request = (init: RequestInit) =>
  create(access.CheckRequestSchema, { ref: { tenant: 't', jobId: 'job-1', runId: 'r', agentId: 'a' }, governance: governance(), grantedTools: ['echo'], ...init });

describe('Cedar policies', () => {
  it('keeps data to the job and tenant that own it', () => {
    expect(engine.decide(request({ action: 'data.read', resource: 'public' })).rule).toBe('data-category-granted');
    expect(engine.decide(request({ action: 'data.read', resource: 'public', resourceJobId: 'job-1' })).decision).toBe(access.Decision.ALLOW);
    const otherJob = engine.decide(request({ action: 'data.read', resource: 'public', resourceJobId: 'job-2' }));
    expect(otherJob).toMatchObject({ decision: access.Decision.DENY, rule: 'cross-job-data' });
    expect(otherJob.reason).toBe('job job-1 may not touch data category "public" of another job');
    expect(engine.decide(request({ action: 'data.write', resource: 'public', resourceTenant: 'u' })).rule).toBe('cross-tenant-data');
  });

  it('bounds tool arguments and keeps destructive tools away from unsupervised high-risk jobs', () => {
    expect(engine.decide(request({ action: 'tool.call', resource: 'echo', payloadBytes: 65_536n })).decision).toBe(access.Decision.ALLOW);
    expect(engine.decide(request({ action: 'tool.call', resource: 'echo', payloadBytes: 65_537n })).rule).toBe('payload-too-large');
    const destructive = { destructive: true };
    expect(engine.decide(request({ action: 'tool.call', resource: 'echo', toolAnnotations: destructive, governance: governance({ riskLevel: 'high' }) })).rule).toBe(
      'destructive-tool-at-high-risk-without-oversight',
    );
    expect(engine.decide(request({ action: 'tool.call', resource: 'echo', toolAnnotations: destructive, governance: governance({ humanOversight: 'on_risk' }) }))).toMatchObject({
      decision: access.Decision.NEEDS_APPROVAL,
      rule: 'human-oversight-destructive',
    });
  });

  it('asks for approval by oversight, and allows once approved', () => {
    const onRisk = request({ action: 'tool.call', resource: 'echo', governance: governance({ humanOversight: 'on_risk', riskLevel: 'high' }) });
    const verdict = engine.decide(onRisk);
    expect(verdict).toMatchObject({ decision: access.Decision.NEEDS_APPROVAL, rule: 'human-oversight-on-risk' });
    expect(verdict.reason).toBe('calling "echo" in a high-risk job needs approval by lead@example.com');
    expect(engine.decide(onRisk, () => true)).toMatchObject({ decision: access.Decision.ALLOW, rule: 'tool-granted' });
    // Approval never overrides a forbid or a missing grant.
    expect(engine.decide(request({ action: 'tool.call', resource: 'rm', governance: governance({ humanOversight: 'always' }) }), () => true).rule).toBe('tool-not-granted');
  });

  it('denies model endpoints to unacceptable-risk jobs and unknown actions before Cedar', () => {
    expect(engine.decide(request({ action: 'model.use', resource: 'default' })).rule).toBe('model-use');
    expect(engine.decide(request({ action: 'model.use', resource: 'default', governance: governance({ riskLevel: 'unacceptable' }) })).rule).toBe('risk-unacceptable');
    expect(engine.decide(request({ action: 'model.train', resource: 'x' })).rule).toBe('unknown-action');
  });

  it('refuses to start on a policy that does not parse or does not fit the schema, naming it', () => {
    const sources = readPolicySources();
    expect(() => createPolicyEngine({ ...sources, policies: 'permit(principal, action, resource' })).toThrow(/kernos\.cedar/);
    expect(() =>
      createPolicyEngine({ ...sources, policies: '@id("typo")\npermit(principal, action == Kernos::Action::"tool.call", resource) when { context.riskLevl == "high" };' }),
    ).toThrow(/typo/);
  });
});

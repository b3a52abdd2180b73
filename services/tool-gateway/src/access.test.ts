import { describe, expect, it } from 'vitest';
import type { KernelClient } from '@kernos/service-kit';
import { access, create, type contracts, type MessageInitShape } from '@kernos/wire';
import { createNatsAccessPolicy, toolAnnotationsOf, type Principal } from './access.js';

type CheckInit = MessageInitShape<typeof contracts.access.check.request>;

/** A KernelClient answering kernos.access.check from a table, recording every request it was asked. */
function fakeAccess(decide: (request: CheckInit) => access.Decision): KernelClient & { asked: CheckInit[] } {
  const asked: CheckInit[] = [];
  return {
    asked,
    call: (_contract, request) => {
      asked.push(request as CheckInit);
      return Promise.resolve(create(access.CheckReplySchema, { decision: decide(request as CheckInit), rule: 'table' })) as never;
    },
  };
}

const principal: Principal = {
  ref: { tenant: 't', jobId: 'j', runId: 'r', agentId: 'a' },
  governance: { riskLevel: 'limited', dataCategories: [], humanOversight: 'none', approver: '' },
  grantedTools: ['echo'],
  enforceAccess: true,
};

describe('createNatsAccessPolicy', () => {
  it('reuses an allow for the same run, grants and tool within the TTL, then asks again', async () => {
    let clock = 0;
    const kernel = fakeAccess(() => access.Decision.ALLOW);
    const policy = createNatsAccessPolicy(kernel, { allowTtlMs: 1_000, now: () => clock });
    expect((await policy.check(principal, 'echo')).decision).toBe('allow');
    clock = 999;
    expect(await policy.check(principal, 'echo')).toMatchObject({ decision: 'allow', rule: 'cached-allow' });
    expect(kernel.asked).toHaveLength(1);
    // Another run, other grants or another tool are separate questions.
    await policy.check({ ...principal, ref: { ...principal.ref, runId: 'r2' } }, 'echo');
    await policy.check({ ...principal, grantedTools: ['echo', 'add'] }, 'echo');
    await policy.check(principal, 'add');
    expect(kernel.asked).toHaveLength(4);
    clock = 1_001;
    await policy.check(principal, 'echo');
    expect(kernel.asked).toHaveLength(5);
  });

  it('never reuses a deny or needs_approval: the next call asks again (an approval may have come meanwhile)', async () => {
    let answer = access.Decision.DENY;
    const kernel = fakeAccess(() => answer);
    const policy = createNatsAccessPolicy(kernel, { now: () => 0 });
    expect((await policy.check(principal, 'echo')).decision).toBe('deny');
    answer = access.Decision.NEEDS_APPROVAL;
    expect((await policy.check(principal, 'echo')).decision).toBe('needs_approval');
    answer = access.Decision.ALLOW;
    expect((await policy.check(principal, 'echo')).decision).toBe('allow');
    expect(kernel.asked).toHaveLength(3);
  });

  it('asks every time with allowTtlMs 0, and sends the tool annotations it is given', async () => {
    const kernel = fakeAccess(() => access.Decision.ALLOW);
    const policy = createNatsAccessPolicy(kernel, { allowTtlMs: 0 });
    await policy.check(principal, 'write_file', { readOnlyHint: false, destructiveHint: true });
    await policy.check(principal, 'write_file', { readOnlyHint: false, destructiveHint: true });
    expect(kernel.asked).toHaveLength(2);
    expect(kernel.asked[0]).toMatchObject({ action: 'tool.call', resource: 'write_file', grantedTools: ['echo'], toolAnnotations: { destructive: true, readOnly: false } });
  });
});

describe('toolAnnotationsOf', () => {
  it('passes only what the server declared: an unannotated tool is not destructive, a read-only one never is', () => {
    expect(toolAnnotationsOf({})).toEqual({ readOnly: false, destructive: false, idempotent: false, openWorld: false });
    expect(toolAnnotationsOf({ readOnlyHint: true, destructiveHint: true })).toMatchObject({ readOnly: true, destructive: false });
    expect(toolAnnotationsOf({ destructiveHint: true, idempotentHint: true, openWorldHint: true })).toEqual({ readOnly: false, destructive: true, idempotent: true, openWorld: true });
  });
});

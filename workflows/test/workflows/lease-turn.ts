// Test-only workflows for lease.int.test.ts, bundled by the test's own worker.
import { proxyActivities } from '@temporalio/workflow';
import type { KernosActivities } from '../../src/activities/index.js';
import { scheduledLlmTurn } from '../../src/workflows/lease.js';
import type { LlmTurnInput, LlmTurnResult } from '../../src/types.js';

/** One scheduled turn; a poll interval far above the test's patience proves the grant arrived by signal. */
export async function leaseTurnWorkflow(input: LlmTurnInput, pollEveryMs: number): Promise<LlmTurnResult> {
  return scheduledLlmTurn(input, { pollEveryMs });
}

const probe = proxyActivities<KernosActivities>({ startToCloseTimeout: '30s' });

/** Runs one short activity: it can only finish if the worker's single activity slot is free. */
export async function probeWorkflow(): Promise<string> {
  return (await probe.leaseStatus('probe-ticket-that-does-not-exist')).state;
}

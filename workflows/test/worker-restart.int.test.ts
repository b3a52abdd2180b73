import { startKernel, type Kernel } from '@kernos/launcher';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentResult } from '../src/types.js';
import { agentInput, temporalClient, uniqueTag } from './helpers.js';

// Kill -9 the worker while an LLM turn is running on it, start a new one, and the run still completes:
// the turn's heartbeat stops, Temporal times the attempt out and retries it on the new worker.
let kernel: Kernel;
let temporal: Awaited<ReturnType<typeof temporalClient>>;

interface EmulatorStats {
  inFlight: number;
  requestsTotal: number;
}

const emulatorStats = async (): Promise<EmulatorStats> => {
  const response = await fetch(kernel.openaiBaseUrl.replace(/\/v1$/, '/emulator/stats'));
  return (await response.json()) as EmulatorStats;
};

const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

beforeAll(async () => {
  // Slow model turns (about 3 s) leave a wide window to kill the worker in the middle of one.
  kernel = await startKernel({ env: { ...process.env, KERNOS_EMULATOR_LATENCY_MS: '3000', KERNOS_EMULATOR_LATENCY_SIGMA: '0' } });
  temporal = await temporalClient();
});

afterAll(async () => {
  await temporal?.close();
  await kernel?.stop();
});

describe('worker crash mid-run', () => {
  it('completes the run on a restarted worker through Temporal retries', async () => {
    const tag = uniqueTag();
    const before = await emulatorStats();
    const handle = await temporal.client.workflow.start('agentWorkflow', { taskQueue: 'kernos-agents', workflowId: `it-crash-${tag}`, args: [agentInput(tag)] });

    await waitFor('an LLM turn in flight', async () => (await emulatorStats()).inFlight > 0);
    await kernel.kill('worker');
    await kernel.start('worker');

    const result = (await handle.result()) as AgentResult;
    expect(result.turns).toBe(2);
    expect(result.factId).not.toBe('');

    // Two turns succeeded, and the model saw at least one more request: the attempt that died with the worker.
    const after = await emulatorStats();
    expect(after.requestsTotal - before.requestsTotal).toBeGreaterThanOrEqual(3);
    const history = await handle.fetchHistory();
    const retried = history.events?.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
    expect(retried).toBe(true);
  });
});

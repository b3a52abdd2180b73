// vitest globalSetup of the integration project (vitest.config.ts): starts the real dev stack once per
// run, or reuses one that is already up (`npm run stack up`, or a concurrent run), and hands its
// endpoints to test files both as `inject('stack')` and as the KERNOS_* env variables services read.
import { startStack, stackEnv, StackError, type RunningStack } from '@kernos/devstack';
import type { TestProject } from 'vitest/node';
import './provided-context.js';

let stack: RunningStack | undefined;

export async function setup(project: TestProject): Promise<void> {
  try {
    stack = await startStack();
  } catch (error) {
    // The message is the whole story (what is wrong, what to run); a stack trace would bury it.
    if (error instanceof StackError) error.stack = error.message;
    throw error;
  }
  project.provide('stack', stack.endpoints);
  // Test workers are forked after global setup, so they inherit these.
  Object.assign(process.env, stackEnv(stack.endpoints));
}

/** Stops only the servers this run started, and not even those while another run still uses them. */
export async function teardown(): Promise<void> {
  await stack?.release();
  stack = undefined;
}

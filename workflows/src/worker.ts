import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { KernelClient } from '@kernos/service-kit';
import { createActivities } from './activities/index.js';

/** The task queue kernel agents run on (default for every agent workflow). */
export const agentTaskQueue = 'kernos-agents';

/** Path of the workflow bundle entry; the worker bundles it itself so workflow code stays sandboxed. */
export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface KernosWorkerOptions {
  connection: NativeConnection;
  kernel: KernelClient;
  /** Temporal namespace (default "default"). */
  namespace?: string;
  /** Task queue (default agentTaskQueue). */
  taskQueue?: string;
  /** API key for model endpoints (default "kernos-dev"). */
  openaiApiKey?: string;
  /** Concurrent activities per worker (default 100); LLM turns mostly wait on I/O. */
  maxConcurrentActivities?: number;
}

export async function createKernosWorker(options: KernosWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? agentTaskQueue,
    workflowsPath,
    activities: createActivities({ kernel: options.kernel, openaiApiKey: options.openaiApiKey ?? 'kernos-dev' }),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 100,
  });
}

import { fileURLToPath } from 'node:url';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { KernelClient, NatsConnection } from '@kernos/service-kit';
import { temporalWorkflowSpanProcessor, type Telemetry } from '@kernos/telemetry';
import { createActivities } from './activities/index.js';

/** The task queue kernel agents run on (default for every agent workflow). */
export const agentTaskQueue = 'kernos-agents';

/** Path of the workflow bundle entry; the worker bundles it itself so workflow code stays sandboxed. */
export const workflowsPath = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export interface KernosWorkerOptions {
  connection: NativeConnection;
  kernel: KernelClient;
  /** NATS connection for the context object store used by @kernos/sdk's context manager (default: none). */
  nc?: NatsConnection;
  /** Temporal namespace (default "default"). */
  namespace?: string;
  /** Task queue (default agentTaskQueue). */
  taskQueue?: string;
  /** API key for model endpoints (default "kernos-dev"). */
  openaiApiKey?: string;
  /** Concurrent activities per worker (default 100); LLM turns mostly wait on I/O. */
  maxConcurrentActivities?: number;
  /**
   * Traces workflows and activities with @temporalio/interceptors-opentelemetry: the workflow's spans go through
   * this process's exporters and each activity's span is the parent of its NATS calls, so one run is one trace.
   * Default: unset (no workflow or activity spans; NATS calls still propagate whatever context is active).
   */
  telemetry?: Pick<Telemetry, 'resource' | 'spanProcessor'>;
}

export async function createKernosWorker(options: KernosWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? agentTaskQueue,
    workflowsPath,
    activities: createActivities({ kernel: options.kernel, nc: options.nc, openaiApiKey: options.openaiApiKey ?? 'kernos-dev' }),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 100,
    plugins: options.telemetry
      ? [
          // The plugin is typed against OpenTelemetry SDK 1.x; the adapter makes its workflow spans fit our 2.x exporters.
          new OpenTelemetryPlugin({
            resource: options.telemetry.resource as never,
            spanProcessor: temporalWorkflowSpanProcessor(options.telemetry.spanProcessor) as never,
          }),
        ]
      : [],
  });
}

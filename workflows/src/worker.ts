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
   * Workflow tasks a worker takes at once (default 40, the SDK's). Activations run one at a time on the worker's
   * workflow thread, so a task taken but queued behind the others spends its 10 s workflow-task timeout waiting; on
   * a CPU-starved worker a smaller number leaves the excess in Temporal's queue instead of timing out (and being
   * redone) in the worker.
   */
  maxConcurrentWorkflowTasks?: number;
  /** Open workflows kept in memory (default: the SDK's, sized by heap); an evicted one is replayed when it next has work. */
  maxCachedWorkflows?: number;
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
    // The o200k ranks (a 2 MB array literal the SDK's context manager tokenizes with, workflows/src/sdk/tokens.ts)
    // are evaluated once per worker thread and shared by every workflow; otherwise each workflow evaluates its own
    // copy, ~20 MB of heap and ~0.7 s of CPU, which at 100 concurrent runs pushed workflow tasks past their 10 s
    // timeout (bench/load/fleet.ts). Only the ranks: Temporal freezes preloaded modules, and the encoder built from
    // them writes to its own regex's lastIndex, so it stays per workflow. The path is the file the workflows'
    // `import` resolves to: a bare `require` would pick the package's CJS copy.
    bundlerOptions: { preloadModules: [fileURLToPath(import.meta.resolve('gpt-tokenizer/bpeRanks/o200k_base'))] },
    activities: createActivities({ kernel: options.kernel, nc: options.nc, openaiApiKey: options.openaiApiKey ?? 'kernos-dev' }),
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 100,
    ...(options.maxConcurrentWorkflowTasks === undefined ? {} : { maxConcurrentWorkflowTaskExecutions: options.maxConcurrentWorkflowTasks }),
    ...(options.maxCachedWorkflows === undefined ? {} : { maxCachedWorkflows: options.maxCachedWorkflows }),
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

import type { AuditPublisher } from '@kernos/audit';
import type { Logger } from '@kernos/service-kit';
import { audit, type MessageInitShape, type common } from '@kernos/wire';

/** One attempt to call a tool: a retried call or a cascade writes several. */
export interface ToolAttemptRecord {
  ref: { tenant: string; jobId: string; runId: string; agentId: string };
  governance?: MessageInitShape<typeof common.GovernanceSchema> | undefined;
  /** The tool's catalog name (or the name asked for, when it was not found). */
  tool: string;
  /** Empty when the tool was never resolved to a server. */
  server: string;
  capability: string;
  cascadeId: string;
  /** 1-based attempt number within the call. */
  attempt: number;
  /** Hex sha256 of the arguments' JSON: enough to match calls, without storing what may be personal data. */
  argumentsDigest: string;
  /** ok | tool_error (the tool ran and reported failure) | failed | skipped (not sent). */
  outcome: 'ok' | 'tool_error' | 'failed' | 'skipped';
  /** The normalised error code, when not ok. */
  errorCode: string;
  errorMessage: string;
  latencyMs: number;
  /** call | retry | cascade: why the attempt was made. */
  decision: 'call' | 'retry' | 'cascade';
  /** The access verdict, when one was asked. */
  access: string;
  /** Where the call came from: nats | mcp. */
  via: string;
}

/**
 * Where attempt records go. One small interface so the sink can be swapped: JetStream through @kernos/audit in
 * the service, memory in tests. `record` never blocks the call (the reply is not held for the audit write);
 * `flush` waits for every record handed over so far, and shutdown calls it.
 */
export interface AuditSink {
  record(entry: ToolAttemptRecord): void;
  flush(): Promise<void>;
}

/** Records into the AUDIT stream's per-run hash chain with @kernos/audit's publisher (kind TOOL_ATTEMPT). */
export function createJetStreamAuditSink({ publisher, logger }: { publisher: AuditPublisher; logger: Logger }): AuditSink {
  const pending = new Set<Promise<unknown>>();
  return {
    record(entry) {
      const { ref, governance, tool, outcome, ...detail } = entry;
      // Off the critical path: encoding, hashing and the JetStream publish start after the current I/O turn, so
      // the caller's reply is written first. Still durable: `flush` (shutdown) waits for every record, and records
      // keep their order (setImmediate is FIFO, and the publisher appends a run's records one after another).
      const work = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => publisher.publish({
          kind: audit.Kind.TOOL_ATTEMPT,
          ref,
          ...(governance ? { governance } : {}),
          service: 'tool-gateway',
          action: 'tool.call',
          resource: tool,
          outcome,
          detail,
        }))
        .catch((error: unknown) =>
          // A lost audit record is loud: the call itself has already happened and cannot be undone.
          logger.error('audit record could not be written', { tool, cascadeId: entry.cascadeId, attempt: entry.attempt, error: (error as Error).message }),
        );
      pending.add(work);
      void work.finally(() => pending.delete(work));
    },
    async flush() {
      await Promise.allSettled([...pending]);
    },
  };
}

/** Keeps records in memory (tests, and KERNOS_TOOL_AUDIT=off keeps none). */
export function createMemoryAuditSink(): AuditSink & { records: ToolAttemptRecord[] } {
  const records: ToolAttemptRecord[] = [];
  return { records, record: (entry) => void records.push(entry), flush: () => Promise.resolve() };
}

export const noAudit: AuditSink = { record: () => undefined, flush: () => Promise.resolve() };

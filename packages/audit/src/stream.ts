import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig, type StreamInfo } from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { AUDIT_SUBJECT_PREFIX } from './subject.js';

/** Default name of the audit stream. */
export const AUDIT_STREAM = 'AUDIT';

/** How long and how much the audit stream keeps. */
export interface AuditRetention {
  /** Oldest record kept, in ms; 0 keeps records forever. Default 180 days (the EU AI Act's minimum for logs of high-risk systems is six months). */
  maxAgeMs?: number;
  /** Total size kept, in bytes; -1 is unlimited. Default -1. When full, the oldest records go. */
  maxBytes?: number;
}

export interface EnsureAuditStreamOptions {
  /** Stream name. Default `AUDIT`; tests pass their own. */
  name?: string;
  /** Subject prefix; records go to `<prefix>.<tenant>.<job>.<run>`. Default `kernos.audit`. */
  subjectPrefix?: string;
  /** Retention; see {@link AuditRetention}. */
  retention?: AuditRetention;
  /** Replicas (1 for the dev stack, 3 in a cluster). Default 1. */
  replicas?: number;
  /** File storage survives a server restart; memory is for tests. Default `file`. */
  storage?: 'file' | 'memory';
  /**
   * Let the JetStream API delete or purge records. Default false: the stream denies deletes and purges, so the
   * only way to lose a record is retention. Tests of the tamper check turn it on.
   */
  allowDelete?: boolean;
}

/** 180 days. */
export const DEFAULT_AUDIT_MAX_AGE_MS = 180 * 24 * 60 * 60 * 1000;

/**
 * Creates the audit stream if it is missing; if it exists and `retention` is given, updates max age and size in
 * place (idempotent; safe from every service at start: callers without `retention` never change it).
 * Subjects are `<prefix>.*.*.*` exactly, so `kernos.audit.<verb>` request subjects never land in the stream.
 */
export async function ensureAuditStream(jsm: JetStreamManager, options: EnsureAuditStreamOptions = {}): Promise<StreamInfo> {
  const name = options.name ?? AUDIT_STREAM;
  const config: Partial<StreamConfig> & { name: string } = {
    name,
    subjects: [`${options.subjectPrefix ?? AUDIT_SUBJECT_PREFIX}.*.*.*`],
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    storage: options.storage === 'memory' ? StorageType.Memory : StorageType.File,
    num_replicas: options.replicas ?? 1,
    max_age: nanos(options.retention?.maxAgeMs ?? DEFAULT_AUDIT_MAX_AGE_MS),
    max_bytes: options.retention?.maxBytes ?? -1,
    // Nats-Msg-Id de-duplication window: a publish retried after a lost ack is stored once.
    duplicate_window: nanos(2 * 60 * 1000),
    deny_delete: !options.allowDelete,
    deny_purge: !options.allowDelete,
  };
  try {
    const info = await jsm.streams.info(name);
    // Only the owner of the stream (services/access) passes retention; everyone else just makes sure it exists,
    // so two services with different defaults never fight over its limits.
    if (options.retention === undefined) return info;
    const unchanged =
      info.config.max_age === config.max_age &&
      info.config.max_bytes === config.max_bytes &&
      JSON.stringify(info.config.subjects) === JSON.stringify(config.subjects);
    if (unchanged) return info;
    return await jsm.streams.update(name, { ...info.config, ...config } as StreamConfig);
  } catch (error) {
    if ((error as { name?: string }).name !== 'StreamNotFoundError') throw error;
    try {
      return await jsm.streams.add(config);
    } catch (addError) {
      // Another service created it between our info and add: fine, it is the same stream.
      if ((addError as { code?: number }).code === 10058) return await jsm.streams.info(name);
      throw addError;
    }
  }
}

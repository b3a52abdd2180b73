import type { HolderRef, Waiter } from '../policy.js';

/** The tenant key of a waiter: its ref's tenant, or "" for requests that name none. */
export const tenantOf = (ref: HolderRef | undefined): string => ref?.tenant ?? '';

/** The run key of a waiter: its ref's run id, or a per-waiter key so anonymous requests are not lumped together. */
export const runOf = (waiter: Waiter): string => waiter.ref?.runId || `#${waiter.seq}`;

/** Arrival order: the tie-breaker of every policy. */
export const bySeq = (a: Waiter, b: Waiter): boolean => a.seq < b.seq;

import type { common } from '@kernos/wire';

/** Subject prefix of audit records; a record's subject is `<prefix>.<tenant>.<job>.<run>`. */
export const AUDIT_SUBJECT_PREFIX = 'kernos.audit';

// NATS subject tokens cannot hold '.', '*', '>' or whitespace; ids come from job documents and workflow ids,
// so anything outside a safe set is escaped (~ + hex of each UTF-8 byte) instead of being rejected.
const SAFE = /^[A-Za-z0-9_-]+$/;

/** Encodes an id as one subject token; reversible, and the empty id becomes `~`. */
export function subjectToken(id: string): string {
  if (id === '') return '~';
  if (SAFE.test(id)) return id;
  let out = '';
  for (const ch of id) {
    if (/[A-Za-z0-9_-]/.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += `~${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The subject that holds (and chains) every record of one run. */
export function runSubject(ref: Pick<common.RunRef, 'tenant' | 'jobId' | 'runId'>, prefix = AUDIT_SUBJECT_PREFIX): string {
  return `${prefix}.${subjectToken(ref.tenant)}.${subjectToken(ref.jobId)}.${subjectToken(ref.runId)}`;
}

/** A filter subject over runs: unset parts are wildcards. */
export function filterSubject(
  filter: { tenant?: string | undefined; jobId?: string | undefined; runId?: string | undefined },
  prefix = AUDIT_SUBJECT_PREFIX,
): string {
  const part = (v: string | undefined) => (v === undefined ? '*' : subjectToken(v));
  return `${prefix}.${part(filter.tenant)}.${part(filter.jobId)}.${part(filter.runId)}`;
}

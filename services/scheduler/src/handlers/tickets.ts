import type { Span } from '@opentelemetry/api';
import { KernosError } from '@kernos/errors';
import { scheduler, type MessageInitShape } from '@kernos/wire';
import type { Admission } from '../admission/admission.js';
import type { TicketBook, TicketRecord } from '../tickets.js';
import { toAcquireReply, toAdmissionRequest } from './acquire.js';
import { traceAdmission } from './admission-span.js';

type TicketInit = MessageInitShape<typeof scheduler.TicketSchema>;

const states = {
  queued: scheduler.TicketState.QUEUED,
  granted: scheduler.TicketState.GRANTED,
  failed: scheduler.TicketState.FAILED,
} as const;

/** The wire form of a ticket; also the body of the Temporal signal (as JSON). */
export function toTicket(record: TicketRecord | undefined, ticketId: string): TicketInit {
  if (!record) return { ticketId, state: scheduler.TicketState.UNKNOWN };
  return {
    ticketId: record.ticketId,
    state: states[record.state],
    ...(record.grant && record.state === 'granted' ? { lease: toAcquireReply(record.grant) } : {}),
    ...(record.error ? { errorCode: record.error.code, errorMessage: record.error.message } : {}),
  };
}

const traced = new WeakSet<TicketRecord>();

/** kernos.scheduler.enqueue: queues the turn and answers at once (granted already if a slot was free). */
export async function enqueue(admission: Admission, book: TicketBook, request: scheduler.EnqueueRequest, span: Span): Promise<MessageInitShape<typeof scheduler.EnqueueReplySchema>> {
  const subject = 'kernos.scheduler.enqueue';
  if (request.ticketId.trim() === '') throw new KernosError('invalid_argument', `${subject}: ticket_id: required (unique per turn, e.g. <workflow id>/<turn>)`);
  if (!request.turn) throw new KernosError('invalid_argument', `${subject}: turn: required (the AcquireRequest of the turn)`);
  const admissionRequest = toAdmissionRequest(admission, request.turn, subject, 'turn.');
  span.setAttributes({ 'kernos.scheduler.endpoint': request.turn.endpoint, 'kernos.scheduler.priority': request.turn.priority, 'kernos.scheduler.ticket_id': request.ticketId });
  const record = await book.enqueue(request.ticketId, request.turn.endpoint, admissionRequest, request.workflowId);
  span.setAttribute('kernos.scheduler.ticket_state', record.state);
  // Once per ticket: a retried enqueue finds the same record and must not draw a second admission.
  if (record.settled && !traced.has(record)) {
    traced.add(record);
    traceAdmission(admission, request.turn.endpoint, admissionRequest, span, record.settled);
  }
  return { ticket: toTicket(record, request.ticketId) };
}

/** kernos.scheduler.ticket: where a ticket stands; UNKNOWN when this scheduler has no record of it. */
export function ticket(book: TicketBook, request: scheduler.TicketRequest): MessageInitShape<typeof scheduler.TicketReplySchema> {
  if (request.ticketId.trim() === '') throw new KernosError('invalid_argument', 'kernos.scheduler.ticket: ticket_id: required');
  return { ticket: toTicket(book.get(request.ticketId), request.ticketId) };
}

/** kernos.scheduler.withdraw: a queued ticket leaves the queue; a granted one gives its lease back. */
export function withdraw(book: TicketBook, request: scheduler.WithdrawRequest): MessageInitShape<typeof scheduler.WithdrawReplySchema> {
  if (request.ticketId.trim() === '') throw new KernosError('invalid_argument', 'kernos.scheduler.withdraw: ticket_id: required');
  return { withdrawn: book.withdraw(request.ticketId) };
}

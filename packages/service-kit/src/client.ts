import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { KernosError, codeForStatus, isErrorCode } from '@kernos/errors';
import { common, type Contract } from '@kernos/wire';
import { injectTraceHeaders } from './trace-headers.js';

export interface CallOptions {
  /** How long to wait for the reply (default 10000 ms). */
  timeoutMs?: number;
}

export interface KernelClient {
  call<Req extends DescMessage, Rep extends DescMessage>(
    contract: Contract<Req, Rep>,
    request: MessageInitShape<Req>,
    options?: CallOptions,
  ): Promise<MessageShape<Rep>>;
}

/**
 * Typed request/reply over NATS. Propagates the trace, and turns every failure into a KernosError: service errors
 * keep their code, "no responders" becomes unavailable (nothing ran, safe to retry), a timeout stays a timeout.
 */
export interface KernelClientOptions {
  /** Prepended to every contract subject, to reach a service started with the same subjectPrefix (default ""). */
  subjectPrefix?: string;
}

export function createKernelClient(nc: NatsConnection, tracer: Tracer, clientOptions: KernelClientOptions = {}): KernelClient {
  const prefix = clientOptions.subjectPrefix ?? '';
  return {
    async call(contract, request, options = {}) {
      const timeoutMs = options.timeoutMs ?? 10_000;
      return tracer.startActiveSpan(
        `send ${contract.subject}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'messaging.system': 'nats',
            'messaging.operation.type': 'send',
            'messaging.destination.name': contract.subject,
          },
        },
        async (span) => {
          try {
            const h = headers();
            injectTraceHeaders(h);
            const payload = toBinary(contract.request, create(contract.request, request));
            let reply;
            try {
              // Without a trace to carry (no propagator, or no active span) the request goes without headers, so
              // neither side encodes or parses an empty header block.
              const traced = h.keys().length > 0;
              reply = await nc.request(`${prefix}${contract.subject}`, payload, traced ? { timeout: timeoutMs, headers: h } : { timeout: timeoutMs });
            } catch (error) {
              throw transportError(contract, timeoutMs, error);
            }
            return decodeReply(contract, reply.headers, reply.data);
          } catch (error) {
            if (error instanceof KernosError) {
              span.setAttribute('error.type', error.code);
              span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
            }
            throw error;
          } finally {
            span.end();
          }
        },
      );
    },
  };
}

/**
 * Turns a reply on a contract's subject into its reply message, or into the KernosError it carries. A reply
 * that is neither (a peer that is not a Kernos service, a corrupted message) is an internal error naming the
 * subject, never a decoder's bare exception.
 */
export function decodeReply<Req extends DescMessage, Rep extends DescMessage>(
  contract: Contract<Req, Rep>,
  replyHeaders: MsgHdrs | undefined,
  data: Uint8Array,
): MessageShape<Rep> {
  const status = replyHeaders?.get('Nats-Service-Error-Code');
  if (status) throw serviceError(contract, Number(status), replyHeaders?.get('Nats-Service-Error') ?? '', data);
  try {
    return fromBinary(contract.reply, data);
  } catch (error) {
    throw new KernosError('internal', `${contract.subject}: reply is not a valid ${contract.reply.typeName}: ${(error as Error).message}`, { cause: error });
  }
}

function serviceError(contract: Contract, status: number, description: string, data: Uint8Array): KernosError {
  try {
    const body = fromBinary(common.ErrorBodySchema, data);
    if (isErrorCode(body.code)) {
      // An empty message would leave a person nothing to act on; the header text or the code still says something.
      const message = body.message || description || `${contract.subject} failed: ${body.code}`;
      return new KernosError(body.code, message, { retryable: body.retryable, details: { subject: contract.subject } });
    }
  } catch {
    // A peer that is not a Kernos service may send a plain-text body; the headers still say enough.
  }
  return new KernosError(codeForStatus(status), description || `${contract.subject} failed with status ${status}`);
}

function transportError(contract: Contract, timeoutMs: number, error: unknown): KernosError {
  const text = String((error as Error)?.message ?? error);
  const cause = (error as { cause?: unknown })?.cause;
  const noResponders =
    (error as { isNoResponders?: () => boolean }).isNoResponders?.() === true || (cause as Error | undefined)?.name === 'NoRespondersError';
  if (noResponders) {
    return new KernosError('unavailable', `no ${contract.service} service is running (no responders on ${contract.subject})`, { cause: error });
  }
  if (/timeout/i.test(text) || (cause as Error | undefined)?.name === 'TimeoutError') {
    return new KernosError('timeout', `${contract.subject} did not reply within ${timeoutMs} ms`, { cause: error });
  }
  return new KernosError('unavailable', `${contract.subject}: ${text}`, { cause: error });
}

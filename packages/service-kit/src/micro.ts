import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import type { MsgHdrs, NatsConnection } from '@nats-io/nats-core';
import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import { SpanKind, SpanStatusCode, context, type Span, type Tracer } from '@opentelemetry/api';
import { KernosError, statusForCode, toKernosError } from '@kernos/errors';
import { common, type Contract } from '@kernos/wire';
import { extractTraceContext } from './trace-headers.js';

export interface HandlerContext {
  subject: string;
  headers: MsgHdrs | undefined;
  /** The server span of this request; handlers add attributes and events to it. */
  span: Span;
  /** The request's reply subject, if any: lets a replicated service answer a deferred request from a successor. */
  reply?: string;
}

export interface EndpointBinding {
  contract: Contract;
  run(data: Uint8Array, ctx: HandlerContext): Promise<Uint8Array>;
}

/**
 * Binds a typed handler to a contract: the kit decodes the request, encodes the reply, and turns any throw into
 * a service error, so handlers deal in messages and KernosErrors only.
 */
export function handle<Req extends DescMessage, Rep extends DescMessage>(
  contract: Contract<Req, Rep>,
  handler: (request: MessageShape<Req>, ctx: HandlerContext) => Promise<MessageInitShape<Rep>>,
): EndpointBinding {
  return {
    contract,
    async run(data, ctx) {
      let request: MessageShape<Req>;
      try {
        request = fromBinary(contract.request, data);
      } catch (error) {
        throw new KernosError('invalid_argument', `${contract.subject}: request is not a valid ${contract.request.typeName}: ${(error as Error).message}`);
      }
      const reply = await handler(request, ctx);
      return toBinary(contract.reply, create(contract.reply, reply));
    },
  };
}

export interface KernosServiceOptions {
  nc: NatsConnection;
  /** The service name, e.g. "scheduler"; it must match the contracts' service. */
  name: string;
  version: string;
  description: string;
  endpoints: readonly EndpointBinding[];
  tracer: Tracer;
  /** Queue group, so replicas share the load (default "kernos"). */
  queue?: string;
  /**
   * Prepended to every contract subject (default ""). Lets a test run its own instance of a service on a shared
   * NATS server without other instances answering its requests; clients use the same prefix (createKernelClient).
   */
  subjectPrefix?: string;
  /** Called for every failed request, after the error reply is sent. */
  onError?: (subject: string, error: KernosError) => void;
}

export interface KernosService {
  start(): Promise<void>;
  /** Stops taking requests and waits for the ones in flight to reply. */
  stop(): Promise<void>;
}

/**
 * A NATS micro service (discoverable with $SRV.PING/INFO/STATS) whose endpoints are the contracts' subjects.
 * Errors travel as the standard Nats-Service-Error headers plus an ErrorBody with the stable code.
 */
export function createKernosService(options: KernosServiceOptions): KernosService {
  let service: Service | undefined;
  const inFlight = new Set<Promise<void>>();

  const serve = async (binding: EndpointBinding, msg: ServiceMsg): Promise<void> => {
    const subject = binding.contract.subject;
    // A request without headers (tracing off at the caller) has no trace to continue.
    const requestHeaders = msg.headers;
    const parent = requestHeaders ? extractTraceContext(requestHeaders) : context.active();
    await options.tracer.startActiveSpan(
      `process ${subject}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'messaging.system': 'nats',
          'messaging.operation.type': 'process',
          'messaging.destination.name': subject,
          'kernos.service': options.name,
        },
      },
      parent,
      async (span) => {
        try {
          const reply = await binding.run(msg.data, { subject, headers: requestHeaders, span, ...(msg.reply ? { reply: msg.reply } : {}) });
          msg.respond(reply);
        } catch (thrown) {
          const error = toKernosError(thrown);
          span.recordException(error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
          span.setAttribute('error.type', error.code);
          const body = toBinary(common.ErrorBodySchema, create(common.ErrorBodySchema, error.toJSON()));
          // Header values cannot hold line breaks; the body keeps the full message.
          msg.respondError(statusForCode(error.code), error.message.replace(/[\r\n]+/g, ' '), body);
          options.onError?.(subject, error);
        } finally {
          span.end();
        }
      },
    );
  };

  return {
    async start() {
      for (const binding of options.endpoints) {
        if (binding.contract.service !== options.name) {
          throw new KernosError('internal', `${binding.contract.subject} does not belong to service ${options.name}`);
        }
      }
      service = await new Svcm(options.nc).add({
        name: options.name,
        version: options.version,
        description: options.description,
        queue: options.queue ?? 'kernos',
      });
      for (const binding of options.endpoints) {
        service.addEndpoint(binding.contract.verb, {
          subject: `${options.subjectPrefix ?? ''}${binding.contract.subject}`,
          handler: (err, msg) => {
            if (err) return;
            // Handlers run concurrently; the set lets stop() wait for the ones already accepted. (serve runs in the
            // active context already: wrapping it in context.with(context.active()) only cost a context switch.)
            const work = serve(binding, msg);
            inFlight.add(work);
            void work.finally(() => inFlight.delete(work));
          },
        });
      }
    },
    async stop() {
      await service?.stop();
      await Promise.allSettled([...inFlight]);
    },
  };
}


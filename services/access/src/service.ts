import type { Tracer } from '@opentelemetry/api';
import { createKernosService, handle, type Logger, type NatsConnection } from '@kernos/service-kit';
import { access, contracts } from '@kernos/wire';
import { decide } from './handlers/check.js';

export interface AccessServiceDeps {
  nc: NatsConnection;
  tracer: Tracer;
  logger: Logger;
}

export function createAccessService({ nc, tracer, logger }: AccessServiceDeps) {
  return createKernosService({
    nc,
    tracer,
    name: 'access',
    version: '0.1.0',
    description: 'Decides what each job may do',
    onError: (subject, error) => logger.warn('request failed', { subject, code: error.code, error: error.message }),
    endpoints: [
      handle(contracts.access.check, async (request, { span }) => {
        const verdict = decide(request);
        span.setAttributes({
          'kernos.access.action': request.action,
          'kernos.access.resource': request.resource,
          'kernos.access.decision': access.Decision[verdict.decision],
          'kernos.access.rule': verdict.rule,
        });
        return verdict;
      }),
    ],
  });
}

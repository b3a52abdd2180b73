export { createSchedulerService } from './service.js';
export type { SchedulerService, SchedulerServiceDeps } from './service.js';
export { loadSchedulerConfig, schedulerConfigSchema, endpointConfigSchema } from './config.js';
export type { SchedulerConfig, EndpointConfig } from './config.js';
export type { Policy, PolicyOptions, Waiter, PolicyName } from './admission/policy.js';
export { temporalNotifier, leaseSignalName, toLeaseSignal } from './notify.js';
export type { LeaseSignal } from './notify.js';
export type { TicketNotifier, TicketRecord } from './tickets.js';
export { policyFactories, policyNames } from './admission/policy.js';

export { createSchedulerService } from './service.js';
export type { SchedulerService, SchedulerServiceDeps } from './service.js';
export { loadSchedulerConfig, schedulerConfigSchema, endpointConfigSchema } from './config.js';
export type { SchedulerConfig, EndpointConfig } from './config.js';
export type { Policy, Waiter, PolicyName } from './admission/policy.js';

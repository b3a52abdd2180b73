export { startStack, stopStack, stackStatus, endpointsFor } from './stack.js';
export { temporalDevServerTuning } from './servers.js';
export type { RunningStack, StackEndpoints, ServerStatus } from './stack.js';
export { stackEnv } from './env.js';
export { StackError } from './errors.js';
export type { StackErrorCode } from './errors.js';
export type { StackOptions } from './options.js';
export type { ServerName } from './state.js';

import type { StackEndpoints } from '@kernos/devstack';
import { inject } from 'vitest';
import './provided-context.js';

/**
 * Endpoints of the stack the integration global setup started or reused. Only works in test files of
 * the `integration` vitest project; elsewhere it says so instead of returning undefined.
 */
export function stackEndpoints(): StackEndpoints {
  const endpoints = inject('stack');
  if (!endpoints) {
    throw new Error('kernos: no stack endpoints; stackEndpoints() needs the integration project (vitest run --project integration), whose global setup starts the stack');
  }
  return endpoints;
}
export { portFree, privatePort } from './ports.js';
export { startPrivateNats } from './nats.js';
export type { PrivateNats, PrivateNatsOptions } from './nats.js';

export { startPrivateStack, startFleet, auditFleet, fleetInput, faultPorts, benchPorts } from './fleet.js';
export type { PrivateStack, PrivatePorts, FleetRun, RunAudit } from './fleet.js';
export { startDelayProxy } from './delay-proxy.js';
export type { DelayProxy, DelayProxyOptions } from './delay-proxy.js';
export { allContracts, messageInitArbitrary, validBytesArbitrary, mutatedBytesArbitrary, requestBytesArbitrary, randomPayloads } from './wire-fuzz.js';

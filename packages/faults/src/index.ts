export { startPrivateStack, startFleet, auditFleet, fleetInput, faultPorts, benchPorts } from './fleet.js';
export type { PrivateStack, PrivatePorts, FleetRun, RunAudit } from './fleet.js';
export { startDelayProxy } from './delay-proxy.js';
export type { DelayProxy, DelayProxyOptions } from './delay-proxy.js';
export { allContracts, messageInitArbitrary, validBytesArbitrary, mutatedBytesArbitrary, requestBytesArbitrary, randomPayloads } from './wire-fuzz.js';
export { runTimeline, summariseTimelines, eventMillis } from './timeline.js';
export type { HistoryEventLike, RunTimeline, PartSummary } from './timeline.js';
export { superviseProcesses } from './supervisor.js';
export type { SupervisedProcess, SupervisorOptions, Supervisor, Restart } from './supervisor.js';

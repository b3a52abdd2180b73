export { setupTelemetry } from './setup.js';
export type { TelemetryOptions, Telemetry } from './setup.js';

export { setupTelemetry, temporalWorkflowSpanProcessor } from './setup.js';
export type { TelemetryOptions, Telemetry } from './setup.js';
export { startOtlpReceiver } from './otlp-receiver.js';
export type { OtlpReceiver, OtlpReceiverOptions, ReceivedSpan, ReceivedMetricPoint } from './otlp-receiver.js';

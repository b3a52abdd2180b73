import { trace } from '@opentelemetry/api';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * One JSON line per event with the service name and, when inside a span, its trace id, so logs join traces.
 * The sink is passed in (main.ts hands it stderr) to keep libraries free of process globals.
 */
export function createLogger(service: string, sink: (line: string) => void): Logger {
  const write = (level: string, message: string, fields?: Record<string, unknown>): void => {
    const span = trace.getActiveSpan();
    const traceId = span?.spanContext().traceId;
    sink(JSON.stringify({ time: new Date().toISOString(), level, service, message, ...(traceId ? { traceId } : {}), ...fields }));
  };
  return {
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

/**
 * The one error family of Kernos. Every error that crosses a boundary (NATS reply, activity, HTTP) is a
 * KernosError with a stable code, a retryable flag decided once at the boundary, and a message a person can act on.
 */
export const errorCodes = [
  'invalid_argument',
  'not_found',
  'denied',
  'needs_approval',
  'conflict',
  'rate_limited',
  'timeout',
  'unavailable',
  'tool_error',
  'internal',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/** Codes that are worth retrying when nothing else is known: the operation did not happen or may succeed later. */
const retryableByDefault: ReadonlySet<ErrorCode> = new Set(['rate_limited', 'timeout', 'unavailable']);

/** The numeric code carried in the NATS micro `Nats-Service-Error-Code` header, HTTP-like on purpose. */
const statusByCode: Record<ErrorCode, number> = {
  invalid_argument: 400,
  denied: 403,
  needs_approval: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  internal: 500,
  tool_error: 502,
  unavailable: 503,
  timeout: 504,
};

export interface KernosErrorOptions {
  /** Overrides the code's default retryability (default: true for rate_limited, timeout, unavailable). */
  retryable?: boolean;
  /** Structured facts for logs and audit; never secrets. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class KernosError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: KernosErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KernosError';
    this.code = code;
    this.retryable = options.retryable ?? retryableByDefault.has(code);
    this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; retryable: boolean } {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }
}

export function isKernosError(value: unknown): value is KernosError {
  return value instanceof KernosError;
}

/** Wraps anything thrown into a KernosError; unknown failures are internal and not retryable. */
export function toKernosError(value: unknown): KernosError {
  if (value instanceof KernosError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new KernosError('internal', message, { cause: value });
}

export function statusForCode(code: ErrorCode): number {
  return statusByCode[code];
}

export function codeForStatus(status: number): ErrorCode {
  const found = errorCodes.find((code) => statusByCode[code] === status);
  return found ?? (status >= 500 ? 'unavailable' : 'invalid_argument');
}

export function isErrorCode(value: string): value is ErrorCode {
  return (errorCodes as readonly string[]).includes(value);
}

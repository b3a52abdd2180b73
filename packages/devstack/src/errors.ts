/** Why the stack could not start; each code maps to one thing a person can fix. */
export type StackErrorCode = 'missing_binary' | 'port_in_use' | 'not_ready' | 'invalid_config';

/**
 * The one error the dev stack throws. The message is a single line that names the problem and the fix,
 * so the CLI and the test global setup can print it as is.
 */
export class StackError extends Error {
  override readonly name = 'StackError';
  readonly code: StackErrorCode;
  /** Only a readiness timeout may pass on a second try (a slow machine); the rest need a person. */
  readonly retryable: boolean;

  constructor(code: StackErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.retryable = code === 'not_ready';
  }
}

import { describe, expect, it } from 'vitest';
import { KernosError, codeForStatus, statusForCode, toKernosError } from './kernos-error.js';

describe('KernosError', () => {
  it('decides retryability from the code unless told otherwise', () => {
    expect(new KernosError('unavailable', 'x').retryable).toBe(true);
    expect(new KernosError('invalid_argument', 'x').retryable).toBe(false);
    expect(new KernosError('tool_error', 'x', { retryable: true }).retryable).toBe(true);
  });

  it('maps codes to statuses and back', () => {
    expect(statusForCode('rate_limited')).toBe(429);
    expect(codeForStatus(429)).toBe('rate_limited');
    expect(codeForStatus(599)).toBe('unavailable');
  });

  it('wraps foreign errors as internal, keeping the message', () => {
    const wrapped = toKernosError(new TypeError('boom'));
    expect(wrapped.code).toBe('internal');
    expect(wrapped.message).toBe('boom');
    expect(wrapped.retryable).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { KernosError, errorCodes } from '@kernos/errors';
import { toolGateway } from '@kernos/wire';
import { fromWireToolErrorCode, kernosCodeFor, normalise, toWireError, toolErrorCodeOf, toolErrorCodes, wireToolErrorCode } from './normalise.js';

describe('error normalisation', () => {
  it('maps every KernosError code onto exactly the six gateway codes', () => {
    const seen = new Set(errorCodes.map(toolErrorCodeOf));
    expect([...seen].sort()).toEqual([...toolErrorCodes].sort());
  });

  it('round-trips each gateway code through its KernosError spelling and the wire enum', () => {
    for (const code of toolErrorCodes) {
      expect(toolErrorCodeOf(kernosCodeFor(code))).toBe(code);
      expect(fromWireToolErrorCode(wireToolErrorCode(code))).toBe(code);
    }
    expect(fromWireToolErrorCode(toolGateway.ToolErrorCode.UNSPECIFIED)).toBeUndefined();
  });

  it('folds the wider family: not_found is invalid_arguments, needs_approval is denied, internal is unavailable', () => {
    expect(normalise(new KernosError('not_found', 'unknown tool "x"')).code).toBe('invalid_arguments');
    expect(normalise(new KernosError('needs_approval', 'ask')).code).toBe('denied');
    expect(normalise(new TypeError('boom'))).toEqual({ code: 'unavailable', retryable: false, message: 'boom' });
  });

  it('keeps the retry decision made at the boundary', () => {
    const wire = toWireError(new KernosError('timeout', 'slow', { retryable: false }));
    expect(wire.code).toBe('timeout');
    expect(wire.retryable).toBe(false);
    expect(toWireError(new KernosError('not_found', 'x')).code).toBe('invalid_argument');
  });
});

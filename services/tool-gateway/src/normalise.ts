import { KernosError, type ErrorCode } from '@kernos/errors';
import { toolGateway } from '@kernos/wire';

/** The gateway's one small set of failure codes (see ToolErrorCode in protos/kernos/toolgateway). */
export const toolErrorCodes = ['denied', 'invalid_arguments', 'unavailable', 'timeout', 'rate_limited', 'tool_error'] as const;
export type ToolErrorCode = (typeof toolErrorCodes)[number];

/** A failure as every caller of the gateway sees it: one code, a retry decision and a message a model can act on. */
export interface NormalisedError {
  code: ToolErrorCode;
  retryable: boolean;
  message: string;
}

/**
 * KernosError code → gateway code. The KernosError family is wider than the gateway's set; the extra codes fold
 * into the nearest one: an unknown tool is a bad request the model can correct (invalid_arguments), a call that
 * needs an approval nobody gave is denied, and the gateway's own faults are unavailable.
 */
const byKernosCode: Record<ErrorCode, ToolErrorCode> = {
  invalid_argument: 'invalid_arguments',
  not_found: 'invalid_arguments',
  denied: 'denied',
  needs_approval: 'denied',
  conflict: 'unavailable',
  rate_limited: 'rate_limited',
  timeout: 'timeout',
  unavailable: 'unavailable',
  tool_error: 'tool_error',
  internal: 'unavailable',
};

/** Gateway code → the KernosError code it travels as on the NATS wire (a bijection on the six codes). */
const kernosCodeOf: Record<ToolErrorCode, ErrorCode> = {
  denied: 'denied',
  invalid_arguments: 'invalid_argument',
  unavailable: 'unavailable',
  timeout: 'timeout',
  rate_limited: 'rate_limited',
  tool_error: 'tool_error',
};

const wireCodeOf: Record<ToolErrorCode, toolGateway.ToolErrorCode> = {
  denied: toolGateway.ToolErrorCode.DENIED,
  invalid_arguments: toolGateway.ToolErrorCode.INVALID_ARGUMENTS,
  unavailable: toolGateway.ToolErrorCode.UNAVAILABLE,
  timeout: toolGateway.ToolErrorCode.TIMEOUT,
  rate_limited: toolGateway.ToolErrorCode.RATE_LIMITED,
  tool_error: toolGateway.ToolErrorCode.TOOL_ERROR,
};

export function toolErrorCodeOf(code: ErrorCode): ToolErrorCode {
  return byKernosCode[code];
}

export function kernosCodeFor(code: ToolErrorCode): ErrorCode {
  return kernosCodeOf[code];
}

export function wireToolErrorCode(code: ToolErrorCode | undefined): toolGateway.ToolErrorCode {
  return code === undefined ? toolGateway.ToolErrorCode.UNSPECIFIED : wireCodeOf[code];
}

/** Reads a wire code back (UNSPECIFIED → undefined). */
export function fromWireToolErrorCode(code: toolGateway.ToolErrorCode): ToolErrorCode | undefined {
  return toolErrorCodes.find((name) => wireCodeOf[name] === code);
}

/** Anything thrown → the normalised form; the retry flag a KernosError carries is kept (it was decided at the boundary). */
export function normalise(error: unknown): NormalisedError {
  if (error instanceof KernosError) return { code: toolErrorCodeOf(error.code), retryable: error.retryable, message: error.message };
  return { code: 'unavailable', retryable: false, message: error instanceof Error ? error.message : String(error) };
}

/**
 * The KernosError a NATS caller receives: its code is always one of the six gateway codes' KernosError spelling,
 * so a caller never has to know about the wider family to decide what to do.
 */
export function toWireError(error: unknown): KernosError {
  const normalised = normalise(error);
  const details = error instanceof KernosError ? error.details : undefined;
  return new KernosError(kernosCodeFor(normalised.code), normalised.message, { retryable: normalised.retryable, details, cause: error });
}

export { KernosError, errorCodes, isErrorCode, isKernosError, toKernosError, statusForCode, codeForStatus } from './kernos-error.js';
export type { ErrorCode, KernosErrorOptions } from './kernos-error.js';

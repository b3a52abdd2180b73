import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { KernosError } from '@kernos/errors';
import { breaksConnection, callFailure, connectFailure, safeToRetry } from './errors.js';

const ctx = { server: 'everything', tool: 'echo', timeoutMs: 500, safeToRetry: true };

describe('callFailure', () => {
  it('maps an MCP request timeout to timeout, retryable only for tools that are safe to repeat', () => {
    const timedOut = new McpError(ErrorCode.RequestTimeout, 'Request timed out');
    const safe = callFailure(timedOut, ctx);
    expect(safe).toMatchObject({ code: 'timeout', retryable: true });
    expect(safe.message).toBe('tool "echo" on MCP server "everything" did not answer within 500 ms');
    expect(callFailure(timedOut, { ...ctx, safeToRetry: false }).retryable).toBe(false);
  });

  it('maps a closed connection to unavailable and says an unsafe call may have run', () => {
    const closed = new McpError(ErrorCode.ConnectionClosed, 'Connection closed');
    expect(callFailure(closed, ctx)).toMatchObject({ code: 'unavailable', retryable: true });
    const unsafe = callFailure(closed, { ...ctx, safeToRetry: false });
    expect(unsafe).toMatchObject({ code: 'unavailable', retryable: false });
    expect(unsafe.message).toContain('it may have run');
  });

  it('blames the caller for rejected arguments and the tool for output that breaks its schema', () => {
    expect(callFailure(new McpError(ErrorCode.InvalidParams, 'bad a'), ctx).code).toBe('invalid_argument');
    const output = new McpError(ErrorCode.InvalidParams, "Structured content does not match the tool's output schema: x");
    expect(callFailure(output, ctx)).toMatchObject({ code: 'tool_error', retryable: false });
    expect(callFailure(new McpError(ErrorCode.InternalError, 'boom'), ctx)).toMatchObject({ code: 'tool_error', retryable: false });
  });

  it('treats transport failures as unavailable and passes KernosErrors through', () => {
    expect(callFailure(new TypeError('fetch failed'), ctx)).toMatchObject({ code: 'unavailable', retryable: true });
    const own = new KernosError('not_found', 'x');
    expect(callFailure(own, ctx)).toBe(own);
  });
});

describe('breaksConnection', () => {
  it('is true for transport failures and closed connections only', () => {
    expect(breaksConnection(new Error('Not connected'))).toBe(true);
    expect(breaksConnection(new McpError(ErrorCode.ConnectionClosed, 'x'))).toBe(true);
    expect(breaksConnection(new McpError(ErrorCode.RequestTimeout, 'x'))).toBe(false);
    expect(breaksConnection(new KernosError('unavailable', 'x'))).toBe(false);
  });
});

describe('safeToRetry', () => {
  it('trusts read-only and idempotent hints only', () => {
    expect(safeToRetry({ readOnlyHint: true })).toBe(true);
    expect(safeToRetry({ idempotentHint: true })).toBe(true);
    expect(safeToRetry({ destructiveHint: false })).toBe(false);
    expect(safeToRetry(undefined)).toBe(false);
  });
});

describe('connectFailure', () => {
  it('is always retryable: nothing ran', () => {
    expect(connectFailure('fs', new Error('spawn npx ENOENT'))).toMatchObject({ code: 'unavailable', retryable: true, message: 'MCP server "fs" cannot be reached: spawn npx ENOENT' });
  });
});

describe('a refused connection', () => {
  it('is marked not sent, so it may be retried whatever the tool', () => {
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    const error = callFailure(refused, { server: 'web', tool: 'write', timeoutMs: 1000, safeToRetry: false });
    expect(error).toMatchObject({ code: 'unavailable', retryable: true });
    expect(error.details?.notSent).toBe(true);
    const reset = callFailure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), { server: 'web', tool: 'write', timeoutMs: 1000, safeToRetry: false });
    expect(reset.retryable).toBe(false);
    expect(reset.details?.notSent).toBeUndefined();
  });
});

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '@kernos/errors';

/** An error in OpenAI's shape, so every OpenAI client surfaces it as it would OpenAI's own. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    // Mid-stream: the status is gone; an SSE error event is what OpenAI clients understand, then the stream ends.
    res.end(`data: ${JSON.stringify({ error: { message: error.message, type: error.type, code: error.code, param: error.param } })}\n\n`);
    return;
  }
  sendJson(res, error.status, { error: { message: error.message, type: error.type, code: error.code, param: error.param } });
}

/** HTTP status and OpenAI error type for a kernel error code. */
export function httpStatusFor(code: ErrorCode | string): { status: number; type: string } {
  switch (code) {
    case 'invalid_argument':
      return { status: 400, type: 'invalid_request_error' };
    case 'unauthenticated':
      return { status: 401, type: 'invalid_request_error' };
    case 'denied':
    case 'needs_approval':
      return { status: 403, type: 'permission_error' };
    case 'not_found':
      return { status: 404, type: 'invalid_request_error' };
    case 'rate_limited':
      return { status: 429, type: 'rate_limit_error' };
    case 'timeout':
      return { status: 504, type: 'server_error' };
    case 'unavailable':
      return { status: 503, type: 'server_error' };
    default:
      return { status: 500, type: 'server_error' };
  }
}

/** Reads a request body up to a limit, so a huge body cannot exhaust memory. */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new HttpError(413, `request body is larger than ${limitBytes} bytes`, 'invalid_request_error', 'request_too_large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1]?.trim();
}

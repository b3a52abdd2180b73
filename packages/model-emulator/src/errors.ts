import type { z } from 'zod';

/** The body OpenAI sends with every error, which the official clients parse into APIError. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * An error that becomes an HTTP response in OpenAI's shape. The status decides how clients react (the openai
 * client retries 408/409/429/5xx itself), so it is chosen once, where the error is raised.
 */
export class EmulatorHttpError extends Error {
  override readonly name = 'EmulatorHttpError';

  constructor(
    readonly status: number,
    message: string,
    readonly type: string = defaultErrorType(status),
    readonly code: string | null = null,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** The `type` OpenAI uses for a status when nothing more specific applies. */
export function defaultErrorType(status: number): string {
  if (status === 401) return 'invalid_request_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function badRequest(message: string, param: string | null = null, code: string | null = null): EmulatorHttpError {
  return new EmulatorHttpError(400, message, 'invalid_request_error', code, param);
}

export function modelNotFound(model: string): EmulatorHttpError {
  return new EmulatorHttpError(
    404,
    `The model \`${model}\` does not exist or you do not have access to it.`,
    'invalid_request_error',
    'model_not_found',
    'model',
  );
}

/** Renders a zod path the way OpenAI names parameters: `messages[0].role`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** Turns the first zod issue into a 400 that names the offending field, so the caller can fix the request. */
export function fromZodError(error: z.ZodError, what = 'request body'): EmulatorHttpError {
  const issue = error.issues[0];
  if (!issue) return badRequest(`Invalid ${what}.`);
  const param = formatPath(issue.path);
  if (param === '') return badRequest(`Invalid ${what}: ${issue.message}`);
  return badRequest(`Invalid value for '${param}': ${issue.message}`, param, issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_value');
}

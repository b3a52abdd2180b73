import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { KernosError } from '@kernos/errors';
import type { CockpitUser } from './config.js';

export const sessionCookie = 'kernos_session';

export type Permission = 'read' | 'steer' | 'decide' | 'audit-detail';

/**
 * What each role may do; a viewer sees what its data categories allow (audit records without their detail) and
 * changes nothing.
 */
export const permissions: Record<CockpitUser['role'], ReadonlySet<Permission>> = {
  viewer: new Set<Permission>(['read']),
  operator: new Set<Permission>(['read', 'steer', 'decide', 'audit-detail']),
};

export interface Authenticator {
  /** The user a request speaks for (bearer header or session cookie), or an `unauthenticated` error. */
  authenticate(req: IncomingMessage): CockpitUser;
  /** The user owning a token (the login form), or undefined. */
  byToken(token: string): CockpitUser | undefined;
}

export function createAuthenticator(users: readonly CockpitUser[]): Authenticator {
  const byToken = (token: string) => {
    const given = Buffer.from(token);
    // Compared in constant time, so response timing does not leak how much of a token was right.
    return users.find((u) => {
      const want = Buffer.from(u.token);
      return want.length === given.length && timingSafeEqual(want, given);
    });
  };
  return {
    byToken,
    authenticate(req) {
      const header = req.headers.authorization;
      const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : cookieValue(req.headers.cookie, sessionCookie);
      const user = token ? byToken(token) : undefined;
      if (!user) throw new UnauthenticatedError(token ? 'unknown token; log in again' : 'log in first (bearer token or the login form)');
      return user;
    },
  };
}

/** HTTP 401: KernosError has no "who are you" code, because only the cockpit faces people directly. */
export class UnauthenticatedError extends Error {
  override readonly name = 'UnauthenticatedError';
}

export function requirePermission(user: CockpitUser, permission: Permission): void {
  if (!permissions[user.role].has(permission)) {
    const what = { read: 'read this', steer: 'pause, resume or cancel runs', decide: 'approve or deny', 'audit-detail': 'read audit details' }[permission];
    throw new KernosError('denied', `${user.name} is a ${user.role} and may not ${what}`);
  }
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

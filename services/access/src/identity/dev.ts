import { kernosRoles, type KernosRole } from './roles.js';

/** Fixed passwords for the loopback dev stack only (the same as helm/kernos/values-dev.yaml uses: dev-<role>). */
export const devPasswords: Record<KernosRole, string> = Object.fromEntries(kernosRoles.map((role) => [role, `dev-${role}`])) as Record<KernosRole, string>;

// The NATS identity model (per-role users and subject permissions), for tools and tests that lock a server with it.
// Kept apart from the package root so importing it does not load the policy engine.
export { kernosRoles, rolePermissions, natsUser } from './roles.js';
export type { KernosRole, RolePermissions } from './roles.js';
export { natsAuthorization, natsChartValues, passwordVariable, chartRoles } from './nats-config.js';
export type { NatsAuthOptions } from './nats-config.js';
export { devPasswords } from './dev.js';

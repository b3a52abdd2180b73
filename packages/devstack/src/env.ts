import type { StackEndpoints } from './stack.js';

/** The variables services read to find the stack (see each service's config table). */
export function stackEnv(endpoints: StackEndpoints): Record<string, string> {
  return {
    KERNOS_NATS_URL: endpoints.natsUrl,
    KERNOS_TEMPORAL_ADDRESS: endpoints.temporalAddress,
    KERNOS_TEMPORAL_NAMESPACE: endpoints.temporalNamespace,
    KERNOS_NEO4J_URI: endpoints.neo4jUri,
    KERNOS_NEO4J_USER: endpoints.neo4jUser,
    KERNOS_NEO4J_PASSWORD: endpoints.neo4jPassword,
  };
}

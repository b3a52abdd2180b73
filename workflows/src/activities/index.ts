export { createActivities } from './activities.js';
export type { ActivityDeps, GrantedLease, KernosActivities, LeaseTicket, LlmTurnOutcome, RequestLeaseInput } from './activities.js';
export { createContextActivities, contextBucket } from './context.js';
export type { ContextActivities, ContextActivityDeps, RecallInput, RecalledFact, StoreContextInput, StoredContext } from './context.js';

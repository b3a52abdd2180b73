export { createActivities } from './activities/index.js';
export type { ActivityDeps, KernosActivities } from './activities/index.js';
export { contextBucket } from './activities/index.js';
export type { RecallInput, RecalledFact, StoredContext } from './activities/index.js';
export { createKernosWorker, agentTaskQueue, workflowsPath } from './worker.js';
export type { KernosWorkerOptions } from './worker.js';
export type * from './types.js';

export { createActivities } from './activities.js';
export type { ActivityDeps, KernosActivities } from './activities.js';

export { createCockpitService } from './service.js';
export type { CockpitService, CockpitServiceOptions } from './service.js';
export { loadCockpitConfig, cockpitConfigSchema, userSchema } from './config.js';
export type { CockpitConfig, CockpitUser } from './config.js';
export { createSources, boardColumns } from './sources.js';
export type { CockpitDeps, Sources, RunCard, AuditSearch } from './sources.js';
export { registerSchedulerGauges } from './metrics.js';

export { createGraphService } from './service.js';
export type { GraphServiceDeps } from './service.js';
export { loadGraphConfig, graphConfigSchema } from './config.js';
export type { GraphConfig } from './config.js';
export { createNeo4jDriver } from './neo4j.js';
export type { Neo4jOptions } from './neo4j.js';
export { runMigrations, migrations } from './migrations.js';
export type { Migration, MigrateOptions } from './migrations.js';

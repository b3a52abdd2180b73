export { createModelGatewayService } from './service.js';
export type { ModelGatewayDeps, ModelGatewayService } from './service.js';
export { loadModelGatewayConfig, parseApiKeys, apiKeySchema, modelGatewayConfigSchema } from './config.js';
export type { ApiKeyConfig, ModelGatewayConfig } from './config.js';

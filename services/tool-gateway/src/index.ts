export { createToolGatewayService } from './service.js';
export type { ToolGatewayServiceDeps } from './service.js';
export { createToolGateway } from './gateway.js';
export type { ToolGateway, ToolGatewayOptions, ToolCall, ToolCallResult } from './gateway.js';
export type { CatalogTool } from './catalog.js';
export { loadToolGatewayConfig, defaultToolServers, toolGatewayConfigSchema, toolServersSchema } from './config.js';
export type { ToolGatewayConfig, ToolServerSpec, StdioServerSpec, HttpServerSpec, ConfigDefaults } from './config.js';

export { createToolGatewayService } from './service.js';
export type { ToolGatewayServiceDeps } from './service.js';
export { createToolGateway } from './gateway.js';
export type { ToolGateway, ToolGatewayOptions, ToolCall, ToolCallResult, ResolvedCallOptions } from './gateway.js';
export type { CatalogTool } from './catalog.js';
export {
  loadToolGatewayConfig,
  defaultToolServers,
  packageBin,
  toolGatewayConfigSchema,
  toolServersSchema,
  toolPolicySchema,
  capabilitiesSchema,
  mcpEndpointSchema,
  mcpTokenSchema,
} from './config.js';
export type { ToolGatewayConfig, ToolServerSpec, StdioServerSpec, HttpServerSpec, ConfigDefaults, ToolPolicy, Capabilities, McpToken, McpEndpointConfig } from './config.js';
export { createToolFabric } from './fabric.js';
export type { ToolFabric, ToolFabricOptions } from './fabric.js';
export { createToolRouter, RoutedCallError } from './router.js';
export type { ToolRouter, RouterOptions, RoutedCall, RoutedResult, RoutedCatalog, AttemptSummary } from './router.js';
export { createNatsAccessPolicy, allowEverything } from './access.js';
export type { AccessPolicy, Principal, Verdict } from './access.js';
export { createJetStreamAuditSink, createMemoryAuditSink, noAudit } from './audit.js';
export type { AuditSink, ToolAttemptRecord } from './audit.js';
export { createResilience, shouldRetry, countsAgainstBreaker } from './resilience/policies.js';
export type { Resilience } from './resilience/policies.js';
export { createKeyedTokenBuckets } from './resilience/token-bucket.js';
export type { KeyedTokenBuckets, RateLimit } from './resilience/token-bucket.js';
export { normalise, toWireError, toolErrorCodes, toolErrorCodeOf, kernosCodeFor, wireToolErrorCode, fromWireToolErrorCode } from './normalise.js';
export type { ToolErrorCode, NormalisedError } from './normalise.js';
export { startMcpEndpoint, errorMetaKey } from './mcp-endpoint.js';
export type { McpEndpoint, McpEndpointOptions } from './mcp-endpoint.js';

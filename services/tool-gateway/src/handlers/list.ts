import type { MessageInitShape, toolGateway } from '@kernos/wire';
import type { ToolRouter } from '../router.js';
import { principalOf } from './call.js';

type ListReplyInit = MessageInitShape<typeof toolGateway.ListReplySchema>;

/**
 * kernos.tool-gateway.list: the catalog with each tool's input schema, so a caller can build a model's tool list.
 * With governance on the request it holds only the granted tools services/access allows this job to call (or
 * answers needs_approval for: the workflow seeks the approval before calling).
 */
export async function handleList(router: ToolRouter, request: toolGateway.ListRequest): Promise<ListReplyInit> {
  // A workflow asks for approvals itself, so the tools that need one are part of its catalog.
  const catalog = await router.list({ ...principalOf({ ref: request.ref, governance: request.governance, grantedTools: request.grantedTools }), seeksApprovals: true });
  return {
    tools: catalog.tools.map((tool) => ({
      name: tool.name,
      server: tool.server,
      description: tool.description,
      inputSchemaJson: JSON.stringify(tool.inputSchema),
      annotationsJson: tool.annotations ? JSON.stringify(tool.annotations) : '',
    })),
    capabilities: catalog.capabilities,
  };
}

import type { MessageInitShape, toolGateway } from '@kernos/wire';
import type { ToolGateway } from '../gateway.js';

type ListReplyInit = MessageInitShape<typeof toolGateway.ListReplySchema>;

/** kernos.tool-gateway.list: the catalog, with each tool's input schema so a caller can build a model's tool list. */
export async function handleList(gateway: ToolGateway): Promise<ListReplyInit> {
  const tools = await gateway.list();
  return {
    tools: tools.map((tool) => ({
      name: tool.name,
      server: tool.server,
      description: tool.description,
      inputSchemaJson: JSON.stringify(tool.inputSchema),
    })),
  };
}

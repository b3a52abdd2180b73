import type { HandlerContext } from '@kernos/service-kit';
import type { MessageInitShape, toolGateway } from '@kernos/wire';
import { parseArgumentsJson } from '../arguments.js';
import type { ToolGateway } from '../gateway.js';

type CallReplyInit = MessageInitShape<typeof toolGateway.CallReplySchema>;

/**
 * kernos.tool-gateway.call: one tool call. A tool that ran and failed replies normally with is_error=true, so the
 * model sees the tool's own words; only gateway and transport failures become error replies.
 */
export async function handleCall(gateway: ToolGateway, request: toolGateway.CallRequest, { span }: Pick<HandlerContext, 'span'>): Promise<CallReplyInit> {
  span.setAttribute('gen_ai.tool.name', request.tool);
  if (request.ref?.jobId) span.setAttribute('kernos.job.id', request.ref.jobId);
  if (request.ref?.runId) span.setAttribute('kernos.run.id', request.ref.runId);
  const args = parseArgumentsJson(request.argumentsJson);
  const result = await gateway.call({ tool: request.tool, arguments: args });
  span.setAttributes({ 'kernos.tool.server': result.tool.server, 'kernos.tool.is_error': result.isError });
  return {
    server: result.tool.server,
    tool: result.tool.name,
    contentJson: JSON.stringify(result.content),
    isError: result.isError,
    latencyMs: BigInt(result.latencyMs),
    text: result.text,
  };
}

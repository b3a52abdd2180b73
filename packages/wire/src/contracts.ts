import type { DescMessage } from '@bufbuild/protobuf';
import * as access from './gen/kernos/access/v1/access_pb.js';
import * as graph from './gen/kernos/graph/v1/graph_pb.js';
import * as scheduler from './gen/kernos/scheduler/v1/scheduler_pb.js';
import * as toolGateway from './gen/kernos/toolgateway/v1/tool_gateway_pb.js';

/** One request/reply subject: `kernos.<service>.<verb>` with its `<Verb>Request` and `<Verb>Reply` types. */
export interface Contract<Req extends DescMessage = DescMessage, Rep extends DescMessage = DescMessage> {
  readonly service: string;
  readonly verb: string;
  readonly subject: string;
  readonly request: Req;
  readonly reply: Rep;
}

function contract<Req extends DescMessage, Rep extends DescMessage>(
  service: string,
  verb: string,
  request: Req,
  reply: Rep,
): Contract<Req, Rep> {
  return { service, verb, subject: `kernos.${service}.${verb}`, request, reply };
}

/** Every kernel subject, grouped by the service that answers it. */
export const contracts = {
  scheduler: {
    acquire: contract('scheduler', 'acquire', scheduler.AcquireRequestSchema, scheduler.AcquireReplySchema),
    release: contract('scheduler', 'release', scheduler.ReleaseRequestSchema, scheduler.ReleaseReplySchema),
    stats: contract('scheduler', 'stats', scheduler.StatsRequestSchema, scheduler.StatsReplySchema),
  },
  toolGateway: {
    call: contract('tool-gateway', 'call', toolGateway.CallRequestSchema, toolGateway.CallReplySchema),
    list: contract('tool-gateway', 'list', toolGateway.ListRequestSchema, toolGateway.ListReplySchema),
  },
  access: {
    check: contract('access', 'check', access.CheckRequestSchema, access.CheckReplySchema),
  },
  graph: {
    writeFact: contract('graph', 'write-fact', graph.WriteFactRequestSchema, graph.WriteFactReplySchema),
    facts: contract('graph', 'facts', graph.FactsRequestSchema, graph.FactsReplySchema),
  },
} as const;

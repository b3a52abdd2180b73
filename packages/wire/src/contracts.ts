import type { DescMessage } from '@bufbuild/protobuf';
import * as access from './gen/kernos/access/v1/access_pb.js';
import * as audit from './gen/kernos/audit/v1/audit_pb.js';
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
    renew: contract('scheduler', 'renew', scheduler.RenewRequestSchema, scheduler.RenewReplySchema),
    stats: contract('scheduler', 'stats', scheduler.StatsRequestSchema, scheduler.StatsReplySchema),
    enqueue: contract('scheduler', 'enqueue', scheduler.EnqueueRequestSchema, scheduler.EnqueueReplySchema),
    ticket: contract('scheduler', 'ticket', scheduler.TicketRequestSchema, scheduler.TicketReplySchema),
    withdraw: contract('scheduler', 'withdraw', scheduler.WithdrawRequestSchema, scheduler.WithdrawReplySchema),
    control: contract('scheduler', 'control', scheduler.ControlRequestSchema, scheduler.ControlReplySchema),
    budget: contract('scheduler', 'budget', scheduler.BudgetRequestSchema, scheduler.BudgetReplySchema),
    applyJob: contract('scheduler', 'applyJob', scheduler.ApplyJobRequestSchema, scheduler.ApplyJobReplySchema),
    listJobs: contract('scheduler', 'listJobs', scheduler.ListJobsRequestSchema, scheduler.ListJobsReplySchema),
    describeJob: contract('scheduler', 'describeJob', scheduler.DescribeJobRequestSchema, scheduler.DescribeJobReplySchema),
  },
  toolGateway: {
    call: contract('tool-gateway', 'call', toolGateway.CallRequestSchema, toolGateway.CallReplySchema),
    list: contract('tool-gateway', 'list', toolGateway.ListRequestSchema, toolGateway.ListReplySchema),
  },
  access: {
    check: contract('access', 'check', access.CheckRequestSchema, access.CheckReplySchema),
    requestApproval: contract('access', 'request-approval', access.RequestApprovalRequestSchema, access.RequestApprovalReplySchema),
    approvals: contract('access', 'approvals', access.ApprovalsRequestSchema, access.ApprovalsReplySchema),
    decide: contract('access', 'decide', access.DecideRequestSchema, access.DecideReplySchema),
    expire: contract('access', 'expire', access.ExpireRequestSchema, access.ExpireReplySchema),
  },
  audit: {
    append: contract('audit', 'append', audit.AppendRequestSchema, audit.AppendReplySchema),
  },
  graph: {
    writeFact: contract('graph', 'write-fact', graph.WriteFactRequestSchema, graph.WriteFactReplySchema),
    facts: contract('graph', 'facts', graph.FactsRequestSchema, graph.FactsReplySchema),
    search: contract('graph', 'search', graph.SearchRequestSchema, graph.SearchReplySchema),
    neighbours: contract('graph', 'neighbours', graph.NeighboursRequestSchema, graph.NeighboursReplySchema),
    provenance: contract('graph', 'provenance', graph.ProvenanceRequestSchema, graph.ProvenanceReplySchema),
  },
} as const;

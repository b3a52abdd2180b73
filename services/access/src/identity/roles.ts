/**
 * Who may publish and subscribe to what on NATS, per Kernos role. One source for the dev stack's nats-server config
 * and for the NATS chart's values in Helm, so they cannot drift. NATS checks permissions per connection; a deny
 * always wins over an allow.
 */
export const kernosRoles = ['access', 'tool-gateway', 'graph', 'scheduler', 'worker', 'model-gateway', 'cockpit', 'admin'] as const;
export type KernosRole = (typeof kernosRoles)[number];

export interface RolePermissions {
  publish: { allow: string[]; deny: string[] };
  subscribe: { allow: string[]; deny: string[] };
}

/** Records of the AUDIT stream (one subject per run). Only services that write audit records may publish here. */
const AUDIT_RECORDS = 'kernos.audit.*.*.*';
/** JetStream API calls that could delete, rewrite or purge the audit trail or the approvals. */
const AUDIT_TAMPERING = [
  '$JS.API.STREAM.DELETE.AUDIT',
  '$JS.API.STREAM.UPDATE.AUDIT',
  '$JS.API.STREAM.PURGE.AUDIT',
  '$JS.API.STREAM.MSG.DELETE.AUDIT',
  '$JS.API.STREAM.DELETE.KV_KERNOS_APPROVALS',
  '$JS.API.STREAM.PURGE.KV_KERNOS_APPROVALS',
  '$JS.API.STREAM.MSG.DELETE.KV_KERNOS_APPROVALS',
];
/**
 * The JetStream API calls of reading the AUDIT stream with an ordered consumer (@kernos/audit queryAudit): create,
 * inspect, pull from and delete its own consumer. Nothing here changes a stored record.
 */
const AUDIT_READ = [
  '$JS.API.INFO',
  '$JS.API.STREAM.INFO.AUDIT',
  '$JS.API.CONSUMER.CREATE.AUDIT',
  '$JS.API.CONSUMER.CREATE.AUDIT.>',
  '$JS.API.CONSUMER.INFO.AUDIT.>',
  '$JS.API.CONSUMER.MSG.NEXT.AUDIT.>',
  '$JS.API.CONSUMER.DELETE.AUDIT.>',
];
/** Every process answers requests on reply inboxes and uses micro-service discovery. */
const COMMON_SUB = ['_INBOX.>'];
const SERVICE_SUB = (service: string) => [`kernos.${service}.>`, '$SRV.>', ...COMMON_SUB];
const SYSTEM = ['$SYS.>'];

export const rolePermissions: Record<KernosRole, RolePermissions> = {
  // The audit writer and owner of the AUDIT stream and the approvals bucket; it also relays kernos.audit.append.
  access: {
    publish: { allow: [AUDIT_RECORDS, '$JS.API.>', '$KV.KERNOS_APPROVALS.>', '$SRV.>', '_INBOX.>'], deny: SYSTEM },
    subscribe: { allow: [...SERVICE_SUB('access'), 'kernos.audit.append'], deny: [] },
  },
  'tool-gateway': {
    // kernos.graph.facts: the kernel tool `recall` (services/tool-gateway/src/kernel-tools.ts) reads memory as the calling job.
    publish: { allow: ['kernos.access.check', 'kernos.graph.facts', AUDIT_RECORDS, '$JS.API.>', '$SRV.>', '_INBOX.>'], deny: [...SYSTEM, ...AUDIT_TAMPERING, '$KV.KERNOS_APPROVALS.>'] },
    subscribe: { allow: SERVICE_SUB('tool-gateway'), deny: [] },
  },
  graph: {
    // Its outbox (services/graph/src/outbox.ts): accepted writes go to the outbox stream before Neo4j, and the
    // consumer tells a waiting synchronous write on kernos.graph.applied.<key> that it landed.
    publish: { allow: ['kernos.access.check', 'kernos.graph.outbox.*', 'kernos.graph.applied.*', AUDIT_RECORDS, '$JS.API.>', '$KV.>', '$O.>', '$SRV.>', '_INBOX.>'], deny: [...SYSTEM, ...AUDIT_TAMPERING, '$KV.KERNOS_APPROVALS.>'] },
    subscribe: { allow: SERVICE_SUB('graph'), deny: [] },
  },
  scheduler: {
    publish: { allow: ['kernos.access.check', AUDIT_RECORDS, '$JS.API.>', '$KV.>', '$SRV.>', '_INBOX.>'], deny: [...SYSTEM, ...AUDIT_TAMPERING, '$KV.KERNOS_APPROVALS.>'] },
    subscribe: { allow: SERVICE_SUB('scheduler'), deny: [] },
  },
  // Workers run agent code's activities: they ask the kernel, they never write the audit trail or decide approvals.
  worker: {
    publish: {
      allow: [
        // Leases: direct acquire, or a ticket the scheduler signals (enqueue, ticket, withdraw), renewed and released.
        'kernos.scheduler.acquire',
        'kernos.scheduler.release',
        'kernos.scheduler.enqueue',
        'kernos.scheduler.ticket',
        'kernos.scheduler.withdraw',
        'kernos.scheduler.renew',
        'kernos.tool-gateway.call',
        'kernos.tool-gateway.list',
        'kernos.access.check',
        'kernos.access.request-approval',
        'kernos.access.expire',
        'kernos.graph.>',
        'kernos.model-gateway.>',
        'kernos.audit.append',
        // The run's context is kept by reference in a JetStream object store.
        '$JS.API.>',
        '$O.>',
        '_INBOX.>',
      ],
      // kernos.graph.> is for the graph's request subjects; its outbox and applied notices are the graph's own:
      // a worker publishing there would skip the graph's access check or fake a write's confirmation.
      deny: [...SYSTEM, AUDIT_RECORDS, ...AUDIT_TAMPERING, '$KV.KERNOS_APPROVALS.>', 'kernos.access.decide', '$JS.API.STREAM.CREATE.AUDIT', '$JS.API.CONSUMER.*.AUDIT.>', '$JS.API.CONSUMER.*.AUDIT', 'kernos.graph.outbox.>', 'kernos.graph.applied.>'],
    },
    subscribe: { allow: COMMON_SUB, deny: [] },
  },
  // The OpenAI-compatible endpoint for unchanged clients: it asks access, takes, renews and returns leases, and appends
  // audit records through access (it never writes the AUDIT stream itself). It serves HTTP, not NATS, so it
  // subscribes to reply inboxes only. The subjects are the contracts its handlers call
  // (services/model-gateway/src/handlers/chat-completions.ts, audit.ts).
  'model-gateway': {
    publish: {
      allow: ['kernos.access.check', 'kernos.scheduler.acquire', 'kernos.scheduler.renew', 'kernos.scheduler.release', 'kernos.audit.append'],
      deny: [...SYSTEM, AUDIT_RECORDS, ...AUDIT_TAMPERING, '$KV.>', '$O.>', '$JS.API.>'],
    },
    subscribe: { allow: COMMON_SUB, deny: [] },
  },
  // The operator surface (services/cockpit/src/sources.ts, the CLI's operator): lists and steers jobs, decides
  // approvals as the person signed in, searches the graph, and reads (never writes) the AUDIT stream with an
  // ordered consumer. It serves HTTP, not NATS, so it subscribes to reply inboxes only.
  cockpit: {
    publish: {
      allow: [
        'kernos.scheduler.listJobs',
        'kernos.scheduler.describeJob',
        'kernos.scheduler.stats',
        'kernos.scheduler.control',
        'kernos.access.approvals',
        'kernos.access.decide',
        'kernos.graph.search',
        'kernos.graph.facts',
        ...AUDIT_READ,
      ],
      deny: [...SYSTEM, AUDIT_RECORDS, ...AUDIT_TAMPERING, '$KV.>', '$O.>', 'kernos.audit.append'],
    },
    subscribe: { allow: COMMON_SUB, deny: [] },
  },
  // Break-glass for people operating the cluster (stream admin, the audit CLI): everything.
  admin: {
    publish: { allow: ['>'], deny: [] },
    subscribe: { allow: ['>'], deny: [] },
  },
};

/** The NATS user name of a role (the Helm chart's `nats.credentials.users` defaults). */
export function natsUser(role: KernosRole): string {
  return `kernos-${role}`;
}

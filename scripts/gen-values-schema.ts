/**
 * Generates helm/kernos/values.schema.json, the strict JSON Schema of the chart's values.
 *
 * The eight components share most of their settings. A shared definition referenced with `$ref` would need
 * `unevaluatedProperties` to stay strict, and Helm's validator then reports every sibling key as a
 * "false schema" once one of them is wrong; spelling the shared settings out in each component keeps the
 * message to the one misspelt key ("additional properties 'replicaCont' not allowed").
 *
 *   npx tsx scripts/gen-values-schema.ts           # rewrite the schema
 *   npx tsx scripts/gen-values-schema.ts --check   # exit 1 when the committed schema is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { endpointConfigSchema } from '@kernos/scheduler';

type Schema = Record<string, unknown>;

const schemaPath = fileURLToPath(new URL('../helm/kernos/values.schema.json', import.meta.url));

/** A closed object: unknown keys fail validation, which is what turns a typo into a lint error. */
const obj = (properties: Record<string, Schema>, required: string[] = [], extra: Schema = {}): Schema => ({
  type: 'object',
  additionalProperties: false,
  properties,
  ...(required.length > 0 ? { required } : {}),
  ...extra,
});
const str = (description: string, extra: Schema = {}): Schema => ({ type: 'string', description, ...extra });
const int = (description: string, extra: Schema = {}): Schema => ({ type: 'integer', description, ...extra });
const positive = (description: string, minimum = 1): Schema => int(description, { minimum });
const bool = (description: string): Schema => ({ type: 'boolean', description });
const stringMap = (description: string): Schema => ({ type: 'object', description, additionalProperties: { type: 'string' } });
/** A Kubernetes type the chart passes through; the rendered manifests are validated against the Kubernetes schemas. */
const k8sObject = (what: string): Schema => ({ type: 'object', description: `A Kubernetes ${what}, passed through as is.` });
const k8sList = (what: string): Schema => ({ type: 'array', description: `A list of Kubernetes ${what}, passed through as is.`, items: { type: 'object' } });

const roles = ['scheduler', 'tool-gateway', 'access', 'graph', 'worker', 'model-gateway', 'cockpit'];
const perRole = (description: string, minLength: number): Schema =>
  obj(Object.fromEntries(roles.map((role) => [role, { type: 'string', minLength }])), roles, { description });

const peers: Schema = {
  type: 'array',
  description: 'NetworkPolicy peers (podSelector, namespaceSelector, ipBlock); empty allows any destination on the ports.',
  items: { type: 'object' },
};
const ports: Schema = {
  type: 'array',
  minItems: 1,
  description: 'NetworkPolicy ports.',
  items: obj({ port: { type: ['integer', 'string'] }, endPort: { type: 'integer' }, protocol: { enum: ['TCP', 'UDP', 'SCTP'] } }, ['port']),
};
const egressTarget: Schema = { $ref: '#/$defs/egressTarget' };

const probeTiming = obj(
  Object.fromEntries(
    ['initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'failureThreshold', 'successThreshold'].map((key) => [
      key,
      { type: 'integer', minimum: key === 'initialDelaySeconds' ? 0 : 1 },
    ]),
  ),
);
const probes = obj({ enabled: bool('Probe the containers at all.'), startup: probeTiming, liveness: probeTiming, readiness: probeTiming });

/** The settings every component takes (values.yaml lists them above `scheduler`). */
const componentProperties: Record<string, Schema> = {
  replicaCount: int('Replicas.', { minimum: 0 }),
  resources: obj({ requests: { type: 'object' }, limits: { type: 'object' }, claims: { type: 'array' } }, [], { description: 'Container resources.' }),
  terminationGracePeriodSeconds: positive('Seconds the pod gets to stop after SIGTERM.'),
  podAnnotations: stringMap('Pod annotations.'),
  podLabels: stringMap('Pod labels.'),
  nodeSelector: stringMap('Node selector.'),
  tolerations: k8sList('Tolerations'),
  affinity: k8sObject('Affinity'),
  topologySpreadConstraints: k8sList('TopologySpreadConstraints'),
  priorityClassName: str('PriorityClass of the pods.'),
  extraEnv: { type: 'array', description: 'Extra EnvVars for the container.', items: { type: 'object', required: ['name'] } },
  probes: { ...probes, description: 'Overrides of the top-level probes for this component.' },
  serviceAccount: obj(
    { create: bool('Create a ServiceAccount for the component.'), name: str('Its name (default <fullname>-<component>).'), annotations: stringMap('ServiceAccount annotations.') },
    ['create'],
  ),
  pdb: obj(
    {
      enabled: bool('Create a PodDisruptionBudget.'),
      maxUnavailable: { type: ['integer', 'string'] },
      minAvailable: { type: ['integer', 'string'], description: 'Wins over maxUnavailable when set.' },
    },
    ['enabled'],
  ),
  networkPolicy: obj({ extraEgress: k8sList('NetworkPolicyEgressRules'), extraIngress: k8sList('NetworkPolicyIngressRules') }),
};
const component = (description: string, extra: Record<string, Schema> = {}, required: string[] = []): Schema =>
  obj({ ...componentProperties, ...extra }, ['replicaCount', 'terminationGracePeriodSeconds', 'serviceAccount', 'pdb', 'networkPolicy', ...required], { description });

// The scheduler's own zod schema, so a value the service would refuse (or a policy it has) cannot drift.
const { $schema: _draft, ...endpoint } = z.toJSONSchema(endpointConfigSchema, { io: 'input', target: 'draft-7' }) as Schema;
const serverName = str('Server name; it prefixes the server\'s tools as "server.tool".', { pattern: '^[A-Za-z0-9_-]+$' });
// The same fields as services/tool-gateway/src/config.ts (toolServerSchema): `trusted` lets idempotent or
// read-only tools be retried after a timeout, `protocol` picks MCP version negotiation.
const serverCommon: Record<string, Schema> = {
  trusted: bool('Idempotent or read-only tools of this server may be retried after a timeout or lost reply (default false).'),
  protocol: { enum: ['legacy', 'auto'], description: 'legacy: spec 2025-11-25; auto: probe 2026-07-28, cache, fall back (default legacy).' },
};
const toolServer: Schema = {
  oneOf: [
    obj(
      {
        name: serverName,
        transport: { const: 'stdio' },
        command: str('The executable.', { minLength: 1 }),
        args: { type: 'array', items: { type: 'string' } },
        env: stringMap('Extra environment of the child.'),
        ...serverCommon,
      },
      ['name', 'transport', 'command'],
    ),
    obj({ name: serverName, transport: { const: 'http' }, url: str('The MCP endpoint.', { pattern: '^https?://.+' }), ...serverCommon }, ['name', 'transport', 'url']),
  ],
};
const rateLimit = obj({ ratePerSecond: { type: 'number', minimum: 0 }, burst: positive('Bucket size.') }, ['ratePerSecond']);
/** KERNOS_TOOL_POLICY (services/tool-gateway/src/config.ts toolPolicySchema); every field has a default. */
const toolPolicy = obj(
  {
    breaker: obj({ consecutiveFailures: positive('Failures that open a breaker.'), halfOpenAfterMs: positive('How long an open breaker refuses calls.') }),
    retry: obj({
      maxAttempts: int('Attempts per tool, the first included.', { minimum: 1, maximum: 10 }),
      initialDelayMs: int('First backoff delay.', { minimum: 0 }),
      maxDelayMs: int('Largest backoff delay.', { minimum: 0 }),
    }),
    rateLimits: obj({ perTool: { type: 'object', additionalProperties: rateLimit, description: 'Limits per tool; "default" applies to tools not listed.' }, perAgent: rateLimit }),
  },
  [],
  { description: 'KERNOS_TOOL_POLICY: breakers, retries and rate limits.' },
);
const governance = obj(
  {
    riskLevel: { enum: ['minimal', 'limited', 'high', 'unacceptable'] },
    dataCategories: { type: 'array', items: { type: 'string', minLength: 1 } },
    humanOversight: { enum: ['none', 'on_risk', 'always'] },
    approver: { type: 'string' },
  },
  ['riskLevel'],
);
const secretToken = (description: string): Schema => str(description, { minLength: 16 });
const mcpToken = obj(
  {
    token: secretToken('The bearer token (at least 16 characters).'),
    tenant: { type: 'string' },
    jobId: str('The job the token acts for.', { minLength: 1 }),
    agentId: { type: 'string' },
    governance,
    grantedTools: { type: 'array', items: { type: 'string' } },
  },
  ['token', 'jobId', 'governance'],
);
const apiKey = obj(
  {
    key: secretToken('The API key a client sends (at least 16 characters).'),
    tenant: str('Tenant.', { minLength: 1 }),
    jobId: str('The job the key runs as.', { minLength: 1 }),
    agentId: { type: 'string' },
    endpoints: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    priority: { type: 'integer' },
    maxOutputTokens: positive('Output tokens a request may ask for.'),
    tokenBudget: positive('Tokens the job may spend through one gateway process.'),
    governance,
  },
  ['key', 'tenant', 'jobId', 'governance'],
);
const cockpitUser = obj(
  {
    name: str('Display name.', { minLength: 1 }),
    identity: str('Identity used for decisions (a job\'s approver).', { minLength: 1 }),
    role: { enum: ['operator', 'viewer'] },
    token: secretToken('Bearer token (at least 16 characters).'),
    dataCategories: { type: 'array', items: { type: 'string', minLength: 1 } },
  },
  ['name', 'identity', 'role', 'token'],
);
const service = obj({ type: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] }, annotations: stringMap('Service annotations.') }, ['type']);
const httpPort = int('HTTP port.', { minimum: 1, maximum: 65535 });

const valuesSchema: Schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Values of the kernos chart',
  description: 'Generated by scripts/gen-values-schema.ts; edit that file, not this one.',
  type: 'object',
  additionalProperties: false,
  $defs: {
    egressTarget: obj({ to: peers, ports }, ['to', 'ports'], { description: 'Where a server runs, for the NetworkPolicy egress rule to it.' }),
  },
  properties: {
    global: { type: 'object', description: 'Reserved by Helm for values shared with subcharts.' },
    nameOverride: str('Overrides the chart name.'),
    fullnameOverride: str('Overrides the resource-name prefix.'),
    namespaceOverride: str('Namespace for every resource.'),
    commonLabels: stringMap('Labels added to every resource.'),
    image: obj(
      {
        repository: str('Image repository.', { minLength: 1 }),
        tag: str('Image tag (default: the chart appVersion).'),
        digest: str('Image digest.', { pattern: '^(sha256:[a-f0-9]{64})?$' }),
        pullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
        workingDir: str('The repository root in the image.', { pattern: '^/' }),
      },
      ['repository', 'pullPolicy', 'workingDir'],
    ),
    imagePullSecrets: { type: 'array', items: obj({ name: str('Secret name.', { minLength: 1 }) }, ['name']) },
    shutdownGraceMs: positive('KERNOS_SHUTDOWN_GRACE_MS.'),
    telemetry: obj(
      {
        otlpTracesEndpoint: str('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; empty disables export.', { pattern: '^(https?://.+)?$' }),
        otlpMetricsEndpoint: str('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (the cockpit); empty disables export.', { pattern: '^(https?://.+)?$' }),
        networkPolicy: egressTarget,
      },
      ['otlpTracesEndpoint', 'networkPolicy'],
    ),
    health: obj(
      {
        port: int('Health and metrics port.', { minimum: 1, maximum: 65535 }),
        livenessPath: str('Liveness path.', { pattern: '^/' }),
        readinessPath: str('Readiness path.', { pattern: '^/' }),
      },
      ['port', 'livenessPath', 'readinessPath'],
    ),
    probes: { ...probes, required: ['enabled', 'startup', 'liveness', 'readiness'] },
    podSecurityContext: k8sObject('PodSecurityContext'),
    containerSecurityContext: k8sObject('SecurityContext'),
    tmpSizeLimit: { type: 'string', description: 'Size limit of /tmp.', pattern: '^[0-9]+(\\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$' },
    nats: obj(
      {
        url: str('KERNOS_NATS_URL.', { pattern: '^(nats|tls|ws|wss)://.+' }),
        credentials: obj(
          {
            create: bool('Create the NATS credentials Secret.'),
            existingSecret: str('A Secret you manage, with one key per role.'),
            users: perRole('NATS user per role (KERNOS_NATS_USER).', 1),
            passwords: perRole('NATS password per role, used when create is true (empty: generated).', 0),
          },
          ['create', 'existingSecret', 'users', 'passwords'],
          // A Deployment referencing a Secret that does not exist never starts: ask for the name up front.
          { if: { properties: { create: { const: false } } }, then: { properties: { existingSecret: { minLength: 1 } } } },
        ),
        networkPolicy: egressTarget,
      },
      ['url', 'credentials', 'networkPolicy'],
    ),
    temporal: obj(
      {
        address: str('KERNOS_TEMPORAL_ADDRESS (host:port).', { pattern: '^[^/:\\s]+:[0-9]+$' }),
        namespace: str('KERNOS_TEMPORAL_NAMESPACE.', { minLength: 1 }),
        networkPolicy: egressTarget,
      },
      ['address', 'namespace', 'networkPolicy'],
    ),
    neo4j: obj(
      {
        uri: str('KERNOS_NEO4J_URI.', { pattern: '^(bolt|neo4j)(\\+s|\\+ssc)?://.+' }),
        database: str('KERNOS_NEO4J_DATABASE.', { minLength: 1 }),
        timeoutMs: positive('KERNOS_NEO4J_TIMEOUT_MS.'),
        auth: obj(
          {
            enabled: bool('Connect with a user and password.'),
            user: str('KERNOS_NEO4J_USER.', { minLength: 1 }),
            create: bool('Create the Neo4j Secret.'),
            password: str('Password, used when create is true (empty: generated).'),
            existingSecret: str('A Secret you manage.'),
            secretKey: str('Key of the password in the Secret.', { minLength: 1 }),
          },
          ['enabled', 'user', 'create', 'password', 'existingSecret', 'secretKey'],
          { if: { properties: { enabled: { const: true }, create: { const: false } } }, then: { properties: { existingSecret: { minLength: 1 } } } },
        ),
        networkPolicy: egressTarget,
      },
      ['uri', 'database', 'timeoutMs', 'auth', 'networkPolicy'],
    ),
    models: obj(
      {
        apiKey: obj({ existingSecret: str('A Secret holding the model API key.'), secretKey: str('Key in that Secret.', { minLength: 1 }) }, ['existingSecret', 'secretKey']),
        networkPolicy: obj({ egress: k8sList('NetworkPolicyEgressRules') }, ['egress']),
      },
      ['apiKey', 'networkPolicy'],
    ),
    networkPolicy: obj({ enabled: bool('Create NetworkPolicies.'), dns: egressTarget, metrics: obj({ from: peers }, ['from']) }, ['enabled', 'dns', 'metrics']),
    scheduler: component(
      'The scheduler (services/scheduler).',
      {
        // With a state bucket the replicas elect a leader that alone grants; without one a second replica would
        // admit a second maxConcurrent per endpoint (the Deployment template refuses that combination).
        replicaCount: int('Replicas: more than 1 needs stateBucket (leader election over JetStream KV).', { minimum: 0, maximum: 5 }),
        stateBucket: str('KERNOS_SCHEDULER_STATE_BUCKET: JetStream KV bucket of leases, queues, controls and budgets; empty keeps them in memory.', { pattern: '^([-\\w]+)?$' }),
        endpoints: { type: 'array', items: endpoint, description: 'KERNOS_ENDPOINTS.' },
        openaiBaseUrl: str('KERNOS_OPENAI_BASE_URL.', { pattern: '^(https?://.+)?$' }),
        leaseTtlMs: positive('KERNOS_LEASE_TTL_MS.'),
      },
      ['endpoints', 'openaiBaseUrl', 'leaseTtlMs', 'stateBucket'],
    ),
    toolGateway: component(
      'The tool gateway (services/tool-gateway).',
      {
        toolServers: { type: 'array', items: toolServer, description: 'KERNOS_TOOL_SERVERS.' },
        toolTimeoutMs: positive('KERNOS_TOOL_TIMEOUT_MS.'),
        connectTimeoutMs: int('KERNOS_TOOL_CONNECT_TIMEOUT_MS; 0 uses toolTimeoutMs.', { minimum: 0 }),
        policy: toolPolicy,
        capabilities: {
          type: 'object',
          description: 'KERNOS_TOOL_CAPABILITIES: capability name => its tools, cheapest first.',
          propertyNames: { pattern: '^[A-Za-z0-9_.-]+$' },
          additionalProperties: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        },
        accessChecks: bool('KERNOS_TOOL_ACCESS: ask services/access on every list and call.'),
        audit: { enum: ['jetstream', 'off'], description: 'KERNOS_TOOL_AUDIT.' },
        mcpEndpoint: obj(
          {
            enabled: bool('Serve the kernel MCP endpoint.'),
            port: httpPort,
            path: str('HTTP path.', { pattern: '^/' }),
            sessionIdleMs: positive('Idle session timeout.'),
            tokens: { type: 'array', items: mcpToken, description: 'Bearer tokens (used when existingSecret is empty).' },
            existingSecret: str('A Secret holding the token list as JSON.'),
            secretKey: str('Key of the token list in existingSecret.', { minLength: 1 }),
            service,
            from: peers,
          },
          ['enabled', 'port', 'path', 'sessionIdleMs', 'tokens', 'existingSecret', 'secretKey', 'service', 'from'],
        ),
      },
      ['toolServers', 'toolTimeoutMs', 'connectTimeoutMs', 'policy', 'capabilities', 'accessChecks', 'audit', 'mcpEndpoint'],
    ),
    access: component('The access service (services/access).'),
    graph: component('The graph service (services/graph).'),
    worker: component(
      'The Temporal worker (workflows).',
      {
        taskQueue: str('KERNOS_TASK_QUEUE.', { minLength: 1 }),
        autoscaling: obj(
          {
            enabled: bool('Create a HorizontalPodAutoscaler.'),
            minReplicas: positive('Fewest replicas.'),
            maxReplicas: positive('Most replicas.'),
            targetCPUUtilizationPercentage: positive('Target CPU utilisation, % of the request.'),
            targetMemoryUtilizationPercentage: positive('Target memory utilisation, % of the request; 0 leaves memory out.', 0),
            behavior: k8sObject('HorizontalPodAutoscalerBehavior'),
          },
          ['enabled', 'minReplicas', 'maxReplicas', 'targetCPUUtilizationPercentage'],
        ),
      },
      ['taskQueue', 'autoscaling'],
    ),
    modelGateway: component(
      'The OpenAI-compatible model gateway (services/model-gateway).',
      {
        enabled: bool('Run the model gateway.'),
        port: httpPort,
        service,
        ingressFrom: peers,
        apiKeys: { type: 'array', items: apiKey, description: 'API keys (used when existingSecret is empty).' },
        existingSecret: str('A Secret holding the key list as JSON.'),
        secretKey: str('Key of the key list in existingSecret.', { minLength: 1 }),
        leaseWaitMs: positive('KERNOS_MODEL_GATEWAY_LEASE_WAIT_MS.'),
      },
      ['enabled', 'port', 'service', 'ingressFrom', 'apiKeys', 'existingSecret', 'secretKey', 'leaseWaitMs'],
    ),
    cockpit: component(
      'The operator cockpit (services/cockpit).',
      {
        enabled: bool('Run the cockpit.'),
        port: httpPort,
        service,
        ingressFrom: peers,
        users: { type: 'array', items: cockpitUser, description: 'Users (used when existingSecret is empty; empty: one generated operator).' },
        existingSecret: str('A Secret holding the user list as JSON.'),
        secretKey: str('Key of the user list in existingSecret.', { minLength: 1 }),
        onlyTaskQueue: bool('Show only runs on the worker task queue.'),
        auditStream: str('KERNOS_AUDIT_STREAM.', { minLength: 1 }),
        refreshMs: int('KERNOS_COCKPIT_REFRESH_MS.', { minimum: 200 }),
        traceUrl: str('KERNOS_TRACE_URL ({traceId} is replaced).'),
        prices: {
          type: 'object',
          description: 'KERNOS_COCKPIT_PRICES: price per million tokens by model.',
          additionalProperties: obj({ input: { type: 'number', minimum: 0 }, output: { type: 'number', minimum: 0 } }, ['input', 'output']),
        },
      },
      ['enabled', 'port', 'service', 'ingressFrom', 'users', 'existingSecret', 'secretKey', 'onlyTaskQueue', 'auditStream', 'refreshMs'],
    ),
    modelEmulator: component(
      'The model emulator (packages/model-emulator).',
      {
        enabled: bool('Run the model emulator.'),
        port: int('HTTP port.', { minimum: 1, maximum: 65535 }),
        service: obj({ type: { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] }, annotations: stringMap('Service annotations.') }, ['type']),
        models: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'KERNOS_EMULATOR_MODELS.' },
        env: {
          type: 'object',
          description: 'KERNOS_EMULATOR_* settings.',
          propertyNames: { pattern: '^KERNOS_EMULATOR_[A-Z0-9_]+$' },
          additionalProperties: { type: ['string', 'number', 'boolean'] },
        },
      },
      ['enabled', 'port', 'service'],
    ),
  },
  required: ['image', 'shutdownGraceMs', 'health', 'probes', 'nats', 'temporal', 'neo4j', 'models', 'networkPolicy', 'scheduler', 'toolGateway', 'access', 'graph', 'worker', 'modelGateway', 'cockpit', 'modelEmulator'],
};

const rendered = `${JSON.stringify(valuesSchema, null, 2)}\n`;
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(schemaPath, 'utf8');
  } catch {
    // A missing file is stale too.
  }
  if (committed !== rendered) {
    console.error('kernos: helm/kernos/values.schema.json is stale; run: npx tsx scripts/gen-values-schema.ts');
    process.exit(1);
  }
  console.log('values.schema.json is current');
} else {
  writeFileSync(schemaPath, rendered);
  console.log(`wrote ${schemaPath}`);
}

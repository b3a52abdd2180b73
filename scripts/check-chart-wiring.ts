/**
 * Checks that helm/kernos wires each process to what it needs: renders the chart with `helm template` for
 * several value sets and asserts on the manifests, so a renamed key, a wrong secret reference or a lost env
 * var fails here rather than as a pod stuck in CreateContainerConfigError.
 *
 *   npx tsx scripts/check-chart-wiring.ts [--verbose]
 *
 * Run by scripts/check-deploy.sh after scripts/setup-deploy-tools.sh. It needs helm and, to read the YAML
 * helm prints, the Python of the kubernetes-validate venv (PyYAML comes with it), both from
 * ${KERNOS_CACHE:-$HOME/.cache/kernos}; KERNOS_HELM and KERNOS_DEPLOY_PYTHON override them.
 * Prints a line per value set and every failed assertion (--verbose: every assertion); exits 1 on a failure.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contracts } from '@kernos/wire';
import { accessConfigSchema, loadAccessConfig } from '../services/access/src/config.js';
import { chartRoles } from '../services/access/src/identity/nats-config.js';
import { natsUser, rolePermissions, type KernosRole } from '../services/access/src/identity/roles.js';
import { cockpitConfigSchema, loadCockpitConfig } from '../services/cockpit/src/config.js';
import { graphConfigSchema, loadGraphConfig } from '../services/graph/src/config.js';
import { loadModelGatewayConfig, modelGatewayConfigSchema } from '../services/model-gateway/src/config.js';
import { loadSchedulerConfig, schedulerConfigSchema } from '../services/scheduler/src/config.js';
import { loadToolGatewayConfig, toolGatewayConfigSchema } from '../services/tool-gateway/src/config.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const cache = process.env.KERNOS_CACHE ?? join(homedir(), '.cache', 'kernos');
const helm = process.env.KERNOS_HELM ?? join(cache, 'bin', 'helm');
const python = process.env.KERNOS_DEPLOY_PYTHON ?? join(cache, 'venv', 'bin', 'python');
const kubeVersion = process.env.KERNOS_KUBE_VERSION ?? '1.33.0';
const namespace = 'kernos';

// ---- the little of the Kubernetes types this check reads ----------------------------------------------

interface Metadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: Metadata;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string };
    secretKeyRef?: { name: string; key: string };
  };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  command?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: { runAsNonRoot?: boolean; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
}
interface Deployment extends Manifest {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: {
        serviceAccountName?: string;
        automountServiceAccountToken?: boolean;
        securityContext?: { runAsNonRoot?: boolean };
        containers: Container[];
        volumes?: { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } }[];
      };
    };
  };
}
interface ConfigMap extends Manifest {
  data?: Record<string, string>;
}
interface Secret extends Manifest {
  data?: Record<string, string>;
}
interface Service extends Manifest {
  spec: { selector: Record<string, string>; ports: { name?: string; port: number; targetPort?: string | number }[] };
}
interface PodDisruptionBudget extends Manifest {
  spec: { selector: { matchLabels: Record<string, string> } };
}
interface NetworkPolicyPort {
  port?: number | string;
}
interface NetworkPolicy extends Manifest {
  spec: {
    podSelector: { matchLabels?: Record<string, string> };
    policyTypes?: string[];
    ingress?: { ports?: NetworkPolicyPort[] }[];
    egress?: { ports?: NetworkPolicyPort[] }[];
  };
}
interface HorizontalPodAutoscaler extends Manifest {
  spec: { scaleTargetRef: { kind: string; name: string }; minReplicas?: number; maxReplicas: number };
}

// ---- what each value set should produce --------------------------------------------------------------

interface Endpoint {
  name: string;
  baseUrl: string;
  model: string;
  maxConcurrent: number;
}

interface Case {
  name: string;
  release: string;
  /** Extra arguments for `helm template` (values files, --set). */
  args: string[];
  /** Prefix of every resource name. */
  fullname: string;
  natsUrl: string;
  /** The Secret with one key per NATS role, and whether the chart creates it. */
  natsSecret: { name: string; created: boolean };
  neo4j: { uri: string; secret?: { name: string; key: string; created: boolean } };
  temporalAddress: string;
  taskQueue: string;
  /** KERNOS_ENDPOINTS as the scheduler should read it; undefined: not set (the default endpoint is used). */
  endpoints?: Endpoint[];
  /** KERNOS_OPENAI_BASE_URL; undefined: not set. */
  openaiBaseUrl?: string;
  emulator: boolean;
  /** Whether the kernel processes are probed on /healthz and /readyz (the emulator always is, on /health). */
  probes: boolean;
  workerAutoscaling: boolean;
  /** The Secret the worker's model API key comes from; undefined: none. */
  modelApiKeySecret?: { name: string; key: string };
  /** The model gateway's API keys: the Secret and key they are mounted from; undefined: the gateway is off. */
  modelGateway?: { secret: string; key: string; created: boolean; port: number };
  /** The cockpit's users: the Secret and key; undefined: the cockpit is off. */
  cockpit?: { secret: string; key: string; created: boolean; port: number; onlyTaskQueue: boolean };
  /** The tool gateway's MCP endpoint: port and the Secret of its tokens; undefined: off. */
  mcpEndpoint?: { port: number; secret: string; key: string; created: boolean };
  /** Tool-gateway settings the case sets, as the gateway must read them back (config loader output). */
  toolGateway?: { connectTimeoutMs?: number; access: 'on' | 'off'; audit: 'jetstream' | 'off'; capabilities?: Record<string, string[]>; maxAttempts?: number };
}

/**
 * Every process the chart runs: its NATS role, entry point, and the source its kernel calls are read from (for
 * the subject check: each `contracts.<service>.<verb>` it calls must be allowed by its role).
 */
const services: readonly { component: string; role: KernosRole; entry: string; sources: readonly string[] }[] = [
  { component: 'scheduler', role: 'scheduler', entry: 'services/scheduler/src/main.ts', sources: ['services/scheduler/src'] },
  { component: 'tool-gateway', role: 'tool-gateway', entry: 'services/tool-gateway/src/main.ts', sources: ['services/tool-gateway/src'] },
  { component: 'access', role: 'access', entry: 'services/access/src/main.ts', sources: ['services/access/src'] },
  { component: 'graph', role: 'graph', entry: 'services/graph/src/main.ts', sources: ['services/graph/src'] },
  { component: 'worker', role: 'worker', entry: 'workflows/src/main.ts', sources: ['workflows/src/activities'] },
  { component: 'model-gateway', role: 'model-gateway', entry: 'services/model-gateway/src/main.ts', sources: ['services/model-gateway/src'] },
  // The cockpit steers runs through the CLI's operator (packages/cli/src/operator.ts).
  { component: 'cockpit', role: 'cockpit', entry: 'services/cockpit/src/main.ts', sources: ['services/cockpit/src', 'packages/cli/src/operator.ts'] },
];
const roles: readonly string[] = services.map((service) => service.role);

/** Components the chart may leave out, and whether a case runs them. */
const present = (testCase: Case, component: string): boolean =>
  component === 'model-gateway' ? testCase.modelGateway !== undefined : component === 'cockpit' ? testCase.cockpit !== undefined : true;

const emulatorEndpoint = (fullname: string): Endpoint => ({
  name: 'default',
  baseUrl: `http://${fullname}-model-emulator:8400/v1`,
  model: 'kernos-emu-small',
  maxConcurrent: 4,
});

const cases: Case[] = [
  {
    name: 'default values',
    release: 'demo',
    args: [],
    fullname: 'demo-kernos',
    natsUrl: 'nats://nats:4222',
    natsSecret: { name: 'demo-kernos-nats', created: true },
    neo4j: { uri: 'bolt://neo4j:7687', secret: { name: 'demo-kernos-neo4j', key: 'password', created: true } },
    temporalAddress: 'temporal-frontend:7233',
    taskQueue: 'kernos-agents',
    openaiBaseUrl: 'http://demo-kernos-model-emulator:8400/v1',
    emulator: true,
    probes: true,
    workerAutoscaling: false,
    modelGateway: { secret: 'demo-kernos-model-gateway', key: 'keys.json', created: true, port: 8480 },
    cockpit: { secret: 'demo-kernos-cockpit', key: 'users', created: true, port: 8470, onlyTaskQueue: true },
    toolGateway: { access: 'on', audit: 'jetstream' },
  },
  {
    name: 'values-dev.yaml',
    release: 'kernos',
    args: ['--values', 'helm/kernos/values-dev.yaml'],
    fullname: 'kernos',
    natsUrl: 'nats://nats:4222',
    natsSecret: { name: 'kernos-nats', created: true },
    neo4j: { uri: 'bolt://neo4j:7687', secret: { name: 'kernos-neo4j', key: 'password', created: true } },
    temporalAddress: 'temporal-frontend:7233',
    taskQueue: 'kernos-agents',
    endpoints: [emulatorEndpoint('kernos')],
    openaiBaseUrl: 'http://kernos-model-emulator:8400/v1',
    emulator: true,
    probes: true,
    workerAutoscaling: false,
    modelGateway: { secret: 'kernos-model-gateway', key: 'keys.json', created: true, port: 8480 },
    cockpit: { secret: 'kernos-cockpit', key: 'users', created: true, port: 8470, onlyTaskQueue: true },
    mcpEndpoint: { port: 7410, secret: 'kernos-tool-gateway-mcp', key: 'tokens', created: true },
    toolGateway: { access: 'on', audit: 'jetstream' },
  },
  {
    name: 'values-production.yaml',
    release: 'kernos',
    args: ['--values', 'helm/kernos/values-production.yaml'],
    fullname: 'kernos',
    natsUrl: 'tls://nats.nats.svc.cluster.local:4222',
    natsSecret: { name: 'kernos-nats-credentials', created: false },
    neo4j: { uri: 'neo4j+s://neo4j.neo4j.svc.cluster.local:7687', secret: { name: 'kernos-neo4j', key: 'password', created: false } },
    temporalAddress: 'temporal-frontend.temporal.svc.cluster.local:7233',
    taskQueue: 'kernos-agents',
    endpoints: [
      { name: 'local-llama', baseUrl: 'http://vllm.inference.svc.cluster.local:8000/v1', model: 'meta-llama/Llama-3.1-8B-Instruct', maxConcurrent: 16 },
      { name: 'openai', baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o-mini', maxConcurrent: 32 },
    ],
    emulator: false,
    probes: true,
    workerAutoscaling: true,
    modelApiKeySecret: { name: 'kernos-model-api-key', key: 'api-key' },
    modelGateway: { secret: 'kernos-model-gateway-keys', key: 'keys.json', created: false, port: 8480 },
    cockpit: { secret: 'kernos-cockpit-users', key: 'users', created: false, port: 8470, onlyTaskQueue: true },
    mcpEndpoint: { port: 7410, secret: 'kernos-mcp-tokens', key: 'tokens', created: false },
    toolGateway: { connectTimeoutMs: 10000, access: 'on', audit: 'jetstream', capabilities: { search: ['search.brave_web_search', 'search.web_search'] }, maxAttempts: 2 },
  },
  {
    name: 'existing secrets, emulator off, Neo4j without auth',
    release: 'k',
    args: [
      '--set', 'nats.url=nats://nats.messaging:4222',
      '--set', 'nats.credentials.create=false',
      '--set', 'nats.credentials.existingSecret=my-nats',
      '--set', 'neo4j.auth.enabled=false',
      '--set', 'modelEmulator.enabled=false',
      '--set', 'scheduler.openaiBaseUrl=http://vllm:8000/v1',
      '--set', 'temporal.address=temporal.example:7233',
      '--set', 'worker.taskQueue=agents-b',
      '--set', 'modelGateway.enabled=false',
      '--set', 'cockpit.enabled=false',
      '--set', 'toolGateway.accessChecks=false',
      '--set', 'toolGateway.audit=off',
    ],
    fullname: 'k-kernos',
    natsUrl: 'nats://nats.messaging:4222',
    natsSecret: { name: 'my-nats', created: false },
    neo4j: { uri: 'bolt://neo4j:7687' },
    temporalAddress: 'temporal.example:7233',
    taskQueue: 'agents-b',
    openaiBaseUrl: 'http://vllm:8000/v1',
    emulator: false,
    probes: true,
    workerAutoscaling: false,
    toolGateway: { access: 'off', audit: 'off' },
  },
  {
    name: 'worker autoscaling, existing Neo4j secret',
    release: 'kernos',
    args: [
      '--set', 'worker.autoscaling.enabled=true',
      '--set', 'neo4j.auth.create=false',
      '--set', 'neo4j.auth.existingSecret=graph-db',
      '--set', 'neo4j.auth.secretKey=neo4j-password',
      '--set', 'cockpit.onlyTaskQueue=false',
    ],
    fullname: 'kernos',
    natsUrl: 'nats://nats:4222',
    natsSecret: { name: 'kernos-nats', created: true },
    neo4j: { uri: 'bolt://neo4j:7687', secret: { name: 'graph-db', key: 'neo4j-password', created: false } },
    temporalAddress: 'temporal-frontend:7233',
    taskQueue: 'kernos-agents',
    openaiBaseUrl: 'http://kernos-model-emulator:8400/v1',
    emulator: true,
    probes: true,
    workerAutoscaling: true,
    modelGateway: { secret: 'kernos-model-gateway', key: 'keys.json', created: true, port: 8480 },
    cockpit: { secret: 'kernos-cockpit', key: 'users', created: true, port: 8470, onlyTaskQueue: false },
    toolGateway: { access: 'on', audit: 'jetstream' },
  },
];

// ---- rendering ----------------------------------------------------------------------------------------

function render(testCase: Case): Manifest[] {
  const yaml = execFileSync(
    helm,
    ['template', testCase.release, 'helm/kernos', '--namespace', namespace, '--kube-version', kubeVersion, ...testCase.args],
    { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // helm prints YAML; PyYAML from the kubernetes-validate venv turns it into JSON, so this check needs no
  // npm dependency of its own.
  const json = execFileSync(
    python,
    ['-c', 'import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)'],
    { input: yaml, encoding: 'utf8' },
  );
  return JSON.parse(json) as Manifest[];
}

// ---- assertions ---------------------------------------------------------------------------------------

const verbose = process.argv.includes('--verbose');
let passed = 0;
let failed = 0;

function check(scope: string, what: string, ok: boolean, why = ''): void {
  if (ok) {
    passed += 1;
    if (verbose) console.log(`  ok    ${scope}: ${what}`);
  } else {
    failed += 1;
    console.log(`  FAIL  ${scope}: ${what}`);
    if (why) console.log(why.replace(/^/gm, '        '));
  }
}

const show = (value: unknown): string => (value === undefined ? 'nothing' : JSON.stringify(value));
const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

function checkCase(testCase: Case, manifests: Manifest[]): void {
  const find = <T extends Manifest>(kind: string, name: string): T | undefined =>
    manifests.find((m) => m.kind === kind && m.metadata.name === name) as T | undefined;
  const { fullname } = testCase;
  const configMap = find<ConfigMap>('ConfigMap', `${fullname}-config`);
  check(testCase.name, `ConfigMap ${fullname}-config exists`, configMap !== undefined);
  const secrets = manifests.filter((m): m is Secret => m.kind === 'Secret');

  check(
    testCase.name,
    `every resource is in namespace ${namespace}`,
    manifests.every((m) => m.metadata.namespace === namespace),
    `not: ${manifests.filter((m) => m.metadata.namespace !== namespace).map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`,
  );

  // The NATS Secret: created with one key per role, or not created (the user's own).
  const natsSecret = find<Secret>('Secret', testCase.natsSecret.name);
  if (testCase.natsSecret.created) {
    const keys = Object.keys(natsSecret?.data ?? {}).sort();
    check(testCase.name, `Secret ${testCase.natsSecret.name} holds one password per NATS role of the generator (chartRoles)`, sameJson(keys, [...chartRoles].sort()), `keys: ${show(keys)}`);
  } else {
    check(testCase.name, `the chart creates no NATS Secret (existingSecret ${testCase.natsSecret.name} is used)`, natsSecret === undefined && !secrets.some((s) => s.metadata.name.endsWith('-nats')));
  }
  const neo4jSecret = testCase.neo4j.secret;
  if (neo4jSecret?.created) {
    check(testCase.name, `Secret ${neo4jSecret.name} holds key ${neo4jSecret.key}`, find<Secret>('Secret', neo4jSecret.name)?.data?.[neo4jSecret.key] !== undefined);
  } else {
    check(testCase.name, 'the chart creates no Neo4j Secret', !secrets.some((s) => s.metadata.name.endsWith('-neo4j')));
  }

  /** What an env var resolves to: a literal, a value of the chart's ConfigMap, or a Secret reference. */
  const resolve = (env: EnvVar[], name: string): { value?: string; secret?: { name: string; key: string } } | undefined => {
    const found = env.find((e) => e.name === name);
    if (!found) return undefined;
    if (found.value !== undefined) return { value: found.value };
    const fromConfig = found.valueFrom?.configMapKeyRef;
    if (fromConfig) return { value: fromConfig.name === configMap?.metadata.name ? configMap.data?.[fromConfig.key] : undefined };
    const fromSecret = found.valueFrom?.secretKeyRef;
    return fromSecret ? { secret: { name: fromSecret.name, key: fromSecret.key } } : {};
  };

  for (const service of services) {
    const name = `${fullname}-${service.component}`;
    const scope = `${testCase.name} / ${service.component}`;
    const deployment = find<Deployment>('Deployment', name);
    if (!present(testCase, service.component)) {
      const leftovers = manifests.filter((m) => m.metadata.labels?.['app.kubernetes.io/component'] === service.component);
      check(scope, 'is disabled: no resource of it is rendered', leftovers.length === 0, `found: ${leftovers.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`);
      check(scope, 'is disabled: no ConfigMap key or Secret of it', !secrets.some((x) => x.metadata.name === name) && !Object.keys(configMap?.data ?? {}).some((k) => k.startsWith(`KERNOS_${service.component.replace('-', '_').toUpperCase()}_`)));
      continue;
    }
    check(scope, `Deployment ${name} exists`, deployment !== undefined);
    if (!deployment) continue;
    const pod = deployment.spec.template;
    const container = pod.spec.containers.find((c) => c.name === service.component);
    check(scope, `has a container named ${service.component}`, container !== undefined);
    if (!container) continue;
    const env = container.env ?? [];

    const command = container.command ?? [];
    check(scope, `runs node --import tsx ${service.entry}`, sameJson(command, ['node', '--import', 'tsx', service.entry]), `command: ${show(command)}`);
    check(scope, `its entry ${service.entry} exists in the repository`, existsSync(join(repoRoot, service.entry)));
    // The probes hit /healthz and /readyz: the process must serve them (service-kit's health server).
    const entrySource = existsSync(join(repoRoot, service.entry)) ? readFileSync(join(repoRoot, service.entry), 'utf8') : '';
    check(scope, `${service.entry} starts the health server the probes hit (startHealthServer on KERNOS_HEALTH_PORT)`, /startHealthServer\(\{[^}]*KERNOS_HEALTH_PORT/.test(entrySource));

    const selector = deployment.spec.selector.matchLabels;
    check(
      scope,
      'pod labels match the Deployment selector',
      Object.entries(selector).every(([k, v]) => pod.metadata.labels[k] === v) && selector['app.kubernetes.io/component'] === service.component,
      `selector: ${show(selector)}`,
    );

    // NATS: the URL, and this role's own user and password.
    const natsUrl = resolve(env, 'KERNOS_NATS_URL');
    check(scope, `gets KERNOS_NATS_URL ${testCase.natsUrl}`, natsUrl?.value === testCase.natsUrl, `got ${show(natsUrl)}`);
    const user = resolve(env, 'KERNOS_NATS_USER');
    check(scope, `KERNOS_NATS_USER is ${natsUser(service.role)} (the generator's user of role ${service.role})`, user?.value === natsUser(service.role), `got ${show(user)}`);
    const password = resolve(env, 'KERNOS_NATS_PASSWORD');
    check(
      scope,
      `KERNOS_NATS_PASSWORD comes from Secret ${testCase.natsSecret.name}, key ${service.role}`,
      sameJson(password?.secret, { name: testCase.natsSecret.name, key: service.role }),
      `got ${show(password)}`,
    );
    const otherRoles = env.filter((e) => e.valueFrom?.secretKeyRef?.name === testCase.natsSecret.name && e.valueFrom.secretKeyRef.key !== service.role);
    check(scope, "reads no other role's NATS password", otherRoles.length === 0, `reads: ${show(otherRoles)}`);
    check(scope, 'gets KERNOS_SHUTDOWN_GRACE_MS', resolve(env, 'KERNOS_SHUTDOWN_GRACE_MS')?.value !== undefined);
    // The probes hit the container port named metrics; the process serves them on KERNOS_HEALTH_PORT.
    const healthPort = resolve(env, 'KERNOS_HEALTH_PORT');
    const metricsPort = container.ports?.find((p) => p.name === 'metrics')?.containerPort;
    check(scope, `serves its probes on the metrics port (KERNOS_HEALTH_PORT ${metricsPort})`, healthPort?.value === String(metricsPort), `got ${show(healthPort)}`);

    // Each process's own servers, and nobody else's secrets.
    const neo4jPassword = resolve(env, 'KERNOS_NEO4J_PASSWORD');
    if (service.component === 'graph') {
      const uri = resolve(env, 'KERNOS_NEO4J_URI');
      check(scope, `gets KERNOS_NEO4J_URI ${testCase.neo4j.uri}`, uri?.value === testCase.neo4j.uri, `got ${show(uri)}`);
      if (testCase.neo4j.secret) {
        const want = { name: testCase.neo4j.secret.name, key: testCase.neo4j.secret.key };
        check(scope, `KERNOS_NEO4J_PASSWORD comes from Secret ${want.name}, key ${want.key}`, sameJson(neo4jPassword?.secret, want), `got ${show(neo4jPassword)}`);
        check(scope, 'gets KERNOS_NEO4J_USER', resolve(env, 'KERNOS_NEO4J_USER')?.value !== undefined);
      } else {
        check(scope, 'gets no KERNOS_NEO4J_PASSWORD when Neo4j auth is off', neo4jPassword === undefined, `got ${show(neo4jPassword)}`);
      }
    } else {
      check(scope, 'gets no Neo4j password', neo4jPassword === undefined, `got ${show(neo4jPassword)}`);
    }
    if (service.component === 'worker') {
      const address = resolve(env, 'KERNOS_TEMPORAL_ADDRESS');
      check(scope, `gets KERNOS_TEMPORAL_ADDRESS ${testCase.temporalAddress}`, address?.value === testCase.temporalAddress, `got ${show(address)}`);
      check(scope, 'gets KERNOS_TEMPORAL_NAMESPACE', resolve(env, 'KERNOS_TEMPORAL_NAMESPACE')?.value !== undefined);
      check(scope, `gets KERNOS_TASK_QUEUE ${testCase.taskQueue}`, resolve(env, 'KERNOS_TASK_QUEUE')?.value === testCase.taskQueue);
      const apiKey = resolve(env, 'KERNOS_OPENAI_API_KEY');
      const wantKey = testCase.modelApiKeySecret;
      check(scope, `KERNOS_OPENAI_API_KEY ${wantKey ? `comes from Secret ${wantKey.name}, key ${wantKey.key}` : 'is unset'}`, sameJson(apiKey?.secret, wantKey), `got ${show(apiKey)}`);
      check(scope, testCase.workerAutoscaling ? 'leaves replicas to the HPA' : 'sets replicas', (deployment.spec.replicas === undefined) === testCase.workerAutoscaling);
    } else if (service.component === 'scheduler' || service.component === 'access' || service.component === 'cockpit') {
      // The scheduler signals lease grants, access delivers approval decisions, to waiting workflows; the
      // cockpit lists and steers runs.
      const address = resolve(env, 'KERNOS_TEMPORAL_ADDRESS');
      check(scope, `gets KERNOS_TEMPORAL_ADDRESS ${testCase.temporalAddress}`, address?.value === testCase.temporalAddress, `got ${show(address)}`);
      check(scope, 'gets KERNOS_TEMPORAL_NAMESPACE', resolve(env, 'KERNOS_TEMPORAL_NAMESPACE')?.value !== undefined);
    } else {
      check(scope, 'gets no Temporal address', resolve(env, 'KERNOS_TEMPORAL_ADDRESS') === undefined);
    }
    if (service.component === 'graph') {
      // Facts are embedded on the model endpoint the chart knows (the emulator or scheduler.openaiBaseUrl).
      const baseUrl = resolve(env, 'KERNOS_OPENAI_BASE_URL');
      check(scope, `KERNOS_OPENAI_BASE_URL (embeddings) ${testCase.openaiBaseUrl ? `is ${testCase.openaiBaseUrl}` : 'is unset'}`, baseUrl?.value === testCase.openaiBaseUrl, `got ${show(baseUrl)}`);
    }
    if (service.component === 'scheduler') {
      const endpoints = resolve(env, 'KERNOS_ENDPOINTS');
      const parsed: unknown = endpoints?.value === undefined ? undefined : JSON.parse(endpoints.value);
      const wantEndpoints = testCase.endpoints ? `lists ${testCase.endpoints.map((e) => e.name).join(', ')}` : 'is unset';
      check(scope, `KERNOS_ENDPOINTS ${wantEndpoints}`, endpointsMatch(parsed, testCase.endpoints), `got ${show(parsed)}`);
      const baseUrl = resolve(env, 'KERNOS_OPENAI_BASE_URL');
      check(scope, `KERNOS_OPENAI_BASE_URL ${testCase.openaiBaseUrl ? `is ${testCase.openaiBaseUrl}` : 'is unset'}`, baseUrl?.value === testCase.openaiBaseUrl, `got ${show(baseUrl)}`);
      check(scope, 'gets KERNOS_LEASE_TTL_MS', resolve(env, 'KERNOS_LEASE_TTL_MS')?.value !== undefined);
    }
    if (service.component === 'tool-gateway') {
      check(scope, 'gets KERNOS_TOOL_TIMEOUT_MS', resolve(env, 'KERNOS_TOOL_TIMEOUT_MS')?.value !== undefined);
    }
    checkSubjects(scope, service);
    checkConfig(scope, testCase, service.component, deployment, container, { configMap, secrets, manifests });
    // A reference to a missing key keeps the pod in CreateContainerConfigError.
    const configRefs = env.flatMap((e) => (e.valueFrom?.configMapKeyRef ? [e.valueFrom.configMapKeyRef] : []));
    const danglingConfig = configRefs.filter((ref) => ref.name !== configMap?.metadata.name || configMap.data?.[ref.key] === undefined);
    check(scope, `all ${configRefs.length} ConfigMap references name existing keys of ${fullname}-config`, danglingConfig.length === 0, `missing: ${show(danglingConfig)}`);
    const secretRefs = env.flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : []));
    const danglingSecret = secretRefs.filter((ref) => {
      const own = secrets.find((s) => s.metadata.name === ref.name);
      return own !== undefined && own.data?.[ref.key] === undefined;
    });
    check(scope, 'every key it reads from a Secret the chart creates exists', danglingSecret.length === 0, `missing: ${show(danglingSecret)}`);

    // Hardening and the companions of every Deployment.
    const security = container.securityContext ?? {};
    check(
      scope,
      'runs as non-root with a read-only root filesystem and no capabilities',
      pod.spec.securityContext?.runAsNonRoot === true &&
        security.readOnlyRootFilesystem === true &&
        security.allowPrivilegeEscalation === false &&
        sameJson(security.capabilities?.drop, ['ALL']),
      `securityContext: ${show(security)}`,
    );
    check(scope, 'mounts no ServiceAccount token', pod.spec.automountServiceAccountToken === false);
    check(scope, 'exposes port 9464 named metrics', container.ports?.some((p) => p.name === 'metrics' && p.containerPort === 9464) === true);
    if (testCase.probes) {
      check(scope, 'is probed on metrics:/healthz (startup, liveness) and metrics:/readyz (readiness)', probedOn(container, 'metrics', '/healthz', '/readyz'), `probes: ${show([container.startupProbe, container.livenessProbe, container.readinessProbe])}`);
    } else {
      check(scope, 'is not probed (probes.enabled is false)', !container.startupProbe && !container.livenessProbe && !container.readinessProbe);
    }
    const account = pod.spec.serviceAccountName;
    check(scope, `uses its own ServiceAccount ${name}`, account === name && find('ServiceAccount', name) !== undefined, `serviceAccountName: ${show(account)}`);
    const pdb = find<PodDisruptionBudget>('PodDisruptionBudget', name);
    check(scope, 'has a PodDisruptionBudget selecting its pods', pdb !== undefined && sameJson(pdb.spec.selector.matchLabels, selector));
    const policy = find<NetworkPolicy>('NetworkPolicy', name);
    check(scope, 'has a NetworkPolicy selecting its pods', policy !== undefined && sameJson(policy.spec.podSelector.matchLabels, selector));
    if (policy) {
      const egressPorts = (policy.spec.egress ?? []).flatMap((rule) => (rule.ports ?? []).map((p) => p.port));
      const ingressPorts = (policy.spec.ingress ?? []).flatMap((rule) => (rule.ports ?? []).map((p) => p.port));
      const wantIngress = ['metrics', ...(['model-gateway', 'cockpit'].includes(service.component) ? ['http'] : []), ...(service.component === 'tool-gateway' && testCase.mcpEndpoint ? ['mcp'] : [])];
      check(scope, `NetworkPolicy allows ingress only to ${wantIngress.join(', ')}`, sameJson([...new Set(ingressPorts)], wantIngress), `ingress ports: ${show(ingressPorts)}`);
      check(scope, 'NetworkPolicy allows egress to DNS and NATS', egressPorts.includes(53) && egressPorts.includes(4222), `egress ports: ${show(egressPorts)}`);
      check(scope, `NetworkPolicy allows Bolt (7687) ${service.component === 'graph' ? 'to the graph' : 'only to the graph'}`, egressPorts.includes(7687) === (service.component === 'graph'));
      const reachesTemporal = ['worker', 'scheduler', 'access', 'cockpit'].includes(service.component);
      check(scope, `NetworkPolicy allows Temporal (7233) ${reachesTemporal ? 'to' : 'only to'} the worker, scheduler, access and cockpit`, egressPorts.includes(7233) === reachesTemporal);
      const reachesModels = ['scheduler', 'worker', 'graph', 'model-gateway'].includes(service.component);
      if (testCase.emulator) {
        check(scope, `NetworkPolicy allows the emulator (8400) ${reachesModels ? 'to' : 'only to'} the scheduler, worker, graph and model gateway`, egressPorts.includes(8400) === reachesModels);
        const emulatorPolicy = find<NetworkPolicy>('NetworkPolicy', `${fullname}-model-emulator`);
        const admitted = (emulatorPolicy?.spec.ingress ?? []).some((rule) =>
          ((rule as { from?: { podSelector?: { matchLabels?: Record<string, string> } }[] }).from ?? []).some((peer) => sameJson(peer.podSelector?.matchLabels, selector)),
        );
        check(scope, `the emulator's NetworkPolicy ${reachesModels ? 'admits' : 'does not admit'} it`, admitted === reachesModels);
      }
    }
  }

  // The emulator, its Service, and the HPA.
  const emulatorName = `${fullname}-model-emulator`;
  const emulator = find<Deployment>('Deployment', emulatorName);
  const emulatorService = find<Service>('Service', emulatorName);
  if (testCase.emulator) {
    check(testCase.name, `Deployment and Service ${emulatorName} exist`, emulator !== undefined && emulatorService !== undefined);
    check(
      testCase.name,
      'the emulator Service selects the emulator pods on port 8400',
      emulator !== undefined &&
        emulatorService !== undefined &&
        Object.entries(emulatorService.spec.selector).every(([k, v]) => emulator.spec.template.metadata.labels[k] === v) &&
        emulatorService.spec.ports.some((p) => p.port === 8400),
    );
    const emulatorContainer = emulator?.spec.template.spec.containers[0];
    check(testCase.name, 'the emulator is probed on http:/health', emulatorContainer !== undefined && probedOn(emulatorContainer, 'http', '/health', '/health'));
    const emulatorEnv = emulatorContainer?.env ?? [];
    check(testCase.name, 'the emulator listens on all interfaces', emulatorEnv.some((e) => e.name === 'KERNOS_EMULATOR_HOST' && e.value === '0.0.0.0'));
    check(testCase.name, 'the emulator gets no NATS or Neo4j credentials', !emulatorEnv.some((e) => e.name.startsWith('KERNOS_NATS') || e.name.startsWith('KERNOS_NEO4J')));
  } else {
    check(testCase.name, 'no emulator Deployment or Service', emulator === undefined && emulatorService === undefined);
  }
  const hpa = find<HorizontalPodAutoscaler>('HorizontalPodAutoscaler', `${fullname}-worker`);
  if (testCase.workerAutoscaling) {
    check(testCase.name, 'an HPA scales the worker Deployment', hpa?.spec.scaleTargetRef.kind === 'Deployment' && hpa.spec.scaleTargetRef.name === `${fullname}-worker`);
  } else {
    check(testCase.name, 'no HPA', !manifests.some((m) => m.kind === 'HorizontalPodAutoscaler'));
  }
}

// ---- subjects: each kernel call a process makes is allowed by its NATS role ----------------------------

/** NATS subject matching: `*` matches one token, `>` the rest. */
function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i += 1) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}
const allowedBy = (rules: { allow: string[]; deny: string[] }, subject: string): boolean =>
  rules.allow.some((pattern) => subjectMatches(pattern, subject)) && !rules.deny.some((pattern) => subjectMatches(pattern, subject));

function sourceFiles(path: string): string[] {
  const full = join(repoRoot, path);
  if (!existsSync(full)) return [];
  if (!statSync(full).isDirectory()) return [full];
  return readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => join(full, file));
}

/** Every `contracts.<group>.<verb>` a process's source calls, as subjects. */
function calledSubjects(sources: readonly string[]): { subject: string; service: string }[] {
  const found = new Map<string, string>();
  const groups = contracts as unknown as Record<string, Record<string, { subject: string; service: string }>>;
  for (const file of sources.flatMap(sourceFiles)) {
    for (const match of readFileSync(file, 'utf8').matchAll(/\bcontracts\.(\w+)\.(\w+)\b/g)) {
      const contract = groups[match[1]!]?.[match[2]!];
      if (contract) found.set(contract.subject, contract.service);
    }
  }
  return [...found].map(([subject, service]) => ({ subject, service }));
}

/** Contract groups answered by another process than their name says: access relays kernos.audit.append. */
const servedBy: Record<string, string> = { audit: 'access' };
const checkedSubjects = new Set<string>();
/** The process's NATS role lets it call every subject its code calls (its own service's subjects: serve them). */
function checkSubjects(scope: string, service: (typeof services)[number]): void {
  // The same for every value set: checked once per component.
  if (checkedSubjects.has(service.component)) return;
  checkedSubjects.add(service.component);
  const permissions = rolePermissions[service.role];
  const called = calledSubjects(service.sources);
  check(scope, `its source calls kernel subjects (${called.length} found in ${service.sources.join(', ')})`, called.length > 0);
  for (const { subject, service: owner } of called) {
    if ((servedBy[owner] ?? owner) === service.component) {
      check(scope, `role ${service.role} may serve ${subject}`, allowedBy(permissions.subscribe, subject));
    } else {
      check(scope, `role ${service.role} may call ${subject}`, allowedBy(permissions.publish, subject), `publish rules: ${show(permissions.publish)}`);
    }
  }
  // Least privilege where it matters most: only access writes the audit trail and the approvals.
  if (service.role !== 'access') {
    for (const subject of ['kernos.audit.acme.job.run', '$KV.KERNOS_APPROVALS.apr-1', '$JS.API.STREAM.DELETE.AUDIT', '$JS.API.STREAM.PURGE.AUDIT']) {
      const mayWrite = allowedBy(permissions.publish, subject);
      const writesAudit = subject.startsWith('kernos.audit.') && ['scheduler', 'tool-gateway', 'graph'].includes(service.role);
      check(scope, `role ${service.role} ${writesAudit ? 'may' : 'may not'} publish ${subject}`, mayWrite === writesAudit);
    }
  }
}

// ---- config: what the chart sets parses with each process's own config schema -------------------------

/** Stand-ins for Secrets the user manages (the chart cannot see them), by the variable that reads them. */
const sampleSecrets: Record<string, string> = {
  KERNOS_COCKPIT_USERS: JSON.stringify([{ name: 'Ops', identity: 'ops@example.com', role: 'operator', token: 'sample-token-0123456789' }]),
  KERNOS_TOOL_MCP_TOKENS: JSON.stringify([{ token: 'sample-token-0123456789', jobId: 'job-1', governance: { riskLevel: 'minimal' } }]),
};
const configSchemas: Record<string, unknown> = {
  scheduler: schedulerConfigSchema,
  'tool-gateway': toolGatewayConfigSchema,
  access: accessConfigSchema,
  graph: graphConfigSchema,
  'model-gateway': modelGatewayConfigSchema,
  cockpit: cockpitConfigSchema,
};
/** Variables the chart sets that main.ts (not the config schema) reads, or that only feed $(VAR) expansion. */
const notInSchema = new Set(['KERNOS_MODEL_GATEWAY_KEYS_FILE', 'KERNOS_TOOL_MCP_TOKENS', 'KERNOS_HEALTH_HOST']);

interface Rendered {
  configMap: ConfigMap | undefined;
  secrets: Secret[];
  manifests: Manifest[];
}

/** The environment a container starts with: ConfigMap values, Secret values (or stand-ins), $(VAR) expanded. */
function environment(env: EnvVar[], rendered: Rendered): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    let value: string | undefined;
    if (e.value !== undefined) value = e.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => out[name] ?? whole);
    else if (e.valueFrom?.configMapKeyRef) value = rendered.configMap?.data?.[e.valueFrom.configMapKeyRef.key];
    else if (e.valueFrom?.secretKeyRef) value = secretValue(rendered, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key) ?? sampleSecrets[e.name] ?? 'sample-secret';
    if (value !== undefined) out[e.name] = value;
  }
  return out;
}

function secretValue(rendered: Rendered, name: string, key: string): string | undefined {
  const data = rendered.secrets.find((s) => s.metadata.name === name)?.data?.[key];
  return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
}

function checkConfig(scope: string, testCase: Case, component: string, deployment: Deployment, container: Container, rendered: Rendered): void {
  const schema = configSchemas[component] as { shape?: object; def?: { in?: { shape?: object } } } | undefined;
  if (!schema) return;
  const env = environment(container.env ?? [], rendered);
  const known = new Set(Object.keys(schema.shape ?? schema.def?.in?.shape ?? {}));
  // A misspelt variable name would be ignored by the process, silently keeping its default.
  const unknown = Object.keys(env).filter((name) => !known.has(name) && !notInSchema.has(name));
  check(scope, `each of its ${Object.keys(env).length} variables is one its config schema reads`, unknown.length === 0, `unknown: ${show(unknown)}`);
  const ports = new Map((container.ports ?? []).map((p) => [p.name, p.containerPort]));
  const service = rendered.manifests.find((m): m is Service => m.kind === 'Service' && m.metadata.name === deployment.metadata.name);
  const serves = (portName: string, port: number): boolean =>
    service !== undefined && service.spec.ports.some((p) => p.name === portName && p.port === port && p.targetPort === portName) &&
    sameJson(service.spec.selector, deployment.spec.selector.matchLabels);
  try {
    if (component === 'scheduler') loadSchedulerConfig(env);
    else if (component === 'access') loadAccessConfig(env);
    else if (component === 'graph') loadGraphConfig(env);
    else if (component === 'tool-gateway') {
      const config = loadToolGatewayConfig(env, { nodeExecutable: 'node' });
      const want = testCase.toolGateway;
      if (want) {
        check(scope, `the gateway reads KERNOS_TOOL_ACCESS ${want.access} and KERNOS_TOOL_AUDIT ${want.audit}`, config.KERNOS_TOOL_ACCESS === want.access && config.KERNOS_TOOL_AUDIT === want.audit);
        check(scope, `the gateway reads KERNOS_TOOL_CONNECT_TIMEOUT_MS ${want.connectTimeoutMs ?? 'unset'}`, config.KERNOS_TOOL_CONNECT_TIMEOUT_MS === want.connectTimeoutMs);
        check(scope, 'the gateway reads its capabilities', sameJson(config.KERNOS_TOOL_CAPABILITIES, want.capabilities ?? {}), `got ${show(config.KERNOS_TOOL_CAPABILITIES)}`);
        check(scope, `the gateway reads retry.maxAttempts ${want.maxAttempts ?? 3}`, config.KERNOS_TOOL_POLICY.retry.maxAttempts === (want.maxAttempts ?? 3));
      }
      const mcp = config.KERNOS_TOOL_MCP_ENDPOINT;
      if (testCase.mcpEndpoint) {
        const wanted = testCase.mcpEndpoint;
        check(scope, `the MCP endpoint listens on 0.0.0.0:${wanted.port}, the container port named mcp`, mcp?.host === '0.0.0.0' && mcp.port === wanted.port && ports.get('mcp') === wanted.port, `got ${show(mcp && { host: mcp.host, port: mcp.port })}`);
        check(scope, `the MCP tokens come from Secret ${wanted.secret}, key ${wanted.key}`, sameJson(resolveSecret(container, 'KERNOS_TOOL_MCP_TOKENS'), { name: wanted.secret, key: wanted.key }));
        check(scope, `the chart ${wanted.created ? 'creates' : 'does not create'} Secret ${wanted.secret}`, rendered.secrets.some((x) => x.metadata.name === wanted.secret) === wanted.created);
        check(scope, 'the endpoint has at least one token and none is in the Deployment', (mcp?.tokens.length ?? 0) > 0 && !JSON.stringify(deployment).includes('"token"'));
        check(scope, `Service ${deployment.metadata.name} serves port mcp (${wanted.port})`, serves('mcp', wanted.port));
      } else {
        check(scope, 'no MCP endpoint, port or Service', mcp === undefined && !ports.has('mcp') && service === undefined);
      }
    } else if (component === 'model-gateway' && testCase.modelGateway) {
      const want = testCase.modelGateway;
      // main.ts reads the keys from KERNOS_MODEL_GATEWAY_KEYS_FILE: the mounted Secret.
      const file = env.KERNOS_MODEL_GATEWAY_KEYS_FILE ?? '';
      const mount = (container.volumeMounts ?? []).find((m) => file.startsWith(`${m.mountPath}/`));
      const volume = deployment.spec.template.spec.volumes?.find((v) => v.name === mount?.name);
      const item = volume?.secret?.items?.find((i) => `${mount?.mountPath}/${i.path}` === file);
      check(scope, `KERNOS_MODEL_GATEWAY_KEYS_FILE is Secret ${want.secret}, key ${want.key}, mounted read-only`, volume?.secret?.secretName === want.secret && item?.key === want.key && mount?.readOnly === true, `file ${file}, volume ${show(volume)}`);
      check(scope, `the chart ${want.created ? 'creates' : 'does not create'} Secret ${want.secret}`, rendered.secrets.some((x) => x.metadata.name === want.secret) === want.created);
      const keys = secretValue(rendered, want.secret, want.key) ?? '[]';
      const config = loadModelGatewayConfig({ ...env, KERNOS_MODEL_GATEWAY_KEYS: keys });
      check(scope, `listens on 0.0.0.0:${want.port}, the container port named http`, config.KERNOS_MODEL_GATEWAY_HOST === '0.0.0.0' && config.KERNOS_MODEL_GATEWAY_PORT === want.port && ports.get('http') === want.port);
      check(scope, `Service ${deployment.metadata.name} serves port http (${want.port})`, serves('http', want.port));
      const apiKey = resolveSecret(container, 'KERNOS_OPENAI_API_KEY');
      check(scope, `KERNOS_OPENAI_API_KEY ${testCase.modelApiKeySecret ? `comes from Secret ${testCase.modelApiKeySecret.name}` : 'is unset'}`, sameJson(apiKey, testCase.modelApiKeySecret));
    } else if (component === 'cockpit' && testCase.cockpit) {
      const want = testCase.cockpit;
      check(scope, `KERNOS_COCKPIT_USERS comes from Secret ${want.secret}, key ${want.key}`, sameJson(resolveSecret(container, 'KERNOS_COCKPIT_USERS'), { name: want.secret, key: want.key }));
      check(scope, `the chart ${want.created ? 'creates' : 'does not create'} Secret ${want.secret}`, rendered.secrets.some((x) => x.metadata.name === want.secret) === want.created);
      const config = loadCockpitConfig(env);
      check(scope, `has at least one user (${config.KERNOS_COCKPIT_USERS.map((u) => `${u.identity}:${u.role}`).join(', ')})`, config.KERNOS_COCKPIT_USERS.length > 0);
      check(scope, `listens on 0.0.0.0:${want.port}, the container port named http`, config.KERNOS_COCKPIT_HOST === '0.0.0.0' && config.KERNOS_COCKPIT_PORT === want.port && ports.get('http') === want.port);
      check(scope, `Service ${deployment.metadata.name} serves port http (${want.port})`, serves('http', want.port));
      check(scope, `reads Temporal at ${testCase.temporalAddress} and starts runs on ${testCase.taskQueue}`, config.KERNOS_TEMPORAL_ADDRESS === testCase.temporalAddress && config.KERNOS_TASK_QUEUE === testCase.taskQueue);
      check(scope, `shows ${want.onlyTaskQueue ? `only runs on ${testCase.taskQueue}` : 'every run'}`, config.KERNOS_COCKPIT_ONLY_TASK_QUEUE === (want.onlyTaskQueue ? testCase.taskQueue : undefined));
    }
    check(scope, `its config loader accepts the environment the chart gives it`, true);
  } catch (error) {
    check(scope, `its config loader accepts the environment the chart gives it`, false, (error as Error).message);
  }
}

function resolveSecret(container: Container, name: string): { name: string; key: string } | undefined {
  const ref = container.env?.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
  return ref ? { name: ref.name, key: ref.key } : undefined;
}

function probedOn(container: Container, port: string, live: string, ready: string): boolean {
  const on = (probe: Probe | undefined, path: string) => probe?.httpGet?.port === port && probe.httpGet.path === path;
  return on(container.startupProbe, live) && on(container.livenessProbe, live) && on(container.readinessProbe, ready);
}

function endpointsMatch(actual: unknown, expected: Endpoint[] | undefined): boolean {
  if (expected === undefined) return actual === undefined;
  if (!Array.isArray(actual) || actual.length !== expected.length) return false;
  return expected.every((want, index) => {
    const got = actual[index] as Record<string, unknown>;
    return got.name === want.name && got.baseUrl === want.baseUrl && got.model === want.model && got.maxConcurrent === want.maxConcurrent;
  });
}

for (const path of [helm, python]) {
  if (!existsSync(path)) {
    console.error(`kernos check-chart-wiring: ${path} not found; run: bash scripts/setup-deploy-tools.sh`);
    process.exit(1);
  }
}
// The NATS roles the chart gives passwords to (and helm/nats-values.yaml gives users) are the processes checked here.
check('roles', `the processes checked here are the generator's chart roles (${chartRoles.join(', ')})`, sameJson([...roles].sort(), [...chartRoles].sort()), `checked: ${show(roles)}`);
for (const testCase of cases) {
  if (verbose) console.log(`wiring with ${testCase.name}:`);
  const [passedBefore, failedBefore] = [passed, failed];
  let manifests: Manifest[] | undefined;
  try {
    manifests = render(testCase);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    check(testCase.name, 'helm template renders', false, stderr.trim());
  }
  if (manifests) checkCase(testCase, manifests);
  const caseFailed = failed - failedBefore;
  console.log(`${caseFailed === 0 ? 'ok  ' : 'FAIL'}  wiring with ${testCase.name}: ${passed - passedBefore} assertions held, ${caseFailed} failed`);
}
console.log(`chart wiring: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

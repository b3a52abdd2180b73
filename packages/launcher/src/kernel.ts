import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, type ManagedProcess } from './process.js';

export const kernelProcessNames = ['emulator', 'access', 'graph', 'tool-gateway', 'scheduler', 'model-gateway', 'worker'] as const;
/** The kernel's processes plus the cockpit, which starts only when asked for (KernelOptions.cockpit). */
export type KernelProcessName = (typeof kernelProcessNames)[number] | 'cockpit';

const entries: Record<KernelProcessName, string> = {
  emulator: 'packages/model-emulator/src/main.ts',
  access: 'services/access/src/main.ts',
  graph: 'services/graph/src/main.ts',
  'tool-gateway': 'services/tool-gateway/src/main.ts',
  scheduler: 'services/scheduler/src/main.ts',
  'model-gateway': 'services/model-gateway/src/main.ts',
  worker: 'workflows/src/main.ts',
  cockpit: 'services/cockpit/src/main.ts',
};

/**
 * The line each process logs last, once its subjects or ports are open. Not just any "ready": the tool gateway logs
 * "tool catalog ready" before its NATS service subscribes, and a caller started on that line got "no responders".
 */
const readyLines: Record<KernelProcessName, RegExp> = {
  emulator: /model emulator ready/,
  access: /access service ready/,
  graph: /graph service ready/,
  'tool-gateway': /tool-gateway service ready/,
  scheduler: /scheduler service ready/,
  'model-gateway': /model gateway ready/,
  worker: /worker ready/,
  cockpit: /cockpit ready/,
};

/** One cockpit user, as services/cockpit's KERNOS_COCKPIT_USERS takes it. */
export interface CockpitUserSpec {
  name: string;
  identity: string;
  role: 'operator' | 'viewer';
  /** At least 16 characters. */
  token: string;
  dataCategories?: string[];
}

export interface CockpitLaunchOptions {
  /** HTTP port (default: a free port). */
  port?: number;
  /** Port of its OTLP/HTTP JSON trace receiver (default: a free port). */
  otlpPort?: number;
  /**
   * Who may log in (default: one operator "Demo operator", identity lead@example.com, the approver the demo's
   * jobs name, with a random token; see Kernel.cockpit.token).
   */
  users?: CockpitUserSpec[];
}

/** How one kernel process authenticates to NATS. */
export interface NatsCredentials {
  user: string;
  password: string;
}

/** The running cockpit: where to open it and how to log in. */
export interface KernelCockpit {
  /** The cockpit's web UI and API, e.g. http://127.0.0.1:8470. */
  readonly url: string;
  /** The first configured user's token (the login form takes it). */
  readonly token: string;
  /** Its OTLP/HTTP traces endpoint; every kernel process exports here unless env set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. */
  readonly tracesUrl: string;
}

export interface KernelOptions {
  /** Environment every process gets: the dev stack's endpoints (stackEnv) and any overrides. */
  env: Record<string, string | undefined>;
  /** Where each process's log goes, one file per process (default <repo>/.kernos/logs). */
  logDir?: string;
  /** Which processes to start (default all, in dependency order). */
  only?: readonly KernelProcessName[];
  /** Port for the model emulator (default: a free port). */
  emulatorPort?: number;
  /**
   * NATS user and password per process, given to it as KERNOS_NATS_USER and KERNOS_NATS_PASSWORD, for a server
   * locked with per-role credentials (services/access's identity config: user `kernos-<role>`). A process left out
   * connects as `env` says. `processEnv` wins over these. Default none: every process connects without credentials.
   */
  natsCredentials?: Partial<Record<KernelProcessName, NatsCredentials>>;
  /** Extra environment for single processes, over `env`, e.g. each its own KERNOS_HEALTH_PORT (default none). */
  processEnv?: Partial<Record<KernelProcessName, Record<string, string | undefined>>>;
  /** How long each process may take to print its ready line (default 60000 ms); a busy machine needs more. */
  readyTimeoutMs?: number;
  /**
   * Also start services/cockpit as its own process (default false: tests that do not look at it do not pay for it).
   * When on, every kernel process sends its spans to the cockpit's receiver, so the run view shows the run's trace.
   */
  cockpit?: boolean | CockpitLaunchOptions;
}

export interface Kernel {
  /** The OpenAI-compatible base URL of the emulator, e.g. http://127.0.0.1:8400/v1. */
  readonly openaiBaseUrl: string;
  /** The kernel's OpenAI-compatible endpoint (services/model-gateway), e.g. http://127.0.0.1:8480/v1. */
  readonly modelGatewayUrl: string;
  /** The cockpit when KernelOptions.cockpit asked for it, else undefined. */
  readonly cockpit: KernelCockpit | undefined;
  /** The environment the processes were started with. */
  readonly env: Record<string, string | undefined>;
  process(name: KernelProcessName): ManagedProcess | undefined;
  start(name: KernelProcessName): Promise<ManagedProcess>;
  kill(name: KernelProcessName): Promise<void>;
  /** Stops in reverse order: the worker first, so nothing new reaches the services while they stop. */
  stop(): Promise<void>;
}

export const repoRoot = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/**
 * Starts the kernel's own processes, each as its own OS process on NATS, as they run in a cluster: the model
 * emulator, the four services and the Temporal worker. Used by the demo, the end-to-end tests and fault tests.
 */
export async function startKernel(options: KernelOptions): Promise<Kernel> {
  const logDir = options.logDir ?? join(repoRoot, '.kernos', 'logs');
  const emulatorPort = options.emulatorPort ?? (await freePort());
  const openaiBaseUrl = `http://127.0.0.1:${emulatorPort}/v1`;
  // The kernel's own OpenAI-compatible endpoint gets a free port too, so kernels side by side do not collide.
  const modelGatewayPort = await freePort();
  const env: Record<string, string | undefined> = {
    KERNOS_EMULATOR_PORT: String(emulatorPort),
    KERNOS_OPENAI_BASE_URL: openaiBaseUrl,
    KERNOS_MODEL_GATEWAY_PORT: String(modelGatewayPort),
    ...options.env,
  };
  const cockpitOptions = options.cockpit === true ? {} : options.cockpit || undefined;
  let cockpit: KernelCockpit | undefined;
  const processEnv: Partial<Record<KernelProcessName, Record<string, string | undefined>>> = { ...options.processEnv };
  for (const [name, credentials] of Object.entries(options.natsCredentials ?? {}) as [KernelProcessName, NatsCredentials | undefined][]) {
    if (!credentials) continue;
    processEnv[name] = { KERNOS_NATS_USER: credentials.user, KERNOS_NATS_PASSWORD: credentials.password, ...options.processEnv?.[name] };
  }
  if (cockpitOptions) {
    const port = cockpitOptions.port ?? (await freePort());
    const otlpPort = cockpitOptions.otlpPort ?? (await freePort());
    const users = cockpitOptions.users ?? [
      { name: 'Demo operator', identity: 'lead@example.com', role: 'operator' as const, token: randomBytes(18).toString('base64url') },
    ];
    cockpit = { url: `http://127.0.0.1:${port}`, token: users[0]?.token ?? '', tracesUrl: `http://127.0.0.1:${otlpPort}/v1/traces` };
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??= cockpit.tracesUrl;
    processEnv.cockpit = {
      ...processEnv.cockpit,
      KERNOS_COCKPIT_PORT: String(port),
      KERNOS_COCKPIT_OTLP_PORT: String(otlpPort),
      KERNOS_COCKPIT_USERS: JSON.stringify(users),
      ...options.processEnv?.cockpit,
    };
  }
  const wanted: KernelProcessName[] = [
    ...kernelProcessNames.filter((name) => !options.only || options.only.includes(name)),
    ...(cockpitOptions ? (['cockpit'] as const) : []),
  ];
  const running = new Map<KernelProcessName, ManagedProcess>();

  const start = async (name: KernelProcessName): Promise<ManagedProcess> => {
    const managed = await startProcess({
      name,
      command: process.execPath,
      args: ['--import', 'tsx', join(repoRoot, entries[name])],
      cwd: repoRoot,
      env: { ...process.env, ...env, ...processEnv[name] },
      logFile: join(logDir, `${name}.log`),
      readyWhen: readyLines[name],
      readyTimeoutMs: options.readyTimeoutMs,
    });
    running.set(name, managed);
    return managed;
  };

  const stop = async () => {
    for (const name of [...wanted].reverse()) await running.get(name)?.stop();
    running.clear();
  };

  try {
    // Services only need NATS (and their own backends), so they start side by side; the worker comes last.
    const services = wanted.filter((name) => name !== 'worker');
    await Promise.all(services.map(start));
    if (wanted.includes('worker')) await start('worker');
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    openaiBaseUrl,
    cockpit,
    modelGatewayUrl: `http://127.0.0.1:${env.KERNOS_MODEL_GATEWAY_PORT ?? modelGatewayPort}/v1`,
    env,
    process: (name) => running.get(name),
    start,
    kill: async (name) => {
      await running.get(name)?.kill();
      running.delete(name);
    },
    stop,
  };
}

/** Asks the OS for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

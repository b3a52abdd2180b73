/**
 * Checks helm/nats-values.yaml, the values that give the official NATS chart (nats/nats) Kernos's per-role users
 * and subject permissions, against a real nats-server rather than trusting the YAML:
 *
 *  1. the file is what the role generator writes (services/access/src/identity/cli.ts helm), so it cannot drift
 *     from the roles the dev stack and the identity test use;
 *  2. it holds one user per role the Kernos chart runs, named as the chart's nats.credentials.users defaults, each
 *     password read from the chart's NATS Secret under that role's key (the keys the chart's Deployments read);
 *  3. the server config the NATS chart builds from it (config.merge into nats.conf; `<< $VAR >>` is the chart's
 *     syntax for an unquoted `$VAR`, which nats-server resolves from the container environment) passes
 *     `nats-server -t` with exactly the container env the values define: an unknown field, an invalid subject or
 *     a password variable without an env entry fails here;
 *  4. a nats-server started with that config lets each role's user in with its password, refuses a wrong one,
 *     and refuses a worker, the model gateway and the cockpit publishing audit records.
 *
 *   npx tsx scripts/check-nats-values.ts [--values FILE] [--skip-generator-check]
 *
 * Needs nats-server (KERNOS_NATS_SERVER_BIN, else ${KERNOS_CACHE:-~/.cache/kernos}/bin, else PATH) and, to read
 * YAML, the Python of the kubernetes-validate venv (KERNOS_DEPLOY_PYTHON). Exits 1 when a check fails.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { chartRoles, natsChartValues, passwordVariable } from '../services/access/src/identity/nats-config.js';
import { natsUser } from '../services/access/src/identity/roles.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const cache = process.env.KERNOS_CACHE ?? join(homedir(), '.cache', 'kernos');
const python = process.env.KERNOS_DEPLOY_PYTHON ?? join(cache, 'venv', 'bin', 'python');
const { values: args } = parseArgs({ options: { values: { type: 'string' }, 'skip-generator-check': { type: 'boolean' } } });
const valuesPath = args.values ?? join(repoRoot, 'helm', 'nats-values.yaml');

let passed = 0;
let failed = 0;
function check(what: string, ok: boolean, why = ''): void {
  if (ok) {
    passed += 1;
    console.log(`  ok    ${what}`);
  } else {
    failed += 1;
    console.log(`  FAIL  ${what}`);
    if (why) console.log(why.trim().replace(/^/gm, '        '));
  }
}

function natsServerBinary(): string {
  const candidates = [process.env.KERNOS_NATS_SERVER_BIN, join(cache, 'bin', 'nats-server'), '/usr/sbin/nats-server'].filter((c): c is string => Boolean(c));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return 'nats-server';
}

interface EnvEntry {
  name: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface ChartValues {
  config?: { jetstream?: { enabled?: boolean }; merge?: { authorization?: { users?: { user: string; password: string; permissions?: unknown }[] } } };
  container?: { env?: EnvEntry[] };
}

/** A nats-server config value: the NATS chart writes `<< $VAR >>` unquoted, everything else as JSON. */
function confValue(value: unknown): string {
  if (typeof value === 'string') {
    const raw = /^<<\s*(.*?)\s*>>$/.exec(value);
    return raw ? raw[1]! : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(confValue).join(', ')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${confValue(v)}`).join(', ')}}`;
  return JSON.stringify(value);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const text = readFileSync(valuesPath, 'utf8');
console.log(`checking ${valuesPath}`);
if (!args['skip-generator-check']) {
  check('it is what the role generator writes (npx tsx services/access/src/identity/cli.ts helm --out helm/nats-values.yaml)', text === natsChartValues());
}
const values = JSON.parse(execFileSync(python, ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: text, encoding: 'utf8' })) as ChartValues;
const users = values.config?.merge?.authorization?.users ?? [];
const env = values.container?.env ?? [];
check('JetStream is enabled (the audit stream, KV and object stores need it)', values.config?.jetstream?.enabled === true);
check(
  `one user per role the Kernos chart runs (${chartRoles.join(', ')}), named as nats.credentials.users`,
  JSON.stringify(users.map((u) => u.user).sort()) === JSON.stringify(chartRoles.map(natsUser).sort()),
  `users: ${users.map((u) => u.user).join(', ')}`,
);
for (const role of chartRoles) {
  const user = users.find((u) => u.user === natsUser(role));
  const variable = passwordVariable(role);
  const entry = env.find((e) => e.name === variable);
  check(
    `${natsUser(role)}: password $${variable}, from the Kernos NATS Secret's key "${role}"`,
    user?.password.replace(/\s/g, '') === `<<$${variable}>>` && entry?.valueFrom?.secretKeyRef?.key === role,
    `password: ${JSON.stringify(user?.password)}, env: ${JSON.stringify(entry)}`,
  );
}

// The nats.conf the NATS chart builds: its own listen and JetStream settings plus config.merge.
const dir = mkdtempSync(join(tmpdir(), 'kernos-nats-values-'));
const port = await freePort();
const conf = join(dir, 'nats.conf');
const merge = values.config?.merge ?? {};
writeFileSync(
  conf,
  [`listen: "127.0.0.1:${port}"`, `jetstream: {store_dir: ${JSON.stringify(join(dir, 'js'))}}`, ...Object.entries(merge).map(([key, value]) => `${key}: ${confValue(value)}`), ''].join('\n'),
);
// Only the variables the values put into the container: a reference without an env entry must fail.
const serverEnv: Record<string, string> = { PATH: process.env.PATH ?? '' };
for (const entry of env) serverEnv[entry.name] = `check-${entry.valueFrom?.secretKeyRef?.key ?? entry.name}`;
const binary = natsServerBinary();
const tested = spawnSync(binary, ['-t', '-c', conf], { env: serverEnv, encoding: 'utf8' });
check(`nats-server -t accepts the config the NATS chart builds from it (${binary})`, tested.status === 0, `${tested.stderr}${tested.stdout}${tested.error?.message ?? ''}`);

if (tested.status === 0) {
  const child = spawn(binary, ['-c', conf], { env: serverEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server did not start: ${log}`)), 10_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code}: ${log}`));
      });
    });
    const servers = `nats://127.0.0.1:${port}`;
    for (const role of chartRoles) {
      const nc = await connect({ servers, user: natsUser(role), pass: `check-${role}`, reconnect: false }).catch((error: Error) => error);
      check(`${natsUser(role)} connects with the password from key "${role}"`, !(nc instanceof Error), nc instanceof Error ? nc.message : '');
      if (nc instanceof Error) continue;
      if (['worker', 'model-gateway', 'cockpit'].includes(role)) {
        const refused = await publishRefused(nc, 'kernos.audit.acme.job-1.run-1');
        check(`${natsUser(role)} may not publish audit records`, refused);
      }
      await nc.close();
    }
    const wrong = await connect({ servers, user: natsUser('worker'), pass: 'guess', reconnect: false }).then(
      async (nc) => {
        await nc.close();
        return false;
      },
      () => true,
    );
    check('a wrong password is refused', wrong);
  } catch (error) {
    check('nats-server starts with the config', false, (error as Error).message);
  } finally {
    child.kill('SIGTERM');
  }
}
rmSync(dir, { recursive: true, force: true });

/** Publishes and flushes; a permissions violation comes back as the server's -ERR on the connection. */
async function publishRefused(nc: Awaited<ReturnType<typeof connect>>, subject: string): Promise<boolean> {
  let refused = false;
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error' && /permissions violation/i.test(String((s as { error?: Error }).error?.message))) refused = true;
  })();
  nc.publish(subject, 'x');
  await nc.flush();
  await new Promise((resolve) => setTimeout(resolve, 100));
  return refused;
}

console.log(`nats values: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

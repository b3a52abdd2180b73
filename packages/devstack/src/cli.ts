// `npm run stack -- <up|down|status> [--json]`: the dev stack from a shell. The only file here that
// touches argv, stdout and the exit code.
import { stackEnv } from './env.js';
import { StackError } from './errors.js';
import { displayPath, resolveOptions } from './options.js';
import { stackStatus, startStack, stopStack, type StackEndpoints } from './stack.js';
import { SERVER_NAMES } from './state.js';

const USAGE = 'usage: npm run stack -- <up|down|status> [--json]';

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const [command, ...extra] = argv.filter((arg) => arg !== '--json');
  if (extra.length > 0 || command === undefined || !['up', 'down', 'status'].includes(command)) {
    console.error(USAGE);
    return 2;
  }
  const where = displayPath(resolveOptions().stateDir);

  if (command === 'up') {
    const began = Date.now();
    const stack = await startStack({ detached: true });
    const seconds = ((Date.now() - began) / 1000).toFixed(1);
    if (json) {
      print({ endpoints: stack.endpoints, env: stackEnv(stack.endpoints), started: stack.started });
    } else {
      const reused = SERVER_NAMES.filter((name) => !stack.started.includes(name));
      const what = [
        stack.started.length > 0 ? `started ${stack.started.join(', ')}` : '',
        reused.length > 0 ? `reused ${reused.join(', ')}` : '',
      ].filter(Boolean);
      console.log(`kernos stack is up in ${seconds}s (${what.join('; ')})`);
      console.log(describe(stack.endpoints, where));
    }
    return 0;
  }

  if (command === 'down') {
    const stopped = await stopStack();
    if (json) print({ stopped });
    else console.log(stopped.length > 0 ? `kernos stack stopped (${stopped.join(', ')})` : `kernos: no stack running in ${where}`);
    return 0;
  }

  const status = await stackStatus();
  const healthy = status !== null && status.servers.length === SERVER_NAMES.length && status.servers.every((server) => server.healthy);
  if (json) {
    print({ healthy, servers: status?.servers ?? [] });
  } else if (!status) {
    console.log(`kernos: no stack recorded in ${where}; start one with: npm run stack up`);
  } else {
    for (const server of status.servers) {
      const state = server.healthy ? 'healthy' : server.running ? 'UNHEALTHY' : 'NOT RUNNING';
      console.log(`${server.name.padEnd(9)} ${state.padEnd(12)} pid ${String(server.pid).padEnd(8)} port ${String(server.port).padEnd(6)} log ${displayPath(server.log)}`);
    }
    const absent = SERVER_NAMES.filter((name) => !status.servers.some((server) => server.name === name));
    for (const name of absent) console.log(`${name.padEnd(9)} NOT STARTED`);
  }
  return healthy ? 0 : 1;
}

function describe(endpoints: StackEndpoints, stateDir: string): string {
  return [
    `  NATS      ${endpoints.natsUrl}`,
    `  Temporal  ${endpoints.temporalAddress} (namespace ${endpoints.temporalNamespace})`,
    `  Neo4j     ${endpoints.neo4jUri} (auth disabled)`,
    `  state     ${stateDir}/stack.json, logs in ${stateDir}/logs/`,
  ].join('\n');
}

function print(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

// `npm run stack up | head -1` closes our stdout early; the stack is up regardless, so that is no crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A StackError's message is already the one line a person needs; anything else is a bug, so keep the stack.
    console.error(error instanceof StackError ? error.message : error);
    process.exitCode = 1;
  },
);

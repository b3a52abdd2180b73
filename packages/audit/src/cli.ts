// kernos audit CLI: `npx tsx packages/audit/src/cli.ts verify --run <id>` | `query --job <id> --risk high ...`.
// Exit codes: 0 ok, 1 the chain is broken (verify), 2 bad usage, 3 NATS unreachable.
import { parseArgs } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { z } from 'zod';
import { audit, toJson } from '@kernos/wire';
import { parseDuration } from './duration.js';
import { queryAudit, verifyAudit } from './query.js';

const USAGE = `usage: cli.ts <verify|query> [options]
  --tenant <id> --job <id> --run <id>   narrow to runs (verify needs at least one of them)
  --agent <id> --risk <level> --kind <llm_turn|tool_attempt|access_decision|approval|graph_write|lease|run>
  --since <ISO time | duration ago, e.g. 15m> --until <ISO time> --limit <n>   (query only)
  --stream <name> (default AUDIT)  --nats <url> (default $KERNOS_NATS_URL or nats://127.0.0.1:4222)
  --user <u> --password <p> (default $KERNOS_NATS_USER / $KERNOS_NATS_PASSWORD)`;

const kinds = ['llm_turn', 'tool_attempt', 'access_decision', 'approval', 'graph_write', 'lease', 'run'] as const;
const time = z.string().transform((text, ctx) => {
  const ago = parseDuration(text);
  const at = ago === undefined ? new Date(text) : new Date(Date.now() - ago);
  if (Number.isNaN(at.getTime())) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is neither an ISO time nor a duration like 15m` });
    return z.NEVER;
  }
  return at;
});
const argsSchema = z.object({
  command: z.enum(['verify', 'query']),
  tenant: z.string().optional(),
  job: z.string().optional(),
  run: z.string().optional(),
  agent: z.string().optional(),
  risk: z.string().optional(),
  kind: z.enum(kinds).optional(),
  since: time.optional(),
  until: time.optional(),
  limit: z.coerce.number().int().positive().optional(),
  stream: z.string().default('AUDIT'),
  nats: z.string().default(process.env.KERNOS_NATS_URL ?? 'nats://127.0.0.1:4222'),
  user: z.string().optional().default(process.env.KERNOS_NATS_USER ?? ''),
  password: z.string().optional().default(process.env.KERNOS_NATS_PASSWORD ?? ''),
});

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: Object.fromEntries(['tenant', 'job', 'run', 'agent', 'risk', 'kind', 'since', 'until', 'limit', 'stream', 'nats', 'user', 'password'].map((k) => [k, { type: 'string' as const }])),
    });
  } catch (error) {
    return fail(`${(error as Error).message}\n${USAGE}`, 2);
  }
})();
const parsed = argsSchema.safeParse({ ...values, command: positionals[0] });
if (!parsed.success) {
  const issue = parsed.error.issues[0];
  fail(`${issue?.path.join('.') === 'command' ? 'command' : `--${issue?.path.join('.')}`}: ${issue?.message}\n${USAGE}`, 2);
}
const args = parsed.data;
if (args.command === 'verify' && args.tenant === undefined && args.job === undefined && args.run === undefined) {
  fail(`verify: give --run, --job or --tenant\n${USAGE}`, 2);
}

const nc = await connect({ servers: args.nats, ...(args.user ? { user: args.user, pass: args.password } : {}) }).catch((error: Error) =>
  fail(`cannot connect to NATS at ${args.nats}: ${error.message}`, 3),
);
const js = jetstream(nc);
const filter = {
  ...(args.tenant === undefined ? {} : { tenant: args.tenant }),
  ...(args.job === undefined ? {} : { jobId: args.job }),
  ...(args.run === undefined ? {} : { runId: args.run }),
};
let exitCode = 0;
if (args.command === 'verify') {
  const result = await verifyAudit(js, filter, { stream: args.stream });
  for (const p of result.problems) process.stdout.write(`BROKEN ${p.subject} ${p.problem}: ${p.message}\n`);
  process.stdout.write(`${result.ok ? 'OK' : 'TAMPERED'}: ${result.records} records in ${result.chains} chain(s), ${result.problems.length} problem(s)\n`);
  exitCode = result.ok ? 0 : 1;
} else {
  const records = await queryAudit(
    js,
    {
      ...filter,
      ...(args.agent === undefined ? {} : { agentId: args.agent }),
      ...(args.risk === undefined ? {} : { riskLevel: args.risk }),
      ...(args.kind === undefined ? {} : { kind: audit.Kind[args.kind.toUpperCase() as keyof typeof audit.Kind] }),
      ...(args.since === undefined ? {} : { since: args.since }),
      ...(args.until === undefined ? {} : { until: args.until }),
      ...(args.limit === undefined ? {} : { limit: args.limit }),
    },
    { stream: args.stream },
  );
  for (const r of records) process.stdout.write(`${JSON.stringify({ streamSeq: r.streamSeq, subject: r.subject, ...(toJson(audit.AuditRecordSchema, r.record) as object) })}\n`);
}
await nc.close();
process.exit(exitCode);

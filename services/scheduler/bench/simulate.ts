/**
 * Benchmark A (and the policy-core part of C): every policy on the same seeded mixed trace, simulated against
 * the emulator's capacity model, plus the clairvoyant ceiling; then decisions/second at 10k queued.
 *
 *   npx tsx services/scheduler/bench/simulate.ts [--seed 42] [--duration-ms 600000] [--max-concurrent 8] [--tps 1000]
 */
import { parseArgs } from 'node:util';
import { policyFactories, policyNames, type PolicyName } from '../src/admission/policy.js';
import { createClairvoyantPolicy } from '../src/sim/clairvoyant.js';
import { measureDecisions } from '../src/sim/decisions.js';
import { simulate, type SimResult } from '../src/sim/simulate.js';
import { generateWorkload } from '../src/sim/workload.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '42' },
    'duration-ms': { type: 'string', default: '600000' },
    'max-concurrent': { type: 'string', default: '8' },
    tps: { type: 'string', default: '1000' },
    'skip-decisions': { type: 'boolean', default: false },
  },
});
const seed = Number(values.seed);
const capacity = { maxConcurrent: Number(values['max-concurrent']), tokensPerSecond: Number(values.tps), latencyMs: 300, latencySigma: 0.5, seed };
const agents = generateWorkload({ seed, durationMs: Number(values['duration-ms']) });
const triage = agents.filter((a) => a.cls === 'triage').length;
const tokens = agents.reduce((sum, a) => sum + a.turns.reduce((s, t) => s + t.outputTokens, 0), 0);
console.log(
  `trace: seed ${seed}, ${agents.length} agents (${triage} triage, ${agents.length - triage} research), ` +
    `${agents.reduce((s, a) => s + a.turns.length, 0)} turns, ${tokens} output tokens ` +
    `(offered load ${((tokens / (capacity.tokensPerSecond * Number(values['duration-ms']) / 1000)) * 100).toFixed(0)}% of ${capacity.tokensPerSecond} tok/s); ` +
    `endpoint: ${capacity.maxConcurrent} slots, first token lognormal(300 ms, 0.5)`,
);

const results: SimResult[] = [];
for (const name of policyNames) results.push(simulate(agents, () => policyFactories[name as PolicyName](), capacity));
results.push(simulate(agents, (oracle) => createClairvoyantPolicy(oracle), capacity));

const s = (ms: number) => (ms / 1_000).toFixed(1);
const pct = (x: number) => (Number.isNaN(x) ? '-' : `${(x * 100).toFixed(1)}%`);
const header = ['policy', 'triage mean s', 'triage p95 s', 'research mean s', 'research p95 s', 'slowdown T/R', 'deadline met', 'Jain (windows)', 'util (backlogged)'];
const rows = results.map((r) => [
  r.policy,
  s(r.byClass.triage.completionMeanMs),
  s(r.byClass.triage.completionP95Ms),
  s(r.byClass.research.completionMeanMs),
  s(r.byClass.research.completionP95Ms),
  `${r.byClass.triage.slowdownMean.toFixed(1)} / ${r.byClass.research.slowdownMean.toFixed(1)}`,
  pct(r.byClass.triage.deadlineAttainment),
  `${r.jain.toFixed(3)} (${r.jainWindows})`,
  pct(r.backloggedUtilisation),
]);
console.log(`| ${header.join(' | ')} |`);
console.log(`|${header.map(() => '---').join('|')}|`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);

const fifo = results.find((r) => r.policy === 'fifo')!;
const composite = results.find((r) => r.policy === 'composite')!;
const gain = fifo.byClass.triage.completionP95Ms / composite.byClass.triage.completionP95Ms;
console.log(
  `\ntargets (composite): triage p95 ${gain.toFixed(2)}x lower than fifo (>= 2x: ${gain >= 2 ? 'met' : 'NOT met'}); ` +
    `Jain ${composite.jain.toFixed(3)} (>= 0.95: ${composite.jain >= 0.95 ? 'met' : 'NOT met'}); ` +
    `utilisation when backlogged ${pct(composite.backloggedUtilisation)} (>= 95%: ${composite.backloggedUtilisation >= 0.95 ? 'met' : 'NOT met'})`,
);

if (!values['skip-decisions']) {
  console.log('\ndecisions/second of the policy core at 10k queued (take + grant + usage report + a new arrival):');
  for (const name of policyNames) {
    const rate = measureDecisions(policyFactories[name as PolicyName]());
    console.log(`  ${name.padEnd(13)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} /s ${rate >= 10_000 ? '' : '(below the 10k/s target)'}`);
  }
}

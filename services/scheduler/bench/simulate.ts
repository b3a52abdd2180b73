/**
 * Benchmark A (and the policy-core part of C): every policy on the same seeded mixed trace, simulated against
 * the emulator's capacity model, plus the clairvoyant ceiling; then decisions/second at 10k queued.
 *
 *   npx tsx services/scheduler/bench/simulate.ts [--seed 42 | --seeds 42,7,1234,99,5] [--duration-ms 600000] [--max-concurrent 8] [--tps 1000]
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
    seeds: { type: 'string', default: '' },
    'duration-ms': { type: 'string', default: '600000' },
    'max-concurrent': { type: 'string', default: '8' },
    tps: { type: 'string', default: '1000' },
    'skip-decisions': { type: 'boolean', default: false },
  },
});
const s = (ms: number) => (ms / 1_000).toFixed(1);
const pct = (x: number) => (Number.isNaN(x) ? '-' : `${(x * 100).toFixed(1)}%`);
const durationMs = Number(values['duration-ms']);

interface SeedRun {
  seed: number;
  offeredLoad: number;
  results: SimResult[];
}

/** Every policy and the clairvoyant ceiling on one seed's trace. */
function runSeed(seed: number, print: boolean): SeedRun {
  const capacity = { maxConcurrent: Number(values['max-concurrent']), tokensPerSecond: Number(values.tps), latencyMs: 300, latencySigma: 0.5, seed };
  const agents = generateWorkload({ seed, durationMs });
  const triage = agents.filter((a) => a.cls === 'triage').length;
  const tokens = agents.reduce((sum, a) => sum + a.turns.reduce((t, turn) => t + turn.outputTokens, 0), 0);
  const offeredLoad = tokens / ((capacity.tokensPerSecond * durationMs) / 1000);
  const results: SimResult[] = [];
  for (const name of policyNames) results.push(simulate(agents, () => policyFactories[name as PolicyName](), capacity));
  results.push(simulate(agents, (oracle) => createClairvoyantPolicy(oracle), capacity));
  if (print) {
    console.log(
      `trace: seed ${seed}, ${agents.length} agents (${triage} triage, ${agents.length - triage} research), ` +
        `${agents.reduce((sum, a) => sum + a.turns.length, 0)} turns, ${tokens} output tokens ` +
        `(offered load ${(offeredLoad * 100).toFixed(0)}% of ${capacity.tokensPerSecond} tok/s); ` +
        `endpoint: ${capacity.maxConcurrent} slots, first token lognormal(300 ms, 0.5)`,
    );
    const header = ['policy', 'triage mean s', 'triage p95 s', 'triage queued p95 s', 'research mean s', 'research p95 s', 'slowdown T/R', 'deadline met', 'Jain (windows)', 'Jain abs / delivered', 'util (backlogged)'];
    console.log(`| ${header.join(' | ')} |`);
    console.log(`|${header.map(() => '---').join('|')}|`);
    for (const r of results) {
      const row = [
        r.policy,
        s(r.byClass.triage.completionMeanMs),
        s(r.byClass.triage.completionP95Ms),
        s(r.byClass.triage.queuedP95Ms),
        s(r.byClass.research.completionMeanMs),
        s(r.byClass.research.completionP95Ms),
        `${r.byClass.triage.slowdownMean.toFixed(1)} / ${r.byClass.research.slowdownMean.toFixed(1)}`,
        pct(r.byClass.triage.deadlineAttainment),
        `${r.jain.toFixed(3)} (${r.jainWindows})`,
        `${r.jainAbsolute.toFixed(3)} / ${r.jainDelivered.toFixed(3)}`,
        pct(r.backloggedUtilisation),
      ];
      console.log(`| ${row.join(' | ')} |`);
    }
  }
  return { seed, offeredLoad, results };
}

const seeds = values.seeds ? values.seeds.split(',').map(Number) : [Number(values.seed)];
const runs = seeds.map((seed) => runSeed(seed, seeds.length === 1));
const get = (run: SeedRun, name: string) => run.results.find((r) => r.policy === name)!;

if (seeds.length === 1) {
  const fifo = get(runs[0]!, 'fifo');
  const composite = get(runs[0]!, 'composite');
  const gain = fifo.byClass.triage.completionP95Ms / composite.byClass.triage.completionP95Ms;
  console.log(
    `\ntargets (composite): triage p95 ${gain.toFixed(2)}x lower than fifo (>= 2x: ${gain >= 2 ? 'met' : 'NOT met'}); ` +
      `Jain ${composite.jain.toFixed(3)} (>= 0.95: ${composite.jain >= 0.95 ? 'met' : 'NOT met'}); ` +
      `utilisation when backlogged ${pct(composite.backloggedUtilisation)} (>= 95%: ${composite.backloggedUtilisation >= 0.95 ? 'met' : 'NOT met'})`,
  );
} else {
  // The default policy against fifo on each seed, with what no admission policy can remove: the ceiling on the gain
  // is fifo's triage p95 over the best triage p95 any policy here reached (strict priority, EDF, clairvoyant).
  const header = ['seed (load)', 'fifo triage p95', 'composite triage p95', 'gain', 'best any policy (gain)', 'composite triage queued p95', 'composite Jain (windows)', 'composite Jain abs / delivered', 'fair Jain', 'fifo Jain', 'composite util', 'deadline met'];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const run of runs) {
    const fifo = get(run, 'fifo');
    const composite = get(run, 'composite');
    const fair = get(run, 'fair');
    const best = Math.min(...run.results.map((r) => r.byClass.triage.completionP95Ms));
    const fp95 = fifo.byClass.triage.completionP95Ms;
    const row = [
      `${run.seed} (${(run.offeredLoad * 100).toFixed(0)}%)`,
      `${s(fp95)} s`,
      `${s(composite.byClass.triage.completionP95Ms)} s`,
      `**${(fp95 / composite.byClass.triage.completionP95Ms).toFixed(2)}x**`,
      `${s(best)} s (${(fp95 / best).toFixed(2)}x)`,
      `${s(composite.byClass.triage.queuedP95Ms)} s`,
      `${composite.jain.toFixed(3)} (${composite.jainWindows})`,
      `${composite.jainAbsolute.toFixed(3)} / ${composite.jainDelivered.toFixed(3)}`,
      fair.jain.toFixed(3),
      fifo.jain.toFixed(3),
      pct(composite.backloggedUtilisation),
      pct(composite.byClass.triage.deadlineAttainment),
    ];
    console.log(`| ${row.join(' | ')} |`);
  }
}

if (!values['skip-decisions']) {
  console.log('\ndecisions/second of the policy core at 10k queued (take + grant + usage report + a new arrival):');
  for (const name of policyNames) {
    const rate = measureDecisions(policyFactories[name as PolicyName]());
    console.log(`  ${name.padEnd(13)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} /s ${rate >= 10_000 ? '' : '(below the 10k/s target)'}`);
  }
}

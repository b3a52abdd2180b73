// Benchmark: what the kernel's OpenAI-compatible endpoint adds to a completion (access check, lease, audit,
// forwarding), measured with the official openai client against the emulator directly and through the gateway.
// Usage: npx tsx services/model-gateway/bench/overhead.ts [requests=200] [concurrency=8]   (needs `npm run stack -- up`)
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startKernel } from '@kernos/launcher';

const total = Number(process.argv[2] ?? 200);
const concurrency = Number(process.argv[3] ?? 8);
const key = `kernos-bench-${Date.now()}`;
const keys = [{ key, tenant: 'bench', jobId: 'bench', governance: { riskLevel: 'minimal', dataCategories: [], humanOversight: 'none', approver: '' } }];
const kernel = await startKernel({
  only: ['emulator', 'access', 'scheduler', 'model-gateway'],
  logDir: join(tmpdir(), `kernos-bench-${Date.now()}`),
  env: { ...process.env, KERNOS_MODEL_GATEWAY_KEYS: JSON.stringify(keys), KERNOS_EMULATOR_LATENCY_MS: '1', KERNOS_EMULATOR_LATENCY_SIGMA: '0' },
});

async function run(name: string, client: OpenAI, model: string): Promise<void> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next += 1;
        const t = performance.now();
        await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'How long does this take?' }], max_tokens: 16 });
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
  console.log(`${name.padEnd(8)} ${total} requests, concurrency ${concurrency}: p50 ${p(0.5)} ms, p95 ${p(0.95)} ms, ${(total / seconds).toFixed(0)} req/s`);
}

try {
  await run('direct', new OpenAI({ baseURL: kernel.openaiBaseUrl, apiKey: 'x', maxRetries: 0 }), 'kernos-emu-small');
  await run('gateway', new OpenAI({ baseURL: kernel.modelGatewayUrl, apiKey: key, maxRetries: 0 }), 'default');
} finally {
  await kernel.stop();
}

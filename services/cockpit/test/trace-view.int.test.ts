import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKernel, type Kernel } from '@kernos/launcher';
import { startPrivateNats, type PrivateNats } from '@kernos/testkit';
import { Client, Connection } from '@temporalio/client';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The cockpit as the demo gets it: the launcher starts it as its own process beside the kernel and points every
// kernel process's span export at the cockpit's OTLP receiver. An agent run's trace link in the run view must open
// a waterfall of that run's spans from the worker and the services, in Debian's chromium (playwright-core).
const screenshots = resolve(fileURLToPath(new URL('../../../test-results/cockpit/', import.meta.url)));
const taskQueue = `trace-view-${Date.now().toString(36)}`;
let dir: string;
let nats: PrivateNats;
let kernel: Kernel;
let connection: Connection;
let client: Client;
let context: BrowserContext;

beforeAll(async () => {
  mkdirSync(screenshots, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'kernos-trace-view-'));
  nats = await startPrivateNats({ dir });
  const env: Record<string, string | undefined> = { ...process.env, KERNOS_NATS_URL: nats.url, KERNOS_TASK_QUEUE: taskQueue, OTEL_BSP_SCHEDULE_DELAY: '200' };
  // The traces must go where the launcher sends them (the cockpit), not to an endpoint set for the whole test run.
  delete env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  // Every process an agent run crosses (the model gateway is not one of them), plus the cockpit.
  const only = ['emulator', 'access', 'graph', 'tool-gateway', 'scheduler', 'worker'] as const;
  kernel = await startKernel({ logDir: join(dir, 'logs'), env, only, cockpit: true });
  connection = await Connection.connect({ address: process.env.KERNOS_TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
  client = new Client({ connection, namespace: process.env.KERNOS_TEMPORAL_NAMESPACE ?? 'default' });
  context = await chromium.launchPersistentContext(join(dir, 'chromium'), {
    executablePath: process.env.KERNOS_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await context?.close();
  await connection?.close();
  await kernel?.stop();
  await nats?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('trace view', () => {
  it('opens a run’s trace from the run view as a waterfall with spans from at least four services', async () => {
    const runId = `trace-view-${Date.now().toString(36)}`;
    await client.workflow.execute('agentWorkflow', {
      taskQueue,
      workflowId: runId,
      args: [
        {
          tenant: 'test',
          jobId: 'job-trace-view',
          agentId: 'agent-trace-view',
          goal: `Look into case ${runId} and report back.`,
          tools: ['echo'],
          subject: `case-${runId}`,
          dataCategory: 'internal',
          governance: { riskLevel: 'limited', dataCategories: ['internal'], humanOversight: 'none', approver: 'lead@example.com' },
        },
      ],
    });

    const page = await context.newPage();
    await page.goto(kernel.cockpit!.url);
    await page.getByTestId('login-token').fill(kernel.cockpit!.token);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('who').waitFor();
    await page.goto(`${kernel.cockpit!.url}/#/runs/${runId}`);
    await page.getByTestId('run-trace-link').click({ timeout: 30_000 });
    await expect.poll(() => page.url()).toMatch(/#\/traces\/[0-9a-f]{32}$/);

    // Spans arrive in batches after they end; the view refreshes with the live board until all services are in.
    const services = async () => new Set(await page.getByTestId('trace-span').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service'))));
    // The workflow's own span ends last, so it is the last to arrive; then it heads the tree (the first row).
    const root = () => page.getByTestId('trace-span').first().textContent();
    await expect.poll(async () => (await services()).size >= 4 && (await root())?.includes('RunWorkflow:agentWorkflow'), { timeout: 30_000, interval: 500 }).toBe(true);
    const seen = await services();
    for (const service of ['worker', 'scheduler', 'access', 'tool-gateway']) expect(seen, `spans of ${service}`).toContain(service);
    expect(await page.getByTestId('trace-services').textContent()).toContain('tool-gateway');
    await page.screenshot({ path: join(screenshots, 'trace-waterfall.png'), fullPage: true });
    await page.close();
  });
});

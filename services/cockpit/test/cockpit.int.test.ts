import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contracts } from '@kernos/wire';
import { startHarness, until, users, type Harness } from './harness.js';

// The cockpit end to end: its HTTP API with real Temporal, NATS (access and scheduler services, the audit stream),
// and then the web UI in Debian's chromium, driven by playwright-core. Screenshots land in test-results/.
const execFileAsync = promisify(execFile);
const screenshots = resolve(fileURLToPath(new URL('../../../test-results/cockpit/', import.meta.url)));
const [operatorUser, viewerUser] = users as [(typeof users)[0], (typeof users)[0]];
const governance = { riskLevel: 'high', dataCategories: ['internal'], humanOversight: 'on_risk', approver: 'lead@example.com' };
let harness: Harness;

beforeAll(async () => {
  mkdirSync(screenshots, { recursive: true });
  harness = await startHarness();
});

afterAll(async () => {
  await harness?.stop();
});

// The tests read many JSON shapes from the API; typing each would only restate the assertions.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(path: string, options: { token?: string; method?: string; body?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${harness.url}${path}`, {
    method: options.method ?? 'GET',
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  return { status: res.status, body: await res.json() };
}

const asOperator = (path: string, options: { method?: string; body?: unknown } = {}) => call(path, { ...options, token: operatorUser.token });
const asViewer = (path: string, options: { method?: string; body?: unknown } = {}) => call(path, { ...options, token: viewerUser.token });

/** An access decision for the run, so the audit stream has a record naming it. */
async function auditSomething(runId: string, jobId: string, dataCategories = governance.dataCategories) {
  await harness.kernel.call(contracts.access.check, {
    ref: { tenant: 'cockpit-test', jobId, runId, agentId: `agent-${jobId}` },
    governance: { ...governance, dataCategories },
    action: 'tool.call',
    resource: 'echo',
    grantedTools: ['echo'],
  });
}

async function requestApproval(runId: string, jobId: string) {
  const reply = await harness.kernel.call(contracts.access.requestApproval, {
    ref: { tenant: 'cockpit-test', jobId, runId, agentId: `agent-${jobId}` },
    governance,
    action: 'tool.call',
    resource: 'send-email-kernel',
    grantedTools: ['send-email-kernel'],
  });
  return reply.approval!.id;
}

describe('cockpit API', () => {
  it('authenticates every API call and tells a viewer what it may not do', async () => {
    const anonymous = await call('/api/board');
    expect(anonymous.status).toBe(401);
    expect((await call('/api/me', { token: 'wrong-token-wrong-token' })).status).toBe(401);
    expect((await asViewer('/api/me')).body).toEqual({ name: 'Vic Viewer', identity: 'viewer@example.com', role: 'viewer', dataCategories: ['public'] });

    const runId = await harness.startRun('api-viewer', { maxTurns: 100 });
    const denied = await asViewer(`/api/runs/${runId}/pause`, { method: 'POST', body: {} });
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('viewer and may not pause');
    const decide = await asViewer('/api/approvals/decide', { method: 'POST', body: { source: 'access', approvalId: 'x', approve: true } });
    expect(decide.status).toBe(403);
    const bad = await asOperator(`/api/runs/${runId}/pause`, { method: 'POST', body: { reason: 7 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('reason:');
  });

  it('shows runs on the fleet board and pauses and resumes them', async () => {
    const runId = await harness.startRun('api-board', { maxTurns: 100 });
    await until(() => asOperator('/api/board'), (r) => [...r.body.columns.running, ...r.body.columns.queued, ...r.body.columns.waiting_lease].some((c: { runId: string }) => c.runId === runId), 'the run on the board');

    expect((await asOperator(`/api/runs/${runId}/pause`, { method: 'POST', body: { reason: 'api test' } })).status).toBe(200);
    const board = await until(() => asOperator('/api/board'), (r) => r.body.columns.paused.some((c: { runId: string }) => c.runId === runId), 'paused column');
    expect(board.body.columns.paused.find((c: { runId: string }) => c.runId === runId).jobId).toBe('api-board');
    const detail = await asViewer(`/api/runs/${runId}`);
    expect(detail.body).toMatchObject({ board: 'paused', state: { reason: 'api test' }, controls: { pause: true, resume: true }, governance: { riskLevel: 'high' } });

    expect((await asOperator(`/api/runs/${runId}/resume`, { method: 'POST', body: {} })).status).toBe(200);
    await until(() => asOperator(`/api/runs/${runId}`), (r) => r.body.board !== 'paused', 'resumed');
    const cancelled = await asOperator(`/api/runs/${runId}/cancel`, { method: 'POST', body: { reason: 'enough' } });
    expect(cancelled.body).toEqual({ ok: true, via: 'signal' });
    await until(() => asOperator(`/api/runs/${runId}`), (r) => r.body.board === 'cancelled', 'cancelled');
  });

  it('holds a run without a pause signal at the scheduler instead', async () => {
    const runId = await harness.startRun('api-plain', { maxTurns: 40, workflowType: 'plainFixtureWorkflow' });
    await until(() => harness.operator.progress(runId).catch(() => []), (p) => p.length > 0, 'the run to start');
    const paused = await asOperator(`/api/runs/${runId}/pause`, { method: 'POST', body: { reason: 'hold' } });
    expect(paused.body).toEqual({ ok: true, via: 'scheduler' });
    expect((await asOperator(`/api/runs/${runId}/resume`, { method: 'POST', body: {} })).body).toEqual({ ok: true, via: 'scheduler' });
  });

  it('filters the audit search by the user: data categories choose the records, the role their detail', async () => {
    // An "internal" job's records: the operator (internal) sees them with detail, the viewer (public only) not at all.
    const internalRun = await harness.startRun('api-audit-internal', { maxTurns: 1 });
    await auditSomething(internalRun, 'api-audit-internal', ['internal']);
    const internal = await until(() => asOperator(`/api/audit?run=${internalRun}`), (r) => r.body.length > 0, 'the internal record');
    expect(internal.body[0]).toMatchObject({ runId: internalRun, dataCategories: ['internal'] });
    expect(internal.body[0].detail).not.toBe('');
    expect((await asViewer(`/api/audit?run=${internalRun}`)).body).toEqual([]);
    expect((await asViewer(`/api/audit?q=${internalRun}`)).body).toEqual([]);

    // A "public" job's records: both see them; the viewer's role shows them without detail, and its free-text search
    // does not match what the hidden detail says.
    const publicRun = `audit-public-${Date.now().toString(36)}`;
    await auditSomething(publicRun, 'api-audit-public', ['public']);
    const asOp = await until(() => asOperator(`/api/audit?run=${publicRun}`), (r) => r.body.length > 0, 'the public record');
    const detail = asOp.body[0].detail as string;
    expect(detail).not.toBe('');
    const viewed = await asViewer(`/api/audit?run=${publicRun}`);
    expect(viewed.body.map((r: { streamSeq: number }) => r.streamSeq)).toEqual(asOp.body.map((r: { streamSeq: number }) => r.streamSeq));
    expect(viewed.body.every((r: { detail: string }) => r.detail === '')).toBe(true);
    // A word only the detail holds: the operator finds the record by it, the viewer does not.
    const word = Object.values(JSON.parse(detail) as Record<string, unknown>)
      .filter((v): v is string => typeof v === 'string' && v.length >= 4)
      .find((v) => !Object.values(asOp.body[0] as Record<string, unknown>).some((f) => f !== detail && typeof f === 'string' && f.toLowerCase().includes(v.toLowerCase())));
    expect(word, `a detail-only value in ${detail}`).toBeDefined();
    const byWord = (await asOperator(`/api/audit?run=${publicRun}&q=${encodeURIComponent(word!)}`)).body;
    expect(byWord.length).toBeGreaterThan(0);
    expect((await asViewer(`/api/audit?run=${publicRun}&q=${encodeURIComponent(word!)}`)).body).toEqual([]);

    // The run view applies the same rule to the run's audit trail.
    const operatorView = await until(() => asOperator(`/api/runs/${internalRun}`), (r) => r.status === 200 && r.body.audit.length > 0, 'the run view');
    expect(operatorView.body.audit.some((r: { runId: string }) => r.runId === internalRun)).toBe(true);
    const viewerView = await asViewer(`/api/runs/${internalRun}`);
    expect(viewerView.status).toBe(200);
    expect(viewerView.body.audit).toEqual([]);
  });

  it('searches the audit stream, lists the job registry and reads the scheduler', async () => {
    const runId = await harness.startRun('api-audit', { maxTurns: 1 });
    await auditSomething(runId, 'api-audit');
    const found = await until(() => asOperator(`/api/audit?q=${runId}`), (r) => r.body.length > 0, 'audit records');
    expect(found.body[0]).toMatchObject({ runId, jobId: 'api-audit', kind: 'access_decision', action: 'tool.call', resource: 'echo' });
    const badKind = await asViewer('/api/audit?kind=nonsense');
    expect(badKind.status).toBe(400);
    expect(badKind.body.error.message).toContain('kind: expected one of');
    expect((await asViewer('/api/audit?since=yesterday')).body.error.message).toContain('since:');

    const jobs = await until(() => asViewer('/api/jobs'), (r) => r.body.some((j: { jobId: string }) => j.jobId === 'api-audit'), 'the job');
    expect(jobs.body.find((j: { jobId: string }) => j.jobId === 'api-audit').governance).toMatchObject({ riskLevel: 'high', approver: 'lead@example.com' });

    const stats = await asViewer('/api/scheduler');
    expect(stats.status).toBe(200);
    expect(stats.body.endpoints.map((e: { endpoint: string }) => e.endpoint)).toContain('default');
    // Scheduler operator controls: an operator drains and resumes an endpoint; a viewer may not.
    expect((await asViewer('/api/scheduler/endpoints/default/drain', { method: 'POST', body: {} })).status).toBe(403);
    expect((await asOperator('/api/scheduler/endpoints/default/drain', { method: 'POST', body: {} })).body).toEqual({ ok: true, affected: 0 });
    expect((await asOperator('/api/scheduler/endpoints/default/resume', { method: 'POST', body: {} })).body).toEqual({ ok: true, affected: 0 });
    expect((await asOperator('/api/scheduler/jobs/api-audit/drain', { method: 'POST', body: {} })).status).toBe(400);
  });

  it('lets the kernos CLI decide an approval held by services/access', async () => {
    const runId = await harness.startRun('cli-access', { maxTurns: 3, tools: ['send-email-kernel'] });
    await until(() => harness.operator.progress(runId), (p) => p.some((l) => l.message.includes('needs_approval')), 'the run to wait');
    const approvalId = await requestApproval(runId, 'cli-access');
    const bin = fileURLToPath(new URL('../../../packages/cli/bin/kernos.js', import.meta.url));
    const env = { ...process.env, KERNOS_NATS_URL: harness.natsUrl, KERNOS_TASK_QUEUE: harness.taskQueue };
    const run = (...args: string[]) => execFileAsync(process.execPath, [bin, ...args], { env }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    const listed = (await run('approvals', '--run', runId, '--json')) as { stdout: string };
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: approvalId, status: 'pending', approver: 'lead@example.com' })]);
    const wrong = (await run('deny', approvalId, '--as', 'mallory@example.com')) as { code: number; stderr: string };
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('only lead@example.com may');
    const ok = (await run('approve', approvalId, '--as', 'lead@example.com', '--reason', 'fine')) as { stdout: string };
    expect(ok.stdout).toContain(`approved ${approvalId} (run ${runId}) as lead@example.com`);
    const done = await until(() => harness.operator.describeRun(runId), (d) => d.board === 'done', 'the run to finish');
    expect(done.result?.approved).toBe(true);
  });

  it('streams board updates over server-sent events', async () => {
    const controller = new AbortController();
    const res = await fetch(`${harness.url}/api/events`, { headers: { authorization: `Bearer ${viewerUser.token}` }, signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('event: board')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).toMatch(/event: board\ndata: \{"columns"/);
  });
});

describe('cockpit in a browser', () => {
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'kernos-chromium-'));
    // A persistent context on a fresh directory is how playwright takes --user-data-dir.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.KERNOS_CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  async function login(token: string): Promise<Page> {
    await context.clearCookies();
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(harness.url);
    await page.getByTestId('login-token').fill(token);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('who').waitFor();
    return page;
  }

  it('pauses and resumes a run', async () => {
    const runId = await harness.startRun('ui-pause', { maxTurns: 100 });
    const page = await login(operatorUser.token);
    await page.getByTestId(`run-card-${runId}`).click();
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 15_000 }).toMatch(/running|waiting_lease|queued/);
    await page.getByTestId('pause-button').click();
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 15_000 }).toBe('paused');
    await page.screenshot({ path: join(screenshots, 'run-paused.png'), fullPage: true });
    expect((await harness.operator.describeRun(runId)).state?.status).toBe('paused');

    await page.getByTestId('resume-button').click();
    await expect.poll(() => page.getByTestId('run-status').textContent(), { timeout: 15_000 }).not.toBe('paused');
    await page.screenshot({ path: join(screenshots, 'run-resumed.png'), fullPage: true });
    expect((await harness.operator.describeRun(runId)).state?.status).toBe('running');
    await page.close();
  });

  it('finds a run in the audit search', async () => {
    const runId = await harness.startRun('ui-audit', { maxTurns: 1 });
    // A "public" record: the viewer (public data only) may see it in the search.
    await auditSomething(runId, 'ui-audit', ['public']);
    const page = await login(viewerUser.token);
    await page.goto(`${harness.url}/#/audit`);
    await page.getByTestId('audit-q').fill(runId);
    await page.getByTestId('audit-search').click();
    await page.getByTestId(`audit-run-${runId}`).first().waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(screenshots, 'audit-search.png'), fullPage: true });
    await page.getByTestId(`audit-run-${runId}`).first().click();
    await expect.poll(() => page.locator('h2').first().textContent(), { timeout: 15_000 }).toBe(`Run ${runId}`);
    // A viewer sees the run but cannot steer it.
    expect(await page.getByTestId('cancel-button').isDisabled()).toBe(true);
    await page.close();
  });

  it('approves a pending action from the approvals inbox, and the run goes on', async () => {
    const runId = await harness.startRun('ui-approve', { maxTurns: 3, tools: ['send-email-kernel'] });
    await until(() => harness.operator.progress(runId), (p) => p.some((l) => l.message.includes('needs_approval')), 'the run to wait');
    const approvalId = await requestApproval(runId, 'ui-approve');

    const viewer = await login(viewerUser.token);
    await viewer.goto(`${harness.url}/#/approvals`);
    await viewer.getByTestId(`approve-${approvalId}`).waitFor();
    expect(await viewer.getByTestId(`approve-${approvalId}`).isDisabled()).toBe(true);
    await viewer.close();

    const page = await login(operatorUser.token);
    await page.goto(`${harness.url}/#/approvals`);
    await page.getByTestId(`reason-${approvalId}`).fill('checked the recipient');
    await page.screenshot({ path: join(screenshots, 'approval-pending.png'), fullPage: true });
    await page.getByTestId(`approve-${approvalId}`).click();
    await expect.poll(() => page.locator('#toast').textContent(), { timeout: 15_000 }).toContain(`approved ${approvalId}`);

    const done = await until(() => harness.operator.describeRun(runId), (d) => d.board === 'done', 'the run to finish');
    expect(done.result?.approved).toBe(true);
    expect(done.progress.map((p) => p.message)).toContain(`approval ${approvalId} approved by lead@example.com: checked the recipient`);
    await page.goto(`${harness.url}/#/runs/${runId}`);
    await page.getByTestId(`approval-${approvalId}`).waitFor();
    expect(await page.getByTestId(`approval-${approvalId}`).textContent()).toContain('approved');
    await page.screenshot({ path: join(screenshots, 'approval-decided.png'), fullPage: true });
    await page.close();
  });
});

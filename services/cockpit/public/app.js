/* global document, location, window, fetch, EventSource, Node, URLSearchParams, prompt, setTimeout, clearTimeout */
// Kernos cockpit UI: plain modules, no build step. Every value from the API goes into the page as text (never
// innerHTML), so a run's goal or a tool's output cannot inject markup.
const main = document.getElementById('main');
const columns = ['queued', 'running', 'waiting_lease', 'awaiting_approval', 'paused', 'done', 'failed', 'cancelled'];
const columnTitles = {
  queued: 'Queued',
  running: 'Running',
  waiting_lease: 'Waiting for a lease',
  awaiting_approval: 'Awaiting approval',
  paused: 'Paused',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};
let me = null;
let events = null;
let latestBoard = null;

/**
 * Shows a view, unless the route changed while it loaded (a slow view must not cover the one asked for later).
 * What a person typed into an input that is still there after the redraw is kept: a live update that lands
 * between typing a reason and pressing Approve must not throw the reason away.
 */
function render(at, ...nodes) {
  if ((location.hash || '#/board') !== at) return;
  const typed = new Map();
  for (const input of main.querySelectorAll('input[data-testid]')) if (input.value) typed.set(input.dataset.testid, input.value);
  main.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
  for (const [testid, value] of typed) {
    const input = main.querySelector(`input[data-testid="${testid}"]`);
    if (input && !input.value) input.value = value;
  }
}

/** Builds an element: h('div', {class: 'x', onclick}, 'text', child...). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { ...(options.body ? { 'content-type': 'application/json' } : {}), ...(options.headers ?? {}) },
    credentials: 'same-origin',
  });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) {
    showLogin(body.error?.message);
    throw new Error(body.error?.message ?? 'log in first');
  }
  if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
  return body;
}

function toast(text, isError = false) {
  const el = document.getElementById('toast');
  el.textContent = text;
  el.className = isError ? 'show error' : 'show';
  el.dataset.testid = 'toast';
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.className = ''), 4000);
}

function showLogin(message) {
  document.getElementById('nav').hidden = true;
  events?.close();
  events = null;
  const token = h('input', { type: 'password', name: 'token', placeholder: 'access token', 'data-testid': 'login-token', autocomplete: 'current-password' });
  const error = h('p', { class: 'error', 'data-testid': 'login-error' }, message && message !== 'log in first (bearer token or the login form)' ? message : '');
  main.replaceChildren(
    h(
      'form',
      {
        class: 'login',
        onsubmit: async (event) => {
          event.preventDefault();
          try {
            await api('/api/login', { method: 'POST', body: JSON.stringify({ token: token.value }) });
            await boot();
          } catch (e) {
            error.textContent = e.message;
          }
        },
      },
      h('section', {}, h('h2', {}, 'Log in'), token, ' ', h('button', { class: 'primary', type: 'submit', 'data-testid': 'login-submit' }, 'Log in'), error),
    ),
  );
}

const can = (what) => me && me.role === 'operator' && (what === 'steer' || what === 'decide');

function startLive() {
  if (events) return;
  events = new EventSource('/api/events');
  const dot = document.getElementById('live');
  events.onopen = () => dot.classList.add('on');
  events.onerror = () => dot.classList.remove('on');
  events.addEventListener('board', (event) => {
    latestBoard = JSON.parse(event.data);
    const route = location.hash || '#/board';
    // Never redraw under someone typing (a reason, a search).
    if (document.activeElement && ['INPUT', 'SELECT'].includes(document.activeElement.tagName)) return;
    // The board redraws from the pushed data; other views re-read what they show.
    if (route === '#/board') renderBoard(latestBoard);
    else if (route.startsWith('#/runs/') || route.startsWith('#/traces/')) void route_();
    else if (route === '#/approvals') void route_();
    void refreshApprovalCount();
  });
}

async function refreshApprovalCount() {
  try {
    const list = await api('/api/approvals');
    document.getElementById('approval-count').textContent = list.length ? String(list.length) : '';
  } catch {
    // The count is a hint; the inbox itself shows errors.
  }
}

function renderBoard(board) {
  main.replaceChildren(
    h('p', { class: 'muted' }, `${board.total} runs, updated ${new Date(board.at).toLocaleTimeString()}`),
    h(
      'div',
      { class: 'board', 'data-testid': 'board' },
      columns.map((col) =>
        h(
          'div',
          { class: 'column', 'data-testid': `column-${col}` },
          h('h3', {}, `${columnTitles[col]} (${board.columns[col].length})`),
          board.columns[col].map((c) =>
            h('a', { class: 'card', href: `#/runs/${encodeURIComponent(c.runId)}`, 'data-testid': `run-card-${c.runId}` }, c.runId, h('small', {}, c.jobId || c.workflowType), c.lastProgress ? h('small', {}, c.lastProgress) : null),
          ),
        ),
      ),
    ),
  );
}

async function viewBoard() {
  const board = latestBoard ?? (await api('/api/board'));
  if ((location.hash || '#/board') === '#/board') renderBoard(board);
}

async function viewJobs() {
  const at = location.hash || '#/board';
  const jobs = await api('/api/jobs');
  render(at, 
    h('section', {}, h('h2', {}, 'Job registry'), h('p', { class: 'muted' }, "Jobs registered with the scheduler, and jobs seen in recent runs (governance from the job's document or its latest run).")),
    h(
      'table',
      { 'data-testid': 'jobs' },
      h('tr', {}, ['Job', 'Tenant', 'Workflow', 'Registered', 'Schedule', 'Runs', 'Running', 'Failed', 'Risk', 'Oversight', 'Approver', 'Data', 'Tools', 'Latest run'].map((t) => h('th', {}, t))),
      jobs.map((j) =>
        h(
          'tr',
          {},
          h('td', {}, j.jobId),
          h('td', {}, j.tenant),
          h('td', {}, j.workflowType),
          h('td', {}, j.registered ? `yes (gen ${j.generation})` : 'no'),
          h('td', {}, j.schedule || '-'),
          h('td', {}, j.runs),
          h('td', {}, j.running),
          h('td', {}, j.failed),
          h('td', {}, j.governance?.riskLevel ?? '-'),
          h('td', {}, j.governance?.humanOversight ?? '-'),
          h('td', {}, j.governance?.approver ?? '-'),
          h('td', {}, (j.governance?.dataCategories ?? []).join(', ')),
          h('td', {}, (j.tools ?? []).join(', ')),
          h('td', {}, j.lastRunId ? h('a', { href: `#/runs/${encodeURIComponent(j.lastRunId)}` }, j.lastRunId) : '-'),
        ),
      ),
    ),
  );
}

async function steer(runId, verb) {
  const reason = verb === 'resume' ? undefined : prompt(`Reason to ${verb} ${runId}?`, `${verb} from the cockpit`) ?? undefined;
  try {
    await api(`/api/runs/${encodeURIComponent(runId)}/${verb}`, { method: 'POST', body: JSON.stringify(reason ? { reason } : {}) });
    toast(`${verb} sent to ${runId}`);
    setTimeout(() => void route_(), 400);
  } catch (e) {
    toast(e.message, true);
  }
}

async function decide(approval, approve) {
  const comment = document.querySelector(`[data-testid="reason-${approval.id}"]`)?.value ?? '';
  try {
    await api('/api/approvals/decide', {
      method: 'POST',
      body: JSON.stringify({ source: approval.source, approvalId: approval.id, runId: approval.runId, approve, comment }),
    });
    toast(`${approve ? 'approved' : 'denied'} ${approval.id}`);
    setTimeout(() => void route_(), 300);
  } catch (e) {
    toast(e.message, true);
  }
}

function approvalRows(list, withRun) {
  return h(
    'table',
    { 'data-testid': 'approvals' },
    h('tr', {}, [withRun ? 'Run' : null, 'Action', 'Resource', 'Reason', 'Approver', 'Status', 'Decision'].filter(Boolean).map((t) => h('th', {}, t))),
    list.map((a) =>
      h(
        'tr',
        { 'data-testid': `approval-${a.id}` },
        withRun ? h('td', {}, h('a', { href: `#/runs/${encodeURIComponent(a.runId)}` }, a.runId)) : null,
        h('td', {}, a.action),
        h('td', {}, a.resource),
        h('td', {}, a.reason),
        h('td', {}, a.approver),
        h('td', { class: 'status' }, a.status),
        h(
          'td',
          {},
          a.status === 'pending'
            ? [
                h('input', { 'data-testid': `reason-${a.id}`, placeholder: 'reason', size: 18 }),
                ' ',
                h('button', { class: 'primary', 'data-testid': `approve-${a.id}`, disabled: !can('decide') || !a.mayDecide, title: a.mayDecide ? '' : `only ${a.approver} may decide`, onclick: () => decide(a, true) }, 'Approve'),
                ' ',
                h('button', { class: 'danger', 'data-testid': `deny-${a.id}`, disabled: !can('decide') || !a.mayDecide, onclick: () => decide(a, false) }, 'Deny'),
              ]
            : `${a.decidedBy || ''} ${a.comment ? `(${a.comment})` : ''}`,
        ),
      ),
    ),
  );
}

async function viewApprovals() {
  const at = location.hash || '#/board';
  const list = await api('/api/approvals');
  render(at, h('section', {}, h('h2', {}, `Approvals inbox (${list.length} pending)`), list.length ? approvalRows(list, true) : h('p', { class: 'muted', 'data-testid': 'no-approvals' }, 'Nothing waits for a decision.')));
}

async function viewRun(runId) {
  const at = location.hash || '#/board';
  const run = await api(`/api/runs/${encodeURIComponent(runId)}`);
  const steerButton = (verb, enabled, cls) =>
    h('button', { class: cls, 'data-testid': `${verb}-button`, disabled: !can('steer') || !enabled, title: can('steer') ? '' : 'viewers cannot steer runs', onclick: () => steer(runId, verb) }, verb[0].toUpperCase() + verb.slice(1));
  const open = run.status === 'RUNNING';
  render(at, 
    h(
      'section',
      {},
      h('h2', {}, `Run ${run.runId}`),
      h('p', {}, 'Status: ', h('span', { class: 'status', 'data-testid': 'run-status' }, run.board), ` (Temporal ${run.status})`, run.state?.reason ? ` — ${run.state.reason}` : ''),
      h('p', { class: 'muted' }, `job ${run.jobId || '-'} · ${run.workflowType} · started ${run.startTime}${run.closeTime ? ` · closed ${run.closeTime}` : ''}`),
      h(
        'p',
        {},
        steerButton('pause', open && run.controls.pause && run.board !== 'paused'),
        ' ',
        steerButton('resume', open && run.controls.resume && run.board === 'paused'),
        ' ',
        steerButton('cancel', open, 'danger'),
      ),
      h('p', { 'data-testid': 'run-tokens' }, `Tokens: ${run.tokens.input} in + ${run.tokens.output} out`, run.cost ? ` · cost $${run.cost.usd.toFixed(4)} (${run.cost.model})` : ''),
      h(
        'p',
        { 'data-testid': 'run-trace' },
        'Trace: ',
        run.trace.traceId
          ? h('a', { href: `#/traces/${run.trace.traceId}`, 'data-testid': 'run-trace-link' }, run.trace.traceId)
          : h('span', { class: 'muted' }, 'not known yet'),
        run.trace.url ? h('span', {}, ' · ', h('a', { href: run.trace.url, target: '_blank', rel: 'noopener' }, 'open in trace viewer')) : null,
      ),
      run.failure ? h('p', { class: 'error' }, run.failure) : null,
      run.result?.answer ? h('p', {}, 'Answer: ', run.result.answer) : null,
    ),
    run.governance
      ? h('section', {}, h('h2', {}, 'Governance'), h('p', {}, `risk ${run.governance.riskLevel} · oversight ${run.governance.humanOversight} · approver ${run.governance.approver} · data ${(run.governance.dataCategories ?? []).join(', ')}`))
      : null,
    run.approvals.length ? h('section', {}, h('h2', {}, 'Approvals'), approvalRows(run.approvals, false)) : null,
    h('section', {}, h('h2', {}, 'Progress (turns, tool calls, decisions)'), h('table', { 'data-testid': 'progress' }, run.progress.map((p) => h('tr', {}, h('td', { class: 'muted' }, new Date(p.at).toLocaleTimeString()), h('td', {}, p.service), h('td', {}, p.message))))),
    run.audit.length
      ? h(
          'section',
          {},
          h('h2', {}, `Audit records (${run.audit.length})`),
          h('table', {}, h('tr', {}, ['Time', 'Kind', 'Service', 'Action', 'Resource', 'Outcome'].map((t) => h('th', {}, t))), run.audit.map((r) => h('tr', {}, h('td', {}, r.time), h('td', {}, r.kind), h('td', {}, r.service), h('td', {}, r.action), h('td', {}, r.resource), h('td', {}, r.outcome)))),
        )
      : null,
    run.trace.spans.length
      ? h(
          'section',
          {},
          h('h2', {}, `Spans (${run.trace.spans.length})`),
          h('div', { class: 'span' }, spanTree(run.trace.spans)),
        )
      : null,
  );
}

const serviceColours = ['#2d6cdf', '#3ccf6e', '#e08a1e', '#9b59b6', '#d9534f', '#17a2b8', '#6c757d', '#c0a000'];

/**
 * A trace as a waterfall: one row per span in tree order (children under their parent, by start time), a bar at
 * its offset and length on the trace's time axis, coloured by service. The spans come from the cockpit's own OTLP
 * receiver (GET /api/traces/:id), so a trace can be followed across every service without a trace backend.
 */
async function viewTrace(traceId) {
  const at = location.hash || '#/board';
  const spans = await api(`/api/traces/${encodeURIComponent(traceId)}`);
  if (spans.length === 0) {
    render(at, h('section', {}, h('h2', {}, `Trace ${traceId}`), h('p', { class: 'muted', 'data-testid': 'trace-empty' }, 'No spans received for this trace (yet). Spans arrive a few seconds after they end.')));
    return;
  }
  const start = spans.reduce((m, s) => (BigInt(s.startUnixNano) < m ? BigInt(s.startUnixNano) : m), BigInt(spans[0].startUnixNano));
  const end = spans.reduce((m, s) => (BigInt(s.endUnixNano) > m ? BigInt(s.endUnixNano) : m), BigInt(spans[0].endUnixNano));
  const totalMs = Math.max(Number(end - start) / 1e6, 0.001);
  const services = [...new Set(spans.map((s) => s.service))].sort();
  const colour = (service) => serviceColours[services.indexOf(service) % serviceColours.length];
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map();
  for (const s of spans) {
    const parent = ids.has(s.parentSpanId) ? s.parentSpanId : '';
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const rows = [];
  const byStart = (a, b) => (BigInt(a.startUnixNano) < BigInt(b.startUnixNano) ? -1 : 1);
  const walk = (s, depth) => {
    const offsetMs = Number(BigInt(s.startUnixNano) - start) / 1e6;
    const durationMs = Number(BigInt(s.endUnixNano) - BigInt(s.startUnixNano)) / 1e6;
    rows.push(
      h(
        'tr',
        { 'data-testid': 'trace-span', 'data-service': s.service, title: JSON.stringify(s.attributes, null, 1) },
        h('td', {}, h('span', { class: 'svc', style: `background:${colour(s.service)}` }, s.service)),
        h('td', { class: s.statusCode === 2 ? 'error' : '', style: `padding-left:${0.5 + depth}rem` }, s.name),
        h(
          'td',
          { class: 'lane' },
          h('span', {
            class: 'wbar',
            style: `left:${((offsetMs / totalMs) * 100).toFixed(3)}%;width:${Math.max((durationMs / totalMs) * 100, 0.2).toFixed(3)}%;background:${colour(s.service)}`,
          }),
        ),
        h('td', { class: 'muted' }, `${durationMs.toFixed(1)} ms`),
      ),
    );
    const kids = (children.get(s.spanId) ?? []).sort(byStart);
    for (const c of kids) walk(c, depth + 1);
  };
  for (const root of (children.get('') ?? []).sort(byStart)) walk(root, 0);
  render(
    at,
    h(
      'section',
      {},
      h('h2', {}, `Trace ${traceId}`),
      h('p', { 'data-testid': 'trace-summary' }, `${spans.length} spans · ${totalMs.toFixed(1)} ms · services: `, h('span', { 'data-testid': 'trace-services' }, services.join(', '))),
      h('table', { class: 'waterfall', 'data-testid': 'trace-waterfall' }, h('tr', {}, ['Service', 'Span', 'Timeline', 'Duration'].map((t) => h('th', {}, t))), rows),
    ),
  );
}

function spanTree(spans) {
  const children = new Map();
  for (const s of spans) children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s]);
  const ids = new Set(spans.map((s) => s.spanId));
  const lines = [];
  const walk = (s, depth) => {
    lines.push(`${'  '.repeat(depth)}${s.service}: ${s.name} ${s.durationMs.toFixed(1)} ms${s.error ? ' ERROR' : ''}`);
    for (const c of children.get(s.spanId) ?? []) walk(c, depth + 1);
  };
  for (const root of spans.filter((s) => !ids.has(s.parentSpanId))) walk(root, 0);
  return lines.join('\n');
}

async function schedulerControl(kind, target, verb) {
  try {
    const { affected } = await api(`/api/scheduler/${kind}/${encodeURIComponent(target)}/${verb}`, { method: 'POST', body: JSON.stringify({}) });
    toast(`${verb} ${target}: ${affected} queued turns affected`);
    setTimeout(() => void route_(), 300);
  } catch (e) {
    toast(e.message, true);
  }
}

async function viewScheduler() {
  const at = location.hash || '#/board';
  let stats;
  try {
    stats = await api('/api/scheduler');
  } catch (e) {
    render(at, h('section', {}, h('h2', {}, 'Scheduler'), h('p', { class: 'error' }, e.message)));
    return;
  }
  const endpoints = stats.endpoints ?? [];
  const tokensTotal = endpoints.reduce((sum, e) => sum + Number(e.tokensTotal ?? 0), 0);
  render(at, 
    h(
      'section',
      {},
      h('h2', {}, 'Scheduler: endpoints'),
      h(
        'table',
        { 'data-testid': 'scheduler' },
        h('tr', {}, ['Endpoint', 'Utilisation', 'Active / max', 'Queued', 'Granted', 'Tokens', 'Token share', 'Expired leases', 'Wait timeouts', 'Control'].map((t) => h('th', {}, t))),
        endpoints.map((e) => {
          const util = e.maxConcurrent ? Math.round((100 * e.active) / e.maxConcurrent) : 0;
          const share = tokensTotal ? Math.round((100 * Number(e.tokensTotal ?? 0)) / tokensTotal) : 0;
          return h(
            'tr',
            {},
            h('td', {}, e.endpoint),
            h('td', {}, h('span', { class: 'bar' }, h('span', { style: `width:${util}%` })), ` ${util}%`),
            h('td', {}, `${e.active} / ${e.maxConcurrent}`),
            h('td', {}, e.queued),
            h('td', {}, e.grantedTotal),
            h('td', {}, e.tokensTotal),
            h('td', {}, `${share}%`),
            h('td', {}, e.expiredTotal),
            h('td', {}, e.waitTimeoutsTotal),
            h(
              'td',
              {},
              ['drain', 'resume'].map((verb) =>
                h('button', { 'data-testid': `${verb}-${e.endpoint}`, disabled: !can('steer'), onclick: () => schedulerControl('endpoints', e.endpoint, verb) }, verb),
              ),
            ),
          );
        }),
      ),
    ),
  );
}

async function viewAudit() {
  const at = location.hash || '#/board';
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const q = h('input', { name: 'q', placeholder: 'run, job, agent, tool...', value: params.get('q') ?? '', 'data-testid': 'audit-q' });
  const kind = h('select', { name: 'kind', 'data-testid': 'audit-kind' }, ['', 'llm_turn', 'tool_attempt', 'access_decision', 'approval', 'graph_write', 'lease', 'run'].map((k) => h('option', { value: k, selected: params.get('kind') === k }, k || 'any kind')));
  const since = h('select', { name: 'since' }, ['1h', '24h', '7d', '30d'].map((s) => h('option', { value: s, selected: (params.get('since') ?? '24h') === s }, `last ${s}`)));
  const results = h('div', { 'data-testid': 'audit-results' });
  const search = async () => {
    const query = new URLSearchParams({ since: since.value });
    if (q.value) query.set('q', q.value);
    if (kind.value) query.set('kind', kind.value);
    results.replaceChildren(h('p', { class: 'muted' }, 'searching...'));
    try {
      const records = await api(`/api/audit?${query}`);
      results.replaceChildren(
        h('p', { class: 'muted', 'data-testid': 'audit-count' }, `${records.length} records`),
        h(
          'table',
          {},
          h('tr', {}, ['Time', 'Kind', 'Run', 'Job', 'Action', 'Resource', 'Outcome', 'Risk'].map((t) => h('th', {}, t))),
          records.map((r) =>
            h(
              'tr',
              { 'data-testid': 'audit-row' },
              h('td', {}, r.time),
              h('td', {}, r.kind),
              h('td', {}, h('a', { href: `#/runs/${encodeURIComponent(r.runId)}`, 'data-testid': `audit-run-${r.runId}` }, r.runId)),
              h('td', {}, r.jobId),
              h('td', {}, r.action),
              h('td', {}, r.resource),
              h('td', {}, r.outcome),
              h('td', {}, r.riskLevel),
            ),
          ),
        ),
      );
    } catch (e) {
      results.replaceChildren(h('p', { class: 'error' }, e.message));
    }
  };
  render(at, 
    h('section', {}, h('h2', {}, 'Audit search'), h('form', { class: 'inline', onsubmit: (e) => (e.preventDefault(), void search()) }, q, kind, since, h('button', { class: 'primary', type: 'submit', 'data-testid': 'audit-search' }, 'Search')), results),
  );
  if (params.get('q')) void search();
}

async function viewGraph() {
  const at = location.hash || '#/board';
  const subject = h('input', { name: 'subject', placeholder: 'subject, e.g. case-42', 'data-testid': 'graph-subject' });
  const q = h('input', { name: 'q', placeholder: 'or search text', 'data-testid': 'graph-q' });
  const results = h('div', { 'data-testid': 'graph-results' });
  const go = async () => {
    const query = new URLSearchParams();
    if (q.value) query.set('q', q.value);
    else query.set('subject', subject.value);
    try {
      const { mode, result } = await api(`/api/graph?${query}`);
      const facts = mode === 'search' ? (result.hits ?? []).map((hit) => hit.fact ?? hit) : result.facts ?? [];
      results.replaceChildren(
        h('p', { class: 'muted' }, `${facts.length} facts (only categories ${me.dataCategories.join(', ')})`),
        h(
          'table',
          {},
          h('tr', {}, ['Subject', 'Predicate', 'Object', 'Category', 'Run', 'Agent'].map((t) => h('th', {}, t))),
          facts.map((f) =>
            h(
              'tr',
              {},
              h('td', {}, h('a', { href: '#/graph', onclick: (e) => (e.preventDefault(), (subject.value = f.subject ?? ''), (q.value = ''), void go()) }, f.subject ?? '')),
              h('td', {}, f.predicate ?? ''),
              h('td', {}, f.object ?? ''),
              h('td', {}, f.dataCategory ?? ''),
              h('td', {}, f.runId ? h('a', { href: `#/runs/${encodeURIComponent(f.runId)}` }, f.runId) : ''),
              h('td', {}, f.agentId ?? ''),
            ),
          ),
        ),
      );
    } catch (e) {
      results.replaceChildren(h('p', { class: 'error' }, e.message));
    }
  };
  render(at, h('section', {}, h('h2', {}, 'Graph explorer'), h('form', { class: 'inline', onsubmit: (e) => (e.preventDefault(), void go()) }, subject, q, h('button', { class: 'primary', type: 'submit' }, 'Explore')), results));
}

async function route_() {
  const hash = location.hash || '#/board';
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', hash.startsWith(a.getAttribute('href')));
  try {
    if (hash.startsWith('#/runs/')) return await viewRun(decodeURIComponent(hash.slice('#/runs/'.length)));
    if (hash.startsWith('#/traces/')) return await viewTrace(decodeURIComponent(hash.slice('#/traces/'.length)));
    if (hash.startsWith('#/jobs')) return await viewJobs();
    if (hash.startsWith('#/approvals')) return await viewApprovals();
    if (hash.startsWith('#/scheduler')) return await viewScheduler();
    if (hash.startsWith('#/audit')) return await viewAudit();
    if (hash.startsWith('#/graph')) return await viewGraph();
    return await viewBoard();
  } catch (e) {
    if (me) main.replaceChildren(h('p', { class: 'error', 'data-testid': 'view-error' }, e.message));
  }
}

async function boot() {
  try {
    me = await api('/api/me');
  } catch {
    return;
  }
  document.getElementById('nav').hidden = false;
  document.getElementById('who').textContent = `${me.name} (${me.role})`;
  document.getElementById('who').dataset.testid = 'who';
  startLive();
  void refreshApprovalCount();
  await route_();
}

window.addEventListener('hashchange', () => {
  // The audit form keeps its own state; only a route change redraws.
  if (!location.hash.startsWith('#/audit') || !document.querySelector('[data-testid="audit-results"]')) void route_();
});
void boot();

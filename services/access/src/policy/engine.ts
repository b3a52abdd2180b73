import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { KernosError } from '@kernos/errors';
import { access } from '@kernos/wire';

// Works around a V8 11.3 (Node 20) crash: under load, a lazy deoptimisation of TurboFan code that inlined a JS→Wasm
// call into cedar-wasm (evaluateBoth → evaluate → statefulIsAuthorized) aborts the process with "Fatal error ...
// unreachable code" in Deoptimizer::DoComputeBuiltinContinuation. Reproduced 3 of 3 times within ~2 minutes by
// bench/decision-latency.ts --concurrency 64 (--trace-deopt shows evaluateBoth's lazy deopt as the last event);
// with this flag the same load ran 10 minutes without a crash. Set before any of this module's code is optimised;
// it only stops TurboFan inlining JS→Wasm wrappers (calls still go through the regular wrapper).
setFlagsFromString('--no-turbo-inline-js-wasm-calls');

const { Decision } = access;

/** The actions Kernos knows; anything else is denied before Cedar is asked. */
export const knownActions = ['tool.call', 'data.read', 'data.write', 'model.use'] as const;

export interface Verdict {
  decision: access.Decision;
  reason: string;
  rule: string;
}

/** Policy text; see services/access/policies for the defaults and README "Policies" for the model. */
export interface PolicySources {
  /** Permits and forbids (Cedar). */
  policies: string;
  /** Permits that turn an allow into needs_approval (Cedar). */
  approvalPolicies: string;
  /** Cedar schema (human-readable form) both are validated against. */
  schema: string;
}

export interface PolicyEngine {
  /** Decides one request; `isApproved` says whether an approver already approved this run's action on this resource. */
  decide(request: access.CheckRequest, isApproved?: () => boolean): Verdict;
}

const defaultDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'policies');

/** Reads `kernos.cedar`, `approval.cedar` and `kernos.cedarschema` from a folder (default: the service's policies/). */
export function readPolicySources(dir = defaultDir): PolicySources {
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch (error) {
      throw new KernosError('invalid_argument', `KERNOS_ACCESS_POLICY_DIR: cannot read ${join(dir, name)}: ${(error as Error).message}`);
    }
  };
  return { policies: read('kernos.cedar'), approvalPolicies: read('approval.cedar'), schema: read('kernos.cedarschema') };
}

let nextSetId = 0;

/**
 * Parses, validates (strict, against the schema) and pre-parses both policy sets, so a request costs one Cedar
 * evaluation (two when it is allowed and may need approval). Throws invalid_argument naming the policy and the
 * problem if anything does not parse or validate: a bad policy must stop the service, never fail open.
 */
export function createPolicyEngine(sources: PolicySources = readPolicySources()): PolicyEngine {
  const schemaCheck = cedar.checkParseSchema(sources.schema);
  if (schemaCheck.type !== 'success') throw new KernosError('invalid_argument', `cedar schema: ${formatErrors(schemaCheck.errors)}`);
  const main = loadSet('kernos.cedar', sources.policies, sources.schema);
  const approval = loadSet('approval.cedar', sources.approvalPolicies, sources.schema);
  const cache = new Map<string, { verdict: Verdict; approval?: Verdict }>();

  return {
    decide(request, isApproved = () => false) {
      const governance = request.governance;
      if (!governance) return deny('missing-governance', 'the request carries no governance metadata');
      if (!(knownActions as readonly string[]).includes(request.action)) return deny('unknown-action', `unknown action "${request.action}"`);
      const key = cacheKey(request);
      let cached = cache.get(key);
      if (cached) {
        cache.delete(key);
      } else {
        cached = evaluateBoth(request);
      }
      cache.set(key, cached);
      if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
      if (cached.approval && !isApproved()) return cached.approval;
      return cached.verdict;
    },
  };

  // Policies are fixed for the engine's life and Cedar is deterministic, so a decision depends only on the request's
  // fields (the run id only matters for the approval lookup, done after): the same question in a busy kernel costs
  // a map lookup instead of two Wasm calls.
  function evaluateBoth(request: access.CheckRequest): { verdict: Verdict; approval?: Verdict } {
    const call = buildCall(request);
    const first = evaluate(main, call);
    if (first.decision === 'deny') {
      const rule = first.policies[0];
      if (rule === undefined) return { verdict: defaultDeny(request) };
      return { verdict: deny(rule, fill(main.reasons.get(rule) ?? `denied by policy ${rule}`, request)) };
    }
    const verdict = { decision: Decision.ALLOW, reason: '', rule: first.policies[0] ?? 'allow' };
    const second = evaluate(approval, call);
    if (second.decision !== 'allow') return { verdict };
    const rule = second.policies[0] ?? 'approval';
    return { verdict, approval: { decision: Decision.NEEDS_APPROVAL, reason: fill(approval.reasons.get(rule) ?? 'needs approval by {approver}', request), rule } };
  }
}

const CACHE_LIMIT = 10_000;

function cacheKey(request: access.CheckRequest): string {
  const g = request.governance!;
  const a = request.toolAnnotations;
  return JSON.stringify([
    request.ref?.tenant ?? '',
    request.ref?.jobId ?? '',
    request.ref?.agentId ?? '',
    request.action,
    request.resource,
    g.riskLevel,
    g.dataCategories,
    g.humanOversight,
    g.approver,
    request.grantedTools,
    a ? [a.readOnly, a.destructive, a.idempotent, a.openWorld] : null,
    request.resourceTenant,
    request.resourceJobId,
    String(request.payloadBytes),
  ]);
}

interface LoadedSet {
  id: string;
  reasons: Map<string, string>;
}

function loadSet(file: string, text: string, schema: string): LoadedSet {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type !== 'success') throw new KernosError('invalid_argument', `${file}: ${formatErrors(parts.errors)}`);
  const policies: Record<string, string> = {};
  const reasons = new Map<string, string>();
  parts.policies.forEach((policy, index) => {
    const json = cedar.policyToJson(policy);
    if (json.type !== 'success') throw new KernosError('invalid_argument', `${file}: policy ${index + 1}: ${formatErrors(json.errors)}`);
    const id = json.json.annotations?.id ?? `${file}#${index + 1}`;
    if (id in policies) throw new KernosError('invalid_argument', `${file}: two policies have @id("${id}")`);
    policies[id] = policy;
    const reason = json.json.annotations?.reason;
    if (reason) reasons.set(id, reason);
  });
  const validation = cedar.validate({ schema, policies: { staticPolicies: policies }, validationSettings: { mode: 'strict' } });
  if (validation.type !== 'success') throw new KernosError('invalid_argument', `${file}: ${formatErrors(validation.errors)}`);
  if (validation.validationErrors.length > 0) {
    throw new KernosError('invalid_argument', `${file}: ${validation.validationErrors.map((e) => `policy ${e.policyId}: ${e.error.message}`).join('; ')}`);
  }
  const id = `kernos-${file}-${nextSetId++}`;
  const parsed = cedar.preparsePolicySet(id, { staticPolicies: policies });
  if (parsed.type !== 'success') throw new KernosError('invalid_argument', `${file}: ${formatErrors(parsed.errors)}`);
  return { id, reasons };
}

type CedarCall = Omit<cedar.StatefulAuthorizationCall, 'preparsedPolicySetId'>;

function evaluate(set: LoadedSet, call: CedarCall): { decision: 'allow' | 'deny'; policies: string[] } {
  const answer = cedar.statefulIsAuthorized({ ...call, preparsedPolicySetId: set.id });
  // Fail closed: an evaluation error is a deny naming the problem, never an allow.
  if (answer.type !== 'success') return { decision: 'deny', policies: ['policy-error'] };
  if (answer.response.diagnostics.errors.length > 0 && answer.response.decision === 'deny' && answer.response.diagnostics.reason.length === 0) {
    return { decision: 'deny', policies: ['policy-error'] };
  }
  return { decision: answer.response.decision, policies: answer.response.diagnostics.reason };
}

function buildCall(request: access.CheckRequest): CedarCall {
  const ref = request.ref;
  const tenant = ref?.tenant ?? '';
  const job = ref?.jobId ?? '';
  const agent = ref?.agentId ?? '';
  const governance = request.governance!;
  const jobUid = { type: 'Kernos::Job', id: `${tenant}/${job}` };
  const principal = { type: 'Kernos::Agent', id: `${tenant}/${job}/${agent}` };
  const entities: cedar.EntityJson[] = [
    { uid: jobUid, attrs: { tenant, job }, parents: [] },
    { uid: principal, attrs: { tenant, job, agent }, parents: [jobUid] },
  ];
  let resource: cedar.EntityUid;
  switch (request.action) {
    case 'tool.call':
      resource = { type: 'Kernos::Tool', id: request.resource };
      entities.push({ uid: resource, attrs: { name: request.resource }, parents: [] });
      break;
    case 'model.use':
      resource = { type: 'Kernos::ModelEndpoint', id: request.resource };
      entities.push({ uid: resource, attrs: { name: request.resource }, parents: [] });
      break;
    default: {
      const owner = { tenant: request.resourceTenant || tenant, job: request.resourceJobId };
      resource = { type: 'Kernos::DataCategory', id: `${owner.tenant}/${owner.job}/${request.resource}` };
      entities.push({ uid: resource, attrs: { name: request.resource, ...owner }, parents: [] });
    }
  }
  const hints = request.toolAnnotations;
  return {
    principal,
    action: { type: 'Kernos::Action', id: request.action },
    resource,
    context: {
      riskLevel: governance.riskLevel,
      dataCategories: [...governance.dataCategories],
      humanOversight: governance.humanOversight,
      approver: governance.approver,
      grantedTools: [...request.grantedTools],
      tool: { readOnly: hints?.readOnly ?? false, destructive: hints?.destructive ?? false, idempotent: hints?.idempotent ?? false, openWorld: hints?.openWorld ?? false },
      payloadBytes: Number(request.payloadBytes),
    },
    entities,
  };
}

/** Cedar's default deny (no permit matched), explained per action. */
function defaultDeny(request: access.CheckRequest): Verdict {
  const job = request.ref?.jobId || '?';
  switch (request.action) {
    case 'tool.call':
      return deny('tool-not-granted', `tool "${request.resource}" is not granted to job ${job}`);
    case 'model.use':
      return deny('model-endpoint-not-granted', `model endpoint "${request.resource}" is not granted to job ${job}`);
    default:
      return deny('data-category-not-granted', `data category "${request.resource}" is not granted to job ${job}`);
  }
}

function fill(template: string, request: access.CheckRequest): string {
  const values: Record<string, string> = {
    resource: request.resource,
    action: request.action,
    job: request.ref?.jobId || '?',
    tenant: request.ref?.tenant || '?',
    agent: request.ref?.agentId || '?',
    approver: request.governance?.approver || 'an approver',
  };
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

function deny(rule: string, reason: string): Verdict {
  return { decision: Decision.DENY, reason, rule };
}

function formatErrors(errors: readonly cedar.DetailedError[]): string {
  return errors.map((e) => e.message + (e.help ? ` (${e.help})` : '')).join('; ');
}

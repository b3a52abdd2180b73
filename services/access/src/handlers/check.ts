import { access, type common } from '@kernos/wire';

type CheckRequest = access.CheckRequest;
type Verdict = { decision: access.Decision; reason: string; rule: string };

const { Decision } = access;

/**
 * The foundation's rules, default deny. Cedar policies replace these in the access issue; the contract stays.
 * Order matters: a forbidding rule wins over any grant.
 */
export function decide(request: CheckRequest): Verdict {
  const governance: common.Governance | undefined = request.governance;
  if (!governance) return deny('missing-governance', 'the request carries no governance metadata');
  if (governance.riskLevel === 'unacceptable') return deny('risk-unacceptable', 'jobs at risk level "unacceptable" may do nothing');

  switch (request.action) {
    case 'tool.call': {
      if (!request.grantedTools.includes(request.resource)) {
        return deny('tool-not-granted', `tool "${request.resource}" is not granted to job ${request.ref?.jobId ?? '?'}`);
      }
      if (governance.humanOversight === 'always' || (governance.humanOversight === 'on_risk' && governance.riskLevel === 'high')) {
        return { decision: Decision.NEEDS_APPROVAL, reason: `calling "${request.resource}" needs approval by ${governance.approver || 'an approver'}`, rule: 'human-oversight' };
      }
      return allow('tool-granted');
    }
    case 'data.read':
    case 'data.write':
      return governance.dataCategories.includes(request.resource)
        ? allow('data-category-granted')
        : deny('data-category-not-granted', `data category "${request.resource}" is not granted to job ${request.ref?.jobId ?? '?'}`);
    case 'model.use':
      return allow('model-use');
    default:
      return deny('unknown-action', `unknown action "${request.action}"`);
  }
}

function allow(rule: string): Verdict {
  return { decision: Decision.ALLOW, reason: '', rule };
}

function deny(rule: string, reason: string): Verdict {
  return { decision: Decision.DENY, reason, rule };
}

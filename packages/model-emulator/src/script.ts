import type { ScriptedResponse, ScriptRule } from './schemas.js';

/** What a rule is matched against. */
export interface ScriptMatchInput {
  model: string;
  user: string | undefined;
  lastUserText: string;
}

interface ActiveRule {
  id: string;
  rule: ScriptRule;
  served: number;
  limit: number;
}

/** Ordered scripted rules: the first active rule that matches answers, and is dropped once used up. */
export interface ScriptBook {
  add(rule: ScriptRule): string;
  /** Takes the next response for a request, consuming it; undefined means "use default behaviour". */
  take(input: ScriptMatchInput): ScriptedResponse | undefined;
  clear(): void;
  /** Rules still active. */
  size(): number;
}

export function createScriptBook(): ScriptBook {
  let rules: ActiveRule[] = [];
  let nextId = 1;

  const matches = (rule: ScriptRule, input: ScriptMatchInput): boolean =>
    (rule.model === undefined || rule.model === input.model) &&
    (rule.user === undefined || rule.user === input.user) &&
    (rule.contains === undefined || input.lastUserText.includes(rule.contains));

  return {
    add(rule) {
      if (rule.responses.length === 0) throw new Error('A script rule needs at least one response.');
      const id = `rule-${nextId++}`;
      const limit = rule.times === 'forever' ? Infinity : (rule.times ?? rule.responses.length);
      // Copy so later changes by the caller do not alter a rule already in play.
      rules.push({ id, rule: { ...rule, responses: [...rule.responses] }, served: 0, limit });
      return id;
    },
    take(input) {
      const active = rules.find((r) => matches(r.rule, input));
      if (!active) return undefined;
      const response = active.rule.responses[active.served % active.rule.responses.length];
      active.served++;
      if (active.served >= active.limit) rules = rules.filter((r) => r !== active);
      return response;
    },
    clear() {
      rules = [];
    },
    size() {
      return rules.length;
    },
  };
}

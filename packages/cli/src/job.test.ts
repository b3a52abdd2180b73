import { describe, expect, it } from 'vitest';
import { agentInputFor, parseJobDocuments } from './job.js';

const good = `apiVersion: kernos.dev/v1
kind: Job
metadata:
  name: triage
  tenant: acme
spec:
  goal: Triage the inbox
  priority: 5
  model: { endpoint: default, maxTurns: 3 }
  tools: [echo]
  data: { subject: inbox, writes: internal }
  governance: { riskLevel: limited, dataCategories: [internal], humanOversight: on_risk, approver: lead@example.com }
`;

describe('job documents', () => {
  it('parses a valid job and maps it to the agent input', () => {
    const [job] = parseJobDocuments(good, 'job.yaml');
    expect(agentInputFor(job!)).toEqual({
      tenant: 'acme',
      jobId: 'triage',
      agentId: 'triage',
      goal: 'Triage the inbox',
      endpoint: 'default',
      priority: 5,
      tools: ['echo'],
      governance: { riskLevel: 'limited', dataCategories: ['internal'], humanOversight: 'on_risk', approver: 'lead@example.com' },
      subject: 'inbox',
      dataCategory: 'internal',
      maxTurns: 3,
    });
  });

  it('names every bad field, with its document', () => {
    // Cross-field rules run once the fields themselves are valid, so they get their own document here.
    const bad = [good.replace('riskLevel: limited', 'riskLevel: extreme'), good.replace('writes: internal', 'writes: health'), 'kind: Job\n'].join('---\n');
    let message = '';
    try {
      parseJobDocuments(bad, 'job.yaml');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('job.yaml document 1: spec.governance.riskLevel');
    expect(message).toContain('job.yaml document 2: spec.data.writes: "health" is not in spec.governance.dataCategories');
    expect(message).toContain('job.yaml document 3: apiVersion');
  });

  it('rejects unknown fields instead of ignoring them', () => {
    expect(() => parseJobDocuments(good.replace('priority: 5', 'priority: 5\n  prio: 7'), 'j.yaml')).toThrow(/spec: Unrecognized key.*prio/);
  });

  it('reports YAML syntax errors', () => {
    expect(() => parseJobDocuments('kind: [Job', 'j.yaml')).toThrow(/j.yaml: YAML/);
  });
});

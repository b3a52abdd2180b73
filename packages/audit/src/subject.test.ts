import { describe, expect, it } from 'vitest';
import { filterSubject, runSubject, subjectToken } from './subject.js';

describe('subject tokens', () => {
  it('keeps safe ids and escapes everything a subject token cannot hold', () => {
    expect(subjectToken('run-1_A')).toBe('run-1_A');
    expect(subjectToken('a.b c*>')).toBe('a~2eb~20c~2a~3e');
    expect(subjectToken('')).toBe('~');
    expect(subjectToken('~')).toBe('~7e');
    expect(subjectToken('é')).toBe('~c3~a9');
  });

  it('builds run subjects and wildcard filters', () => {
    expect(runSubject({ tenant: 't', jobId: 'j.1', runId: 'r' })).toBe('kernos.audit.t.j~2e1.r');
    expect(filterSubject({ runId: 'r' })).toBe('kernos.audit.*.*.r');
    expect(filterSubject({ tenant: 't', jobId: 'j' }, 'x.y')).toBe('x.y.t.j.*');
  });
});

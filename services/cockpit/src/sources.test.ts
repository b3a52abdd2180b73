import { describe, expect, it } from 'vitest';
import type { CockpitUser } from './config.js';
import { visibleAudit } from './sources.js';

const user = (role: CockpitUser['role'], dataCategories: string[]): CockpitUser => ({ name: role, identity: `${role}@example.com`, role, token: 'x'.repeat(16), dataCategories });
const record = (id: string, dataCategories: string[]) => ({ id, dataCategories, detail: `{"secret":"${id}"}` });

describe('visibleAudit', () => {
  const records = [record('public', ['public']), record('internal', ['internal']), record('both', ['public', 'internal']), record('none', [])];

  it('shows only records whose every data category the user may see', () => {
    expect(visibleAudit(user('operator', ['public']), records).map((r) => r.id)).toEqual(['public', 'none']);
    expect(visibleAudit(user('operator', ['public', 'internal']), records).map((r) => r.id)).toEqual(['public', 'internal', 'both', 'none']);
  });

  it('keeps the detail for an operator and drops it for a viewer, without changing the records given', () => {
    expect(visibleAudit(user('operator', ['public']), records)[0]!.detail).toBe('{"secret":"public"}');
    expect(visibleAudit(user('viewer', ['public']), records).map((r) => r.detail)).toEqual(['', '']);
    expect(records[0]!.detail).toBe('{"secret":"public"}');
  });
});

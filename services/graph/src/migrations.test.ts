import { describe, expect, it } from 'vitest';
import { migrations } from './migrations.js';

describe('migrations', () => {
  it('are in order with unique ids, and every statement is idempotent', () => {
    const ids = migrations.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const statement of migrations.flatMap((m) => m.statements)) expect(statement).toMatch(/ IF NOT EXISTS /);
  });

  it('make the ids of entities, facts and episodes unique', () => {
    const statements = migrations.flatMap((m) => m.statements).join('\n');
    for (const label of ['Entity', 'Fact', 'Episode']) expect(statements).toMatch(new RegExp(`FOR \\(\\w+:${label}\\) REQUIRE \\w+\\.id IS UNIQUE`));
  });
});

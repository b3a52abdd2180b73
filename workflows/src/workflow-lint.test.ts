import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const eslint = new ESLint({ cwd: root });
const lintWorkflow = async (code: string) => {
  const [result] = await eslint.lintText(code, { filePath: `${root}workflows/src/workflows/probe.ts` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
};

describe('workflow lint', () => {
  it('rejects Node modules and I/O clients in workflow code', async () => {
    expect(await lintWorkflow(`import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n`)).toHaveLength(1);
    expect(await lintWorkflow(`import { connect } from '@nats-io/transport-node';\nexport const x = connect;\n`)).toHaveLength(1);
    expect(await lintWorkflow(`import crypto from 'crypto';\nexport const x = crypto;\n`)).toHaveLength(1);
  });

  it('allows activities as types only', async () => {
    expect(await lintWorkflow(`import type { KernosActivities } from '../activities/index.js';\nexport type X = KernosActivities;\n`)).toHaveLength(0);
    expect(await lintWorkflow(`import { createActivities } from '../activities/index.js';\nexport const x = createActivities;\n`)).toHaveLength(1);
  });

  it('leaves the real workflow code clean', async () => {
    const results = await eslint.lintFiles([`${root}workflows/src/workflows`]);
    expect(results.flatMap((r) => r.messages)).toEqual([]);
  });
});

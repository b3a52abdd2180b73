import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The SDK runs inside workflows, so the determinism rule of workflows/src/workflows covers its implementation
// (workflows/src/sdk, re-exported by this package) too.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: root });

describe('sdk workflow lint', () => {
  it('rejects Node modules and I/O clients in the SDK’s workflow code', async () => {
    const [result] = await eslint.lintText(`import { readFileSync } from 'node:fs';\nimport { connect } from '@nats-io/transport-node';\nexport const x = [readFileSync, connect];\n`, {
      filePath: `${root}workflows/src/sdk/probe.ts`,
    });
    expect(result?.messages.filter((m) => m.ruleId === 'no-restricted-imports')).toHaveLength(2);
  });

  it('leaves the SDK clean', async () => {
    const results = await eslint.lintFiles([`${root}packages/sdk/src`, `${root}workflows/src/sdk`]);
    expect(results.flatMap((r) => r.messages)).toEqual([]);
  });
});

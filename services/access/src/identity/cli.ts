// Writes the NATS identity config: `npx tsx services/access/src/identity/cli.ts nats-conf [--out FILE] [--dev]`
// (a nats-server include file; --dev fills fixed dev passwords instead of $VARIABLE references) or `helm` (values
// for the NATS chart). Exit 2 on bad usage.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { natsAuthorization, natsChartValues } from './nats-config.js';
import { devPasswords } from './dev.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' }, dev: { type: 'boolean' }, secret: { type: 'string' } } });
const command = positionals[0];
let text: string;
if (command === 'nats-conf') text = natsAuthorization(values.dev ? { passwords: devPasswords } : {});
else if (command === 'helm') text = natsChartValues(values.secret);
else {
  process.stderr.write('usage: cli.ts nats-conf [--dev] [--out FILE] | helm [--secret NAME] [--out FILE]\n');
  process.exit(2);
}
if (values.out) writeFileSync(values.out, text);
else process.stdout.write(text);

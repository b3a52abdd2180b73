// `kernos`: the operator CLI. The only file here that touches argv, the environment, stdout and the exit code.
import { runCli } from './cli.js';

// `kernos ps | head -1` closes our stdout early; that is no crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
process.exitCode = code;

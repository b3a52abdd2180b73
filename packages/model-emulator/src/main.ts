import { loadConfig } from './config.js';
import { createEmulator } from './emulator.js';

/** Time in-flight requests get to finish on SIGTERM/SIGINT before their connections are cut. */
const SHUTDOWN_GRACE_MS = 5_000;

const config = loadConfig(process.env);
const emulator = createEmulator(config);
const { url } = await emulator.start();
console.log(
  `kernos model emulator ready on ${url}/v1 (models: ${config.models.join(', ')}; ` +
    `${config.maxConcurrent} concurrent, ${config.tokensPerSecond || 'unlimited'} tok/s, seed ${config.seed})`,
);

let stopping = false;
const shutdown = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  console.log(`kernos model emulator: ${signal}, stopping`);
  emulator
    .stop({ graceMs: SHUTDOWN_GRACE_MS })
    .then(() => {
      console.log('kernos model emulator: stopped');
      process.exit(0);
    })
    .catch((error: unknown) => {
      console.error('kernos model emulator: unclean stop', error);
      process.exit(1);
    });
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

import { ConfigError, loadConfig, loadDotEnv } from '../../libs/config/index.js';
import { startWorker } from './bootstrap.js';

try {
  loadDotEnv();
  await startWorker(loadConfig());
} catch (e) {
  process.stderr.write(`worker: ${e instanceof ConfigError ? e.message : ((e as Error).stack ?? String(e))}\n`);
  process.exit(1);
}

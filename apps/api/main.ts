import { ConfigError, loadConfig, loadDotEnv } from '../../libs/config/index.js';
import { startApi } from './bootstrap.js';

try {
  loadDotEnv();
  await startApi(loadConfig());
} catch (e) {
  process.stderr.write(`api: ${e instanceof ConfigError ? e.message : ((e as Error).stack ?? String(e))}\n`);
  process.exit(1);
}

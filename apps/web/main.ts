import { ConfigError, loadDotEnv, loadWebConfig } from '../../libs/config/index.js';
import { startWeb } from './bootstrap.js';

try {
  loadDotEnv();
  await startWeb(loadWebConfig());
} catch (e) {
  process.stderr.write(`web: ${e instanceof ConfigError ? e.message : ((e as Error).stack ?? String(e))}\n`);
  process.exit(1);
}

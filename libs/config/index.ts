export { apiDocsEnabled, loadConfig, loadCliConfig, loadDotEnv, ConfigError, CONFIG_VARIABLES, configSchema, isPublishedSecret, type AppConfig, parseRateLimit, type CliConfig } from './app-config.js';
export { ConfigModule, APP_CONFIG } from './config.module.js';
export { loadWebConfig, webConfigSchema, type WebConfig } from './web-config.js';

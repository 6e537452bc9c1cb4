import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError, loadWebConfig, webConfigSchema } from '../../libs/config/index.js';

const SECRET = 'x'.repeat(40);

describe('web application settings', () => {
  it('needs only a session secret and Redis; the API and the web port have local defaults', () => {
    const c = loadWebConfig({ WEB_SESSION_SECRET: SECRET, REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(c.WEB_PORT).toBe(3001);
    expect(c.WEB_API_URL).toBe('http://127.0.0.1:3000');
  });

  it('names each bad setting', () => {
    expect(() => loadWebConfig({ REDIS_URL: 'redis://r', WEB_SESSION_SECRET: 'short', WEB_PORT: '99999' })).toThrow(ConfigError);
    try {
      loadWebConfig({ REDIS_URL: 'redis://r', WEB_SESSION_SECRET: 'short', WEB_PORT: '99999' });
    } catch (e) {
      expect((e as ConfigError).problems.map((p) => p.variable).sort()).toEqual(['WEB_PORT', 'WEB_SESSION_SECRET']);
    }
  });

  it('refuses plain HTTP in production, where the session cookie is Secure', () => {
    expect(() => loadWebConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://r', WEB_SESSION_SECRET: SECRET, WEB_PUBLIC_URL: 'http://evidence.example' })).toThrow(/WEB_PUBLIC_URL must be https/);
  });

  it('accepts the environment docker/compose.yaml gives the web service, and nothing it does not know', () => {
    const compose = parse(readFileSync('docker/compose.yaml', 'utf8'), { merge: true }) as { services: Record<string, { environment: Record<string, string> }> };
    const operator: Record<string, string> = { WEB_PUBLIC_URL: 'https://evidence.example', WEB_SESSION_SECRET: SECRET };
    const resolve = (env: Record<string, string>) =>
      Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{([A-Z_]+):-([^}]*)\}/g, (_, name: string, d: string) => operator[name] ?? d)]));
    const env = resolve(compose.services.web.environment);
    expect(Object.keys(env).filter((k) => !(k in webConfigSchema.shape))).toEqual([]);
    expect(loadWebConfig(env).WEB_API_URL).toBe('http://api:3000');
    // Without the operator's values the web service alone stops, naming them.
    operator.WEB_PUBLIC_URL = '';
    operator.WEB_SESSION_SECRET = '';
    expect(() => loadWebConfig(resolve(compose.services.web.environment))).toThrow(/WEB_PUBLIC_URL must be https in production.*|WEB_SESSION_SECRET is required/);
  });
});

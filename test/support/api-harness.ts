import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { createApi } from '../../apps/api/bootstrap.js';
import type { AppConfig } from '../../libs/config/index.js';
import { createDataSource, runMigrations } from '../../libs/database/index.js';
import { UsersService, type Role } from '../../libs/identity/index.js';
import { ownerUrlFor, testConfig } from './test-env.js';

export interface TestUser {
  id: string;
  username: string;
  password: string;
  role: Role;
  token: string;
}

/**
 * A running API on a random port against the real services, with helpers to act as users. `ds`
 * connects as the API does (the login role in dems_app); `owner` as the schema owner, for the
 * migrations and for tests that must do what the service cannot (tampering behind its back).
 */
export class ApiHarness {
  app!: INestApplication;
  base!: string;
  ds!: DataSource;
  owner!: DataSource;
  config!: AppConfig;
  private readonly suffix = randomBytes(3).toString('hex');

  /** `port` 0 picks a free one; a test that must know its URL before start (OIDC redirect) passes one. */
  async start(overrides: Partial<AppConfig> = {}, port = 0): Promise<this> {
    this.config = testConfig(overrides);
    this.owner = createDataSource({ DATABASE_URL: overrides.DATABASE_OWNER_URL ?? ownerUrlFor(this.config.DATABASE_URL), DATABASE_POOL_SIZE: 2 });
    await this.owner.initialize();
    await runMigrations(this.owner);
    this.ds = createDataSource(this.config);
    await this.ds.initialize();
    this.app = await createApi(this.config, { shutdownHooks: false });
    await this.app.listen(port, '127.0.0.1');
    this.base = `http://127.0.0.1:${(this.app.getHttpServer().address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await this.app?.close();
    await this.ds?.destroy();
    await this.owner?.destroy();
  }

  /** Creates a user directly (as an administrator would) and signs in over HTTP. */
  async user(name: string, role: Role): Promise<TestUser> {
    const username = `${name}-${this.suffix}`.toLowerCase();
    const password = `pw-${randomBytes(9).toString('base64url')}`;
    const users = new UsersService(this.ds);
    const created = await users.create({ username, displayName: name, role, password });
    const res = await this.call('POST', '/api/v1/auth/login', { body: { username, password } });
    if (res.status !== 200) throw new Error(`login of ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { id: created.id, username, password, role, token: (res.body as { accessToken: string }).accessToken };
  }

  async call(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; body: Record<string, unknown> & { code?: string }; text: string; headers: Headers }> {
    const res = await fetch(this.base + path, {
      method,
      headers: {
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...opts.headers,
      },
      body: opts.rawBody ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined),
    });
    const text = await res.text();
    let body: Record<string, unknown>;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = {};
    }
    return { status: res.status, body, text, headers: res.headers };
  }
}

export const JUSTIFY = { 'x-justification-code': 'investigation', 'x-justification-text': 'reviewing footage for the file' };

let urnCounter = Number(randomBytes(2).readUInt16BE(0)) * 10;
/** A fresh, valid URN for each call (force 01, station TT, 5-digit serial, year 26). */
export function freshUrn(): string {
  urnCounter = (urnCounter + 1) % 100000;
  return `01/TT/${String(urnCounter).padStart(5, '0')}/${String(Math.floor(Math.random() * 90) + 10)}`;
}

import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { UsersService, type User } from './users.service.js';

export interface DemoAdminResult {
  user: User;
  created: boolean;
  /** Set only when this call generated the password: it is shown once and never stored. */
  generatedPassword?: string;
}

/** First-run tasks outside the HTTP API (used by `dems admin create-admin`). */
export class IdentityService {
  private readonly users: UsersService;

  constructor(ds: DataSource) {
    this.users = new UsersService(ds);
  }

  /** Creates the administrator account if it does not exist yet; never changes an existing one. */
  async ensureAdmin(username: string, password?: string): Promise<DemoAdminResult> {
    const existing = await this.users.findByUsername(username);
    if (existing) return { user: existing, created: false };
    const generated = password ? undefined : randomBytes(18).toString('base64url');
    const user = await this.users.create({ username, displayName: 'Demo administrator', role: 'administrator', password: password ?? generated! });
    return { user, created: true, generatedPassword: generated };
  }
}

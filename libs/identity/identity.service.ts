import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { PasswordHasher } from './password-hasher.js';
import { UsersRepository, type User } from './users.repository.js';

export interface DemoAdminResult {
  user: User;
  created: boolean;
  /** Set only when this call generated the password: it is shown once and never stored. */
  generatedPassword?: string;
}

export class IdentityService {
  private readonly users: UsersRepository;

  constructor(ds: DataSource, private readonly hasher = new PasswordHasher()) {
    this.users = new UsersRepository(ds);
  }

  /** Creates the administrator account if it does not exist yet; never changes an existing one. */
  async ensureAdmin(username: string, password?: string): Promise<DemoAdminResult> {
    const existing = await this.users.findByUsername(username);
    if (existing) {
      const { passwordHash: _omit, ...user } = existing;
      return { user, created: false };
    }
    const generated = password ? undefined : randomBytes(18).toString('base64url');
    const user = await this.users.create({
      username,
      displayName: 'Demo administrator',
      role: 'administrator',
      passwordHash: await this.hasher.hash(password ?? generated!),
    });
    return { user, created: true, generatedPassword: generated };
  }

  async verifyPassword(username: string, password: string): Promise<User | undefined> {
    const u = await this.users.findByUsername(username);
    if (!u?.passwordHash || !u.isActive) return undefined;
    if (!(await this.hasher.verify(u.passwordHash, password))) return undefined;
    const { passwordHash: _omit, ...user } = u;
    return user;
  }
}

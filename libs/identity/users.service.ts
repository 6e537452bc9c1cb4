import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError, isUuid } from '../core/index.js';
import { one, rows } from '../database/sql.js';
import { PasswordHasher } from './password-hasher.js';
import { assertPasswordAcceptable } from './password-policy.js';
import type { Role } from './roles.js';

export interface User {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  isActive: boolean;
  /** Set while failed sign-ins keep the account locked. */
  lockedUntil: Date | null;
  createdAt: Date;
}

export interface NewUser {
  username: string;
  displayName: string;
  role: Role;
  password: string;
}

const COLUMNS = `id, username, display_name AS "displayName", role, is_active AS "isActive",
  CASE WHEN locked_until > now() THEN locked_until END AS "lockedUntil", created_at AS "createdAt"`;

/** Accounts, managed by administrators. */
@Injectable()
export class UsersService {
  private readonly hasher = new PasswordHasher();

  constructor(@Inject(DataSource) private readonly ds: DataSource) {}

  async create(input: NewUser): Promise<User> {
    assertPasswordAcceptable(input.password, input.username);
    const hash = await this.hasher.hash(input.password);
    try {
      return (await one<User>(
        this.ds,
        `INSERT INTO users (username, display_name, role, password_hash) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
        [input.username, input.displayName, input.role, hash],
      ))!;
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw new AppError('USERNAME_TAKEN', `The username "${input.username}" is already taken`, 409);
      throw e;
    }
  }

  findByUsername(username: string): Promise<User | undefined> {
    return one<User>(this.ds, `SELECT ${COLUMNS} FROM users WHERE username = $1`, [username]);
  }

  list(): Promise<User[]> {
    return rows<User>(this.ds, `SELECT ${COLUMNS} FROM users ORDER BY username`);
  }

  async get(id: string): Promise<User> {
    const user = isUuid(id) ? await one<User>(this.ds, `SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]) : undefined;
    if (!user) throw new AppError('USER_NOT_FOUND', 'No such user', 404);
    return user;
  }
}

import type { DataSource, Repository } from 'typeorm';
import { UserEntity, type Role } from './user.entity.js';

export interface User {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  isActive: boolean;
  createdAt: Date;
}

/** TypeORM stays behind this class; callers get plain User objects. */
export class UsersRepository {
  private readonly repo: Repository<UserEntity>;

  constructor(ds: DataSource) {
    this.repo = ds.getRepository(UserEntity);
  }

  async findByUsername(username: string): Promise<(User & { passwordHash: string | null }) | undefined> {
    const row = await this.repo.findOne({ where: { username } });
    return row ? { ...toUser(row), passwordHash: row.passwordHash } : undefined;
  }

  async create(input: { username: string; displayName: string; role: Role; passwordHash: string | null }): Promise<User> {
    const row = await this.repo.save(this.repo.create({ ...input, isActive: true }));
    return toUser(row);
  }
}

function toUser(row: UserEntity): User {
  return {
    id: row.id,
    username: row.username,
    displayName: row.displayName,
    role: row.role,
    isActive: row.isActive,
    createdAt: row.createdAt,
  };
}

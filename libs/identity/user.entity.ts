import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Role } from './roles.js';

export { ROLES, type Role } from './roles.js';

@Entity({ name: 'users' })
export class UserEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'text' }) username!: string;
  @Column({ type: 'text', name: 'display_name' }) displayName!: string;
  @Column({ type: 'text', name: 'password_hash', nullable: true }) passwordHash!: string | null;
  @Column({ type: 'text' }) role!: Role;
  @Column({ type: 'boolean', name: 'is_active' }) isActive!: boolean;
  /** The identity provider account this user signs in with (OpenID Connect `iss` and `sub`), if linked. */
  @Column({ type: 'text', name: 'oidc_issuer', nullable: true }) oidcIssuer!: string | null;
  @Column({ type: 'text', name: 'oidc_subject', nullable: true }) oidcSubject!: string | null;
  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' }) updatedAt!: Date;
}

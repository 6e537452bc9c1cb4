import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Sign-in with a force's identity provider (OpenID Connect): a user can be linked to one provider
 * account, identified by the provider's issuer and its subject (`sub`, unique per issuer).
 */
export class OidcUserLinks1763900200000 implements MigrationInterface {
  name = 'OidcUserLinks1763900200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE users
        ADD COLUMN oidc_issuer text,
        ADD COLUMN oidc_subject text,
        ADD CONSTRAINT users_oidc_link_complete CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL))`);
    await q.query(`CREATE UNIQUE INDEX users_oidc_identity ON users (oidc_issuer, oidc_subject) WHERE oidc_subject IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX users_oidc_identity`);
    await q.query(`ALTER TABLE users DROP CONSTRAINT users_oidc_link_complete, DROP COLUMN oidc_issuer, DROP COLUMN oidc_subject`);
  }
}

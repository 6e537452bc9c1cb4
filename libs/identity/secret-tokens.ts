import { createHash, randomBytes } from 'node:crypto';

/**
 * Opaque bearer secrets (refresh tokens, personal API tokens). Only their SHA-256 is stored; the
 * prefix tells a leaked token's kind at a glance (and lets secret scanners find it).
 */
export const REFRESH_PREFIX = 'dems_rt_';
export const API_TOKEN_PREFIX = 'dems_pat_';

export function newSecret(prefix: string): { token: string; hash: string; display: string } {
  const token = prefix + randomBytes(32).toString('base64url');
  return { token, hash: hashSecret(token), display: token.slice(0, prefix.length + 6) };
}

export function hashSecret(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

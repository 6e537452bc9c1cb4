import { z } from 'zod';
import { parseVerifierKey } from '../ledger/checkpoint.js';
import { configSchema, parseSettings } from './app-config.js';

/**
 * What `dems verify ledger` reads: where the database and object storage are, and optionally the
 * ledger's public verifier key. Deliberately not the service's configuration: an auditor runs it
 * with read access and the public key, never with LEDGER_SIGNING_KEY or the service's other
 * secrets. The settings it shares with the service follow the service's own rules.
 */
const service = configSchema.shape;

function isVerifierKey(v: string): boolean {
  try {
    parseVerifierKey(v.trim());
    return true;
  } catch {
    return false;
  }
}

export const verifierConfigSchema = z.object({
  DATABASE_URL: service.DATABASE_URL,
  DATABASE_POOL_SIZE: service.DATABASE_POOL_SIZE,
  S3_ENDPOINT: service.S3_ENDPOINT,
  S3_REGION: service.S3_REGION,
  S3_ACCESS_KEY_ID: service.S3_ACCESS_KEY_ID,
  S3_SECRET_ACCESS_KEY: service.S3_SECRET_ACCESS_KEY,
  S3_FORCE_PATH_STYLE: service.S3_FORCE_PATH_STYLE,
  S3_BUCKET_ORIGINALS: service.S3_BUCKET_ORIGINALS,
  S3_BUCKET_WORKING: service.S3_BUCKET_WORKING,
  S3_PART_SIZE_MB: service.S3_PART_SIZE_MB,
  S3_UPLOAD_CONCURRENCY: service.S3_UPLOAD_CONCURRENCY,
  S3_PRESIGN_TTL_SECONDS: service.S3_PRESIGN_TTL_SECONDS,
  // The public key as GET /api/v1/ledger/public-key gives it (verifierKey), from a source the auditor trusts.
  DEMS_LEDGER_PUBLIC_KEY: z
    .string()
    .refine(isVerifierKey, { message: 'must be a signed-note verifier key (<name>+<id>+<key>), as GET /api/v1/ledger/public-key gives it' })
    .transform((v) => v.trim())
    .optional(),
});
export type VerifierConfig = z.infer<typeof verifierConfigSchema>;

/** Reads and checks the verifier's settings. Throws ConfigError naming each bad variable. */
// eslint-disable-next-line no-restricted-properties -- libs/config is where settings are read; this is the verifier's reader, next to the service's
export function loadVerifierConfig(env: Record<string, string | undefined> = process.env): VerifierConfig {
  return parseSettings(verifierConfigSchema, env);
}

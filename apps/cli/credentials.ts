import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CliConfig } from '../../libs/config/index.js';
import { ApiError } from './errors.js';

/** What `dems login` keeps between runs. The token is a personal API token (`dems_pat_…`). */
export interface SavedCredentials {
  apiUrl: string;
  token: string;
  /** Id of the token on the server, so `dems logout` can revoke it. */
  tokenId?: string;
  username: string;
  expiresAt?: string | null;
  savedAt?: string;
}

export function configDir(config: Pick<CliConfig, 'DEMS_CONFIG_DIR'>): string {
  return config.DEMS_CONFIG_DIR || join(homedir(), '.config', 'dems');
}

export function credentialsPath(config: Pick<CliConfig, 'DEMS_CONFIG_DIR'>): string {
  return join(configDir(config), 'credentials.json');
}

/** The saved credentials, or undefined when nobody has signed in (no file). */
export function readCredentials(config: Pick<CliConfig, 'DEMS_CONFIG_DIR'>): SavedCredentials | undefined {
  const file = credentialsPath(config);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ApiError(0, 'CREDENTIALS_UNREADABLE', `Cannot read ${file} (${(e as Error).message})`);
  }
  try {
    const c = JSON.parse(text) as Partial<SavedCredentials>;
    if (typeof c.apiUrl === 'string' && typeof c.token === 'string' && typeof c.username === 'string') return c as SavedCredentials;
  } catch {
    // fall through: same answer as a file with the wrong shape
  }
  throw new ApiError(0, 'CREDENTIALS_UNREADABLE', `${file} is not a dems credentials file; delete it and run dems login`);
}

/**
 * Writes the file owner-only. It goes to a temporary file created 0600 and is then renamed over
 * the old one, so the token is never readable by others, not even for a moment, and an existing
 * file with looser permissions is replaced rather than rewritten in place.
 */
export function saveCredentials(config: Pick<CliConfig, 'DEMS_CONFIG_DIR'>, credentials: SavedCredentials): string {
  const dir = configDir(config);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = credentialsPath(config);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    // The mode given at creation is narrowed by the umask only, but be explicit.
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new ApiError(0, 'CREDENTIALS_UNWRITABLE', `Cannot save credentials to ${file} (${(e as Error).message})`);
  }
  return file;
}

/** Removes the file; false when there was none. */
export function deleteCredentials(config: Pick<CliConfig, 'DEMS_CONFIG_DIR'>): boolean {
  const file = credentialsPath(config);
  try {
    rmSync(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new ApiError(0, 'CREDENTIALS_UNWRITABLE', `Cannot delete ${file} (${(e as Error).message})`);
  }
}

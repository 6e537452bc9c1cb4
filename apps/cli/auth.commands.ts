import type { Command } from 'commander';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { loadCliConfig } from '../../libs/config/index.js';
import { ApiClient, DEFAULT_API_URL, envApiUrl, normaliseApiUrl } from './api-client.js';
import { credentialsPath, deleteCredentials, readCredentials, saveCredentials, type SavedCredentials } from './credentials.js';
import { ApiError } from './errors.js';
import { say } from './output.js';

/** Lifetime of the token `dems login` creates: long enough not to nag, short enough to lapse if forgotten. */
const TOKEN_DAYS = 90;

interface TokenPair {
  accessToken: string;
  refreshToken: string;
}
interface CreatedApiToken {
  id: string;
  token: string;
  name: string;
  prefix: string;
  expiresAt: string | null;
}
interface Me {
  id: string;
  username: string;
  displayName: string;
  role: string;
}

export function registerAuthCommands(program: Command): void {
  program
    .command('login')
    .description(`sign in and save a personal API token (valid ${TOKEN_DAYS} days) for later commands`)
    .option('--username <name>', 'account name (asked for when not given)')
    .option('--password-stdin', 'read the password from standard input instead of asking (for scripts)')
    .option('--api-url <url>', `API to sign in to (default DEMS_API_URL, else the server of the saved sign-in, else ${DEFAULT_API_URL})`)
    .action(async (opts: { username?: string; passwordStdin?: boolean; apiUrl?: string }) => {
      const config = loadCliConfig();
      let previous: SavedCredentials | undefined;
      try {
        previous = readCredentials(config);
      } catch {
        // A damaged file is exactly what a new sign-in replaces.
      }
      const apiUrl = opts.apiUrl ? checkApiUrl(opts.apiUrl) : (envApiUrl(config) ?? normaliseApiUrl(previous?.apiUrl ?? DEFAULT_API_URL));

      const interactive = Boolean(process.stdin.isTTY) && !opts.passwordStdin;
      let username = opts.username?.trim();
      if (!username) {
        if (!interactive) throw new ApiError(0, 'USERNAME_REQUIRED', 'Give --username (it cannot be asked for without a terminal)');
        username = await prompt('Username: ');
      }
      let password: string;
      if (opts.passwordStdin) password = await readStdin();
      else if (interactive) password = await promptHidden('Password: ');
      else throw new ApiError(0, 'PASSWORD_REQUIRED', 'No terminal to ask for the password: pipe it in with --password-stdin');
      if (!username || !password) throw new ApiError(0, username ? 'PASSWORD_REQUIRED' : 'USERNAME_REQUIRED', 'Username and password must not be empty');

      const anonymous = ApiClient.for(apiUrl);
      const pair = (await anonymous.post<TokenPair>('/api/v1/auth/login', { username, password }, { auth: false, ok: [200] })).body;
      let me: Me;
      let created: CreatedApiToken;
      try {
        const signedIn = ApiClient.for(apiUrl, pair.accessToken);
        me = (await signedIn.get<Me>('/api/v1/me')).body;
        created = (await signedIn.post<CreatedApiToken>('/api/v1/me/tokens', { name: tokenName(), expiresInDays: TOKEN_DAYS }, { ok: [200, 201] })).body;
      } finally {
        // The CLI keeps only the API token; the session's refresh token would be an unused second
        // credential, so it is ended straight away (best effort: it lapses on its own anyway).
        await anonymous.post('/api/v1/auth/logout', { refreshToken: pair.refreshToken }, { auth: false, ok: [204] }).catch(() => undefined);
      }

      const file = saveCredentials(config, {
        apiUrl,
        token: created.token,
        tokenId: created.id,
        username: me.username,
        expiresAt: created.expiresAt,
        savedAt: new Date().toISOString(),
      });
      // The file held the only copy of the previous token; revoke it rather than leave it live.
      if (previous?.tokenId && previous.token !== created.token) {
        await ApiClient.for(normaliseApiUrl(previous.apiUrl), previous.token)
          .delete(`/api/v1/me/tokens/${encodeURIComponent(previous.tokenId)}`)
          .catch(() => undefined);
      }

      console.log(say`Signed in to ${apiUrl} as ${me.username} (${me.displayName}, ${me.role}).`);
      console.log(say`Personal API token ${created.prefix}… saved to ${file}` + (created.expiresAt ? say`; it expires ${created.expiresAt.slice(0, 10)}` : '') + '.');
      if (config.DEMS_TOKEN) process.stderr.write('dems: note: DEMS_TOKEN is set and is used instead of this sign-in until it is unset\n');
    });

  program
    .command('logout')
    .description('revoke the saved token and delete the saved credentials')
    .action(async () => {
      const config = loadCliConfig();
      const file = credentialsPath(config);
      let saved: SavedCredentials | undefined;
      try {
        saved = readCredentials(config);
      } catch {
        deleteCredentials(config);
        console.log(say`Removed the unreadable credentials file ${file}.`);
        return;
      }
      if (!saved) {
        console.log(say`Not signed in (no ${file}).`);
        return;
      }
      let revoked = false;
      if (saved.tokenId) {
        try {
          await ApiClient.for(normaliseApiUrl(saved.apiUrl), saved.token).delete(`/api/v1/me/tokens/${encodeURIComponent(saved.tokenId)}`);
          revoked = true;
        } catch (e) {
          // Signing out locally must still work when the server is away; say what is left behind.
          const why = e instanceof ApiError ? `${e.code}: ${e.message}` : (e as Error).message;
          process.stderr.write(say`dems: warning: could not revoke the token on ${saved.apiUrl} (${why}); it stays valid until it expires` + '\n');
        }
      }
      deleteCredentials(config);
      console.log(say`Signed out ${saved.username} from ${saved.apiUrl}` + (revoked ? '; the token was revoked.' : '.'));
    });
}

function checkApiUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol === 'http:' || u.protocol === 'https:') return normaliseApiUrl(u.toString());
  } catch {
    // answered below
  }
  throw new ApiError(0, 'INVALID_API_URL', `--api-url must be an http or https URL, not "${value}"`);
}

/** Names the token after the machine, so a user listing their tokens knows which one to revoke. */
function tokenName(): string {
  return `dems CLI on ${hostname() || 'unknown host'}`.slice(0, 100);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  // `echo secret | dems login` adds a newline that is not part of the password.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Prompts go to stderr so stdout carries only results. */
async function prompt(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/** Reads a line from the terminal in raw mode so the password is never echoed. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new ApiError(0, 'CANCELLED', 'Sign-in cancelled'));
        if (ch === '\u007f' || ch === '\b') value = Array.from(value).slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

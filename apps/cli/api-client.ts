import { loadCliConfig, type CliConfig } from '../../libs/config/index.js';
import { readCredentials, type SavedCredentials } from './credentials.js';
import type { ApiPath } from '../../libs/api-contract/index.js';
import { ApiError } from './errors.js';

export { ApiError } from './errors.js';

/**
 * The schema's default address. The config gives DEMS_API_URL already defaulted, so "the variable
 * was set" is told apart by comparing with the default: setting it to exactly the default while a
 * login to another server is saved therefore uses the saved server.
 */
export const DEFAULT_API_URL = loadCliConfig({}).DEMS_API_URL;

export function normaliseApiUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

/** DEMS_API_URL when it was set (see DEFAULT_API_URL), else undefined. */
export function envApiUrl(config: CliConfig): string | undefined {
  return config.DEMS_API_URL !== DEFAULT_API_URL ? normaliseApiUrl(config.DEMS_API_URL) : undefined;
}

/** Where the CLI talks to and with which token. */
export interface Session {
  apiUrl: string;
  token?: string;
  source: 'DEMS_TOKEN' | 'credentials' | 'explicit' | 'none';
  /** The saved login, when it was read (even if it is for another server). */
  saved?: SavedCredentials;
}

/**
 * Token: DEMS_TOKEN, else the one saved by `dems login`. Server: DEMS_API_URL, else the saved one,
 * else the default. A saved token is only ever sent to the server it was issued by, so pointing
 * DEMS_API_URL elsewhere cannot leak it.
 */
export function resolveSession(config: CliConfig = loadCliConfig()): Session {
  const envUrl = envApiUrl(config);
  // With both variables set the file is not needed, so a damaged one does not get in the way.
  const saved = envUrl && config.DEMS_TOKEN ? undefined : readCredentials(config);
  const apiUrl = envUrl ?? normaliseApiUrl(saved?.apiUrl ?? DEFAULT_API_URL);
  if (config.DEMS_TOKEN) return { apiUrl, token: config.DEMS_TOKEN, source: 'DEMS_TOKEN', saved };
  if (saved && normaliseApiUrl(saved.apiUrl) === apiUrl) return { apiUrl, token: saved.token, source: 'credentials', saved };
  return { apiUrl, source: 'none', saved };
}

export interface RequestOptions {
  /** Statuses that are answers rather than errors; default 200/201 (204 for DELETE). */
  ok?: number[];
  headers?: Record<string, string | undefined>;
  /** Added to the URL; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** false: send no token and do not require one (login, readiness). Default true. */
  auth?: boolean;
}

const RATE_LIMIT_MAX_WAIT_SECONDS = 60;
const RATE_LIMIT_RETRIES = 3;

/** Seconds to wait before asking again, when the API answered 429 with Retry-After (in seconds). */
export function rateLimitWait(res: Pick<Response, 'status' | 'headers'>): number | undefined {
  const header = res.headers.get('retry-after');
  if (res.status !== 429 || header === null || !/^\d+$/.test(header)) return undefined;
  return Number(header);
}

export type { ApiPath } from '../../libs/api-contract/index.js';

/** The CLI talks to the API like any other client. */
export class ApiClient {
  readonly apiUrl: string;

  constructor(readonly session: Session = resolveSession()) {
    this.apiUrl = normaliseApiUrl(session.apiUrl);
  }

  /** A client for a given server and token, bypassing environment and saved login (used by `dems login`). */
  static for(apiUrl: string, token?: string): ApiClient {
    return new ApiClient({ apiUrl, token, source: token ? 'explicit' : 'none' });
  }

  get<T>(path: ApiPath<'get'>, opts: RequestOptions = {}): Promise<{ status: number; body: T }> {
    return this.request<T>('GET', path, undefined, opts);
  }

  post<T>(path: ApiPath<'post'>, body: unknown, opts: RequestOptions = {}): Promise<{ status: number; body: T }> {
    return this.request<T>('POST', path, body, opts);
  }

  delete(path: ApiPath<'delete'>, opts: RequestOptions = {}): Promise<{ status: number }> {
    return this.request('DELETE', path, undefined, { ok: [200, 204], ...opts });
  }

  /** The bearer token, for requests made by other clients (tus uploads); NOT_SIGNED_IN when there is none. */
  token(): string {
    return this.requireToken();
  }

  private async request<T>(method: string, path: string, body: unknown, opts: RequestOptions = {}): Promise<{ status: number; body: T }> {
    const auth = opts.auth ?? true;
    const token = auth ? this.requireToken() : undefined;
    const url = new URL(this.apiUrl + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = v;

    let res: Response;
    for (let attempt = 1; ; attempt++) {
      try {
        res = await fetch(url, {
          method,
          headers,
          body: body !== undefined ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(15_000),
        });
      } catch (e) {
        throw new ApiError(0, 'API_UNREACHABLE', `Cannot reach the API at ${this.apiUrl} (${(e as Error).cause ?? (e as Error).message}); set DEMS_API_URL or run dems login --api-url`);
      }
      // Over a rate limit the API says when to come back: a short wait is waited out (a bulk
      // command then slows down instead of failing half-way); a long one is reported.
      const wait = rateLimitWait(res);
      if (wait === undefined || wait > RATE_LIMIT_MAX_WAIT_SECONDS || attempt > RATE_LIMIT_RETRIES) break;
      process.stderr.write(`dems: the API's rate limit was reached; waiting ${wait} s\n`);
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    }
    const answer = (await res.json().catch(() => ({}))) as T & { code?: string; message?: string };
    const ok = opts.ok ?? [200, 201];
    if (!ok.includes(res.status)) {
      let message = answer.message ?? res.statusText;
      // A refused token is the usual reason for a 401 here; say which one and what to do.
      if (res.status === 401 && token) {
        if (this.session.source === 'credentials') message += ' (the saved sign-in was refused; run dems login again)';
        else if (this.session.source === 'DEMS_TOKEN') message += ' (the token in DEMS_TOKEN was refused)';
      }
      throw new ApiError(res.status, answer.code ?? `HTTP_${res.status}`, message);
    }
    return { status: res.status, body: answer };
  }

  private requireToken(): string {
    if (this.session.token) return this.session.token;
    const saved = this.session.saved;
    if (saved && normaliseApiUrl(saved.apiUrl) !== this.apiUrl) {
      throw new ApiError(
        0,
        'NOT_SIGNED_IN',
        `Not signed in to ${this.apiUrl} (the saved sign-in is for ${saved.apiUrl}): run dems login --api-url ${this.apiUrl}, or set DEMS_TOKEN`,
      );
    }
    throw new ApiError(0, 'NOT_SIGNED_IN', `Not signed in to ${this.apiUrl}: run dems login (or set DEMS_TOKEN)`);
  }
}

import type { Request } from 'express';
import type { SessionData } from 'express-session';
import type { ApiPath } from '../../libs/api-contract/index.js';

/** An s.62 reason as the API takes it (X-Justification-Code / X-Justification-Text). */
export interface Justification {
  code: string;
  text: string;
}

/** An answer of the API that was not a success: its `{code, message}` as it gave them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface CallOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  justification?: Justification;
  /** Call without the session's token (sign-in, public ledger routes). */
  anonymous?: boolean;
  /** Call with this access token (just signed in, not yet in the session). */
  token?: string;
}

type Tokens = SessionData['auth'];

/**
 * The REST API as the signed-in person: every call carries their access token (kept in the
 * server-side session, never in the browser), so the API applies its own rules; the web layer
 * has none. An expired access token is refreshed once with the session's refresh token.
 */
export class ApiClient {
  constructor(
    private readonly base: string,
    private readonly req: Request,
  ) {}

  get<T>(path: ApiPath<'get'>, options: CallOptions = {}): Promise<T> {
    return this.call<T>('GET', path, options);
  }

  post<T>(path: ApiPath<'post'>, options: CallOptions = {}): Promise<T> {
    return this.call<T>('POST', path, options);
  }

  delete<T>(path: ApiPath<'delete'>, options: CallOptions = {}): Promise<T> {
    return this.call<T>('DELETE', path, options);
  }

  /** The API's answer, bytes untouched, for routes whose content the browser checks itself. */
  async raw(path: ApiPath<'get'>, query?: Record<string, string>): Promise<{ status: number; contentType: string; body: Buffer }> {
    const res = await this.send('GET', path, { query }, undefined);
    return { status: res.status, contentType: res.headers.get('content-type') ?? 'application/json', body: Buffer.from(await res.arrayBuffer()) };
  }

  /** A file the API makes (a CSV or JSON export), bytes untouched, as the signed-in person; a refusal throws its ApiError. */
  async file(path: ApiPath<'get'>, options: CallOptions = {}): Promise<{ contentType: string; body: Buffer }> {
    const res = await this.authorised('GET', path, options);
    if (!res.ok) return this.answer(res);
    return { contentType: res.headers.get('content-type') ?? 'application/octet-stream', body: Buffer.from(await res.arrayBuffer()) };
  }

  /**
   * A request passed on as it came (the tus upload relay): the session's token and the person's
   * address added, the body streamed with no time limit. A 401 refreshes the token once: a request
   * without a body is sent again; one whose body is already spent is answered 503, which tus
   * clients retry (asking the offset first), now with the fresh token.
   */
  async relay(method: string, path: string, headers: Record<string, string>, body: ReadableStream | undefined, signal: AbortSignal): Promise<Response> {
    const attempt = () => {
      const auth = this.req.session.auth;
      const all = { ...headers, ...(auth ? { authorization: `Bearer ${auth.accessToken}` } : {}), ...(this.req.ip ? { 'x-forwarded-for': this.req.ip } : {}) };
      return fetch(this.base + path, { method, headers: all, body, redirect: 'manual', signal, duplex: 'half' } as RequestInit);
    };
    const res = await attempt();
    const auth = this.req.session.auth;
    if (res.status !== 401 || !auth || !(await this.refresh(auth))) return res;
    return body ? new Response(null, { status: 503, headers: { 'retry-after': '1' } }) : attempt();
  }

  private async call<T>(method: string, path: string, options: CallOptions): Promise<T> {
    return this.answer<T>(await this.authorised(method, path, options));
  }

  private async authorised(method: string, path: string, options: CallOptions): Promise<Response> {
    const auth = options.anonymous ? undefined : this.req.session.auth;
    const res = await this.send(method, path, options, options.token ?? auth?.accessToken);
    if (res.status === 401 && auth && (await this.refresh(auth))) return this.send(method, path, options, this.req.session.auth?.accessToken);
    return res;
  }

  /** The API's JSON answer, or its `{code, message}` thrown as an ApiError. */
  private async answer<T>(res: Response): Promise<T> {
    const text = await res.text();
    const body = text ? parseJson(text) : undefined;
    if (res.ok) return body as T;
    const problem = (body ?? {}) as { code?: string; message?: string; details?: Record<string, unknown> };
    throw new ApiError(res.status, problem.code ?? `HTTP_${res.status}`, problem.message ?? `The evidence service answered ${res.status}`, problem.details);
  }

  private async send(method: string, path: string, options: CallOptions, token: string | undefined): Promise<Response> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.justification) {
      headers['x-justification-code'] = options.justification.code;
      headers['x-justification-text'] = options.justification.text;
    }
    const requestId = this.req.header('x-request-id');
    if (requestId) headers['x-request-id'] = requestId;
    // The person's address, for the API's s.62 records and per-address sign-in limits: it uses it
    // when it trusts the web server as a proxy (TRUST_PROXY), otherwise it sees the web server's.
    if (this.req.ip) headers['x-forwarded-for'] = this.req.ip;
    try {
      return await fetch(url, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), redirect: 'manual', signal: AbortSignal.timeout(30_000) });
    } catch {
      throw new ApiError(502, 'API_UNAVAILABLE', 'The evidence service is not answering. Try again in a few minutes.');
    }
  }

  /**
   * Rotates the session's tokens; false (and the session signed out) when the API refuses. One
   * rotation at a time per session in this process: the API treats a refresh token used twice as
   * stolen and ends every session of the user, and a page makes several calls at once.
   */
  private async refresh(auth: Tokens): Promise<boolean> {
    const key = this.req.sessionID;
    let rotation = rotations.get(key);
    if (!rotation) {
      rotation = this.rotate(auth.refreshToken).finally(() => rotations.delete(key));
      rotations.set(key, rotation);
    }
    const tokens = await rotation;
    if (!tokens) {
      delete this.req.session.auth;
      return false;
    }
    this.req.session.auth = { ...auth, ...tokens };
    return true;
  }

  private async rotate(refreshToken: string): Promise<{ accessToken: string; refreshToken: string } | undefined> {
    const res = await this.send('POST', '/api/v1/auth/refresh', { body: { refreshToken } }, undefined);
    if (!res.ok) return undefined;
    const { accessToken, refreshToken: next } = (await res.json()) as { accessToken: string; refreshToken: string };
    return { accessToken, refreshToken: next };
  }
}

/** Token rotations in flight, by session id. */
const rotations = new Map<string, Promise<{ accessToken: string; refreshToken: string } | undefined>>();

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

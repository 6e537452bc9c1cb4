import type { Role } from './roles.js';

/** Who is calling, as established by the auth guard from an access token or a personal API token. */
export interface Principal {
  userId: string;
  username: string;
  role: Role;
  via: 'access_token' | 'api_token';
  /** The interactive sign-in session (access tokens only); API tokens belong to none. */
  sessionId?: string;
}

/** Where a request came from, recorded with every s.62 entry. */
export interface RequestContext {
  clientAddress?: string;
  /** The service's id of the request (sent back in X-Request-Id). */
  requestId?: string;
  /** The caller's own X-Request-Id, if it sent a sane one. */
  clientRequestId?: string;
}

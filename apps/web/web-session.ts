import RedisStore from 'connect-redis';
import session from 'express-session';
import type { RequestHandler } from 'express';
import { Redis } from 'ioredis';
import type { WebConfig } from '../../libs/config/index.js';
import type { Justification } from './api-client.js';

/** What the web application keeps about a signed-in person: ids and tokens only, never case data. */
export interface SignedInUser {
  id: string;
  username: string;
  displayName: string;
  role: string;
}

declare module 'express-session' {
  interface SessionData {
    auth: { accessToken: string; refreshToken: string; user: SignedInUser };
    /** The s.62 reason given for each case this session consulted, sent to the API with every read of it. */
    reasons: Record<string, Justification>;
    /** Case-list paging: the cursor of the page before each page shown (the API's cursors only go forward). */
    previousCursor: Record<string, string>;
  }
}

export const SESSION_COOKIE = 'dems.sid';

/**
 * Sessions in Redis (every web replica sees them; nothing on local disk). The cookie carries only
 * a random id: httpOnly, SameSite=Lax (top-level navigation from another site keeps the session,
 * its forms do not), Secure wherever users reach the service over HTTPS, which production requires.
 * The idle timeout rolls with each request.
 */
export function webSession(config: WebConfig, redis: Redis): RequestHandler {
  const secure = config.WEB_PUBLIC_URL.startsWith('https:');
  return session({
    name: SESSION_COOKIE,
    secret: config.WEB_SESSION_SECRET,
    store: new RedisStore({ client: redis, prefix: `${config.QUEUE_PREFIX}:web-session:`, ttl: config.WEB_SESSION_IDLE_MINUTES * 60 }),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    proxy: config.TRUST_PROXY,
    cookie: { httpOnly: true, sameSite: 'lax', secure, path: '/', maxAge: config.WEB_SESSION_IDLE_MINUTES * 60_000 },
  });
}

import { Inject, Injectable } from '@nestjs/common';
import { errors, jwtVerify, SignJWT } from 'jose';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { AppError, isUuid } from '../core/index.js';

const ISSUER = 'dems';
const AUDIENCE = 'dems-api';

/**
 * What an access token says: who, and in which sign-in session. Deliberately nothing else: the
 * role and the account's state are read from the database on every request (a token minted with
 * a role claim, or outliving a deactivation, would otherwise be believed).
 */
export interface AccessClaims {
  userId: string;
  sessionId: string;
}

/** Short-lived HS256 access tokens (jose). Every API replica shares AUTH_JWT_SECRET. */
@Injectable()
export class AccessTokenService {
  private readonly key: Uint8Array;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.key = new TextEncoder().encode(config.AUTH_JWT_SECRET);
  }

  get ttlSeconds(): number {
    return this.config.AUTH_ACCESS_TOKEN_TTL_SECONDS;
  }

  issue(claims: AccessClaims): Promise<string> {
    return new SignJWT({ sid: claims.sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /** Checks signature, issuer, audience and lifetime; `exp`, `iat`, `sub` and `sid` are required. */
  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'iat', 'sub', 'sid'],
        // A token can never live longer than the configured lifetime, whatever its exp says.
        maxTokenAge: this.ttlSeconds,
      });
      if (!isUuid(payload.sub) || !isUuid(payload.sid)) throw new Error('claims');
      return { userId: payload.sub, sessionId: payload.sid };
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw new AppError('TOKEN_EXPIRED', 'The access token has expired; refresh it or sign in again', 401);
      throw new AppError('TOKEN_INVALID', 'The access token is not valid', 401);
    }
  }
}

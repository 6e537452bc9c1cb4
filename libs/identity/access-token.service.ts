import { Inject, Injectable } from '@nestjs/common';
import { errors, jwtVerify, SignJWT } from 'jose';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { AppError } from '../core/index.js';
import { ROLES, type Role } from './roles.js';

const ISSUER = 'dems';
const AUDIENCE = 'dems-api';

export interface AccessClaims {
  userId: string;
  username: string;
  role: Role;
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
    return new SignJWT({ username: claims.username, role: claims.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
      const role = payload.role as Role;
      if (typeof payload.sub !== 'string' || typeof payload.username !== 'string' || !ROLES.includes(role)) throw new Error('claims');
      return { userId: payload.sub, username: payload.username, role };
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw new AppError('TOKEN_EXPIRED', 'The access token has expired; refresh it or sign in again', 401);
      throw new AppError('TOKEN_INVALID', 'The access token is not valid', 401);
    }
  }
}

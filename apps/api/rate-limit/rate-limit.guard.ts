import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { AppError } from '../../../libs/core/index.js';
import { IS_PUBLIC, type AuthedRequest } from '../auth/request-context.js';
import { rateClassOf, type RateClass } from './rate-class.js';
import { RateLimiterService } from './rate-limiter.service.js';

const WHAT: Record<RateClass, string> = {
  auth: 'sign-in requests from your address',
  read: 'requests',
  write: 'changes',
  upload: 'new uploads',
  expensive: 'requests for this kind of work (re-hashing, bundles, exports)',
};

/**
 * Global guard, registered after AuthGuard so that the caller is known: counts the request in its
 * route class, per user, or per client address where there is no user (sign-in). Over the limit:
 * 429 RATE_LIMITED with Retry-After (RFC 9110 10.2.3), in seconds.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(RateLimiterService) private readonly limiter: RateLimiterService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) ?? false;
    const rateClass = rateClassOf(req.method, (req.route as { path?: string } | undefined)?.path, isPublic);
    if (!rateClass) return true;
    const caller = req.principal ? `user:${req.principal.userId}` : `ip:${req.ip}`;
    const over = await this.limiter.consume(rateClass, caller);
    if (!over) return true;
    ctx.switchToHttp().getResponse<Response>().setHeader('Retry-After', String(over.retryAfterSeconds));
    throw new AppError('RATE_LIMITED', `Too many ${WHAT[rateClass]}; try again in ${over.retryAfterSeconds} s`, 429, { retryAfterSeconds: over.retryAfterSeconds });
  }
}

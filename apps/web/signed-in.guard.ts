import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';

const IS_PUBLIC = Symbol('WEB_PUBLIC');
/** The page needs no sign-in (sign-in itself, health, the public ledger checks). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** Raised when a page needs a signed-in person; the exception filter sends them to sign in. */
export class SignInRequired extends Error {}

/**
 * Only whether someone is signed in: what they may see is the API's decision on every call
 * (this guard grants nothing; a signed-out visitor would only be refused by the API later).
 */
@Injectable()
export class SignedInGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(ctx: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    if (!ctx.switchToHttp().getRequest<Request>().session?.auth) throw new SignInRequired();
    return true;
  }
}

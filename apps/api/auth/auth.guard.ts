import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PinoLogger } from 'nestjs-pino';
import { AppError } from '../../../libs/core/index.js';
import { AuthService, type Role } from '../../../libs/identity/index.js';
import { IS_PUBLIC, REQUIRED_ROLES, type AuthedRequest } from './request-context.js';

/** Global guard: every route needs a valid bearer token unless marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(PinoLogger) private readonly log: PinoLogger,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const header = req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    req.principal = await this.auth.authenticate(match?.[1]);
    // Every log line of the request from here on (and its closing line) names who asked and,
    // for a case's routes, which case.
    const caseId = typeof req.params?.caseId === 'string' ? req.params.caseId : undefined;
    this.log.assign({ userId: req.principal.userId, ...(caseId ? { caseId } : {}) });
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(REQUIRED_ROLES, targets);
    if (roles && !roles.includes(req.principal.role)) {
      throw new AppError('ROLE_NOT_ALLOWED', `This needs one of the roles: ${roles.join(', ')}`, 403);
    }
    return true;
  }
}

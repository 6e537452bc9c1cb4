import { applyDecorators, createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import type { Request } from 'express';
import { AppError, textProblem } from '../../../libs/core/index.js';
import { JUSTIFICATION_CODES, type Justification, type JustificationCode } from '../../../libs/custody/index.js';
import type { Principal, RequestContext, Role } from '../../../libs/identity/index.js';

export const IS_PUBLIC = Symbol('IS_PUBLIC');
export const REQUIRED_ROLES = Symbol('REQUIRED_ROLES');

/** The route needs no sign-in (health, docs, login). Everything else is denied by default. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
/** The route is for these global roles only. */
export const Roles = (...roles: Role[]) => SetMetadata(REQUIRED_ROLES, roles);

export type AuthedRequest = Request & { principal?: Principal; id?: string };

export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const p = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!p) throw new AppError('UNAUTHENTICATED', 'Sign in first', 401);
  return p;
});

export const Ctx = createParamDecorator((_: unknown, ctx: ExecutionContext): RequestContext => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  return { clientAddress: req.ip, requestId: typeof req.id === 'string' ? req.id : undefined };
});

/**
 * The s.62 justification a client gives for consulting or disclosing: `X-Justification-Code`
 * (one of JUSTIFICATION_CODES) and `X-Justification-Text` (5-500 characters). Absent: undefined
 * (the service decides whether it is required); present but malformed: 400.
 */
export const JustificationHeader = createParamDecorator((_: unknown, ctx: ExecutionContext): Justification | undefined => {
  const req = ctx.switchToHttp().getRequest<Request>();
  const code = req.header('x-justification-code');
  const text = req.header('x-justification-text');
  if (code === undefined && text === undefined) return undefined;
  if (!code || !(JUSTIFICATION_CODES as readonly string[]).includes(code)) {
    throw new AppError('INVALID_JUSTIFICATION', `X-Justification-Code must be one of ${JUSTIFICATION_CODES.join(', ')}`, 400);
  }
  const t = (text ?? '').trim();
  if (t.length < 5 || t.length > 500) {
    throw new AppError('INVALID_JUSTIFICATION', 'X-Justification-Text must say why, in 5 to 500 characters', 400);
  }
  // Header values arrive as Latin-1: C1 controls (U+0080-U+009F, e.g. the CSI escape) can still get in.
  const problem = textProblem(t);
  if (problem) throw new AppError('INVALID_JUSTIFICATION', `X-Justification-Text ${problem}`, 400);
  return { code: code as JustificationCode, text: t };
});

/**
 * Documents the s.62 justification headers in the OpenAPI document: required where consulting
 * evidence always needs a reason, optional where the service decides (non-members of a case).
 */
export const JustificationHeaders = (required: boolean) =>
  applyDecorators(
    ApiHeader({ name: 'X-Justification-Code', required, description: required ? 's.62 reason code' : 's.62 reason code (required to consult evidence or open a case without membership)' }),
    ApiHeader({ name: 'X-Justification-Text', required, description: 's.62 reason, 5-500 characters' }),
  );

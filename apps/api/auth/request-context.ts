import { applyDecorators, createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import type { Request } from 'express';
import { AppError, clientRequestId } from '../../../libs/core/index.js';
import { checkJustification, type Justification } from '../../../libs/custody/index.js';
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

export const Ctx = createParamDecorator((_: unknown, ctx: ExecutionContext): RequestContext => requestContext(ctx.switchToHttp().getRequest<AuthedRequest>()));

/** Where a request came from and its ids, as every s.62 entry records them. */
export function requestContext(req: AuthedRequest): RequestContext {
  return { clientAddress: req.ip, requestId: typeof req.id === 'string' ? req.id : undefined, clientRequestId: clientRequestId(req) };
}

/**
 * The s.62 justification a client gives for consulting or disclosing: `X-Justification-Code`
 * (one of JUSTIFICATION_CODES) and `X-Justification-Text` (a reason in words, checked by
 * checkJustification). Absent: undefined (the service decides whether it is required); present
 * but malformed or vague: 400.
 */
export const JustificationHeader = createParamDecorator((_: unknown, ctx: ExecutionContext): Justification | undefined =>
  justificationFromRequest(ctx.switchToHttp().getRequest<Request>()),
);

export function justificationFromRequest(req: Request): Justification | undefined {
  const code = req.header('x-justification-code');
  const text = req.header('x-justification-text');
  if (code === undefined && text === undefined) return undefined;
  return checkJustification(code, text === undefined ? undefined : headerText(text));
}

/**
 * Node hands header values over as Latin-1, one character per byte, so a reason sent as UTF-8
 * (what curl, fetch with encoded bytes and our CLI send) arrived garbled. Bytes that are valid
 * UTF-8 are read as UTF-8; anything else stays Latin-1, as an ISO-8859-1 client meant it.
 */
function headerText(value: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

/**
 * Documents the s.62 justification headers in the OpenAPI document: required where consulting
 * evidence always needs a reason, optional where the service decides (non-members of a case).
 */
export const JustificationHeaders = (required: boolean) =>
  applyDecorators(
    ApiHeader({ name: 'X-Justification-Code', required, description: required ? 's.62 reason code' : 's.62 reason code (required to consult evidence or open a case without membership)' }),
    ApiHeader({ name: 'X-Justification-Text', required, description: 's.62 reason in words, 10-500 characters, UTF-8; stock phrases are refused (JUSTIFICATION_TOO_VAGUE)' }),
  );

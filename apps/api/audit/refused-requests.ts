import { AppError } from '../../../libs/core/index.js';
import type { Justification, RefusedRequest } from '../../../libs/custody/index.js';
import { justificationFromRequest, requestContext, type AuthedRequest } from '../auth/request-context.js';

/**
 * Refusals that are attempts to reach something (DPA 2018 s.62: an auditor must be able to see
 * every attempt, not only what succeeded): any 403 or 404 to a signed-in caller (the 404 is how a
 * case is refused to a non-member), and a consultation without an acceptable justification.
 */
const JUSTIFICATION_REFUSALS = new Set(['JUSTIFICATION_REQUIRED', 'INVALID_JUSTIFICATION', 'JUSTIFICATION_TOO_VAGUE', 'ACCESS_REASON_REQUIRED']);

/** The s.62 record of a refused request, or undefined when the error is not a refusal of a signed-in caller. */
export function refusedRequest(exception: unknown, req: AuthedRequest): RefusedRequest | undefined {
  if (!(exception instanceof AppError) || !req.principal) return undefined;
  if (exception.status !== 403 && exception.status !== 404 && !JUSTIFICATION_REFUSALS.has(exception.code)) return undefined;
  let justification: Justification | undefined;
  let given: RefusedRequest['given'];
  try {
    justification = justificationFromRequest(req);
  } catch {
    given = { code: req.header('x-justification-code'), text: req.header('x-justification-text') };
  }
  return {
    principal: req.principal,
    method: req.method,
    route: (req.route as { path?: string } | undefined)?.path ?? req.path,
    params: { ...(req.params as Record<string, string>) },
    status: exception.status,
    code: exception.code,
    justification,
    given,
    context: requestContext(req),
  };
}

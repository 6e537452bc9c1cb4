/**
 * Route classes with a limit each (RATE_LIMIT_<CLASS>). `auth`: requests that change state
 * without a token (sign-in, witness cosignatures), counted per client address on top of the
 * per-account lockout; the others are counted per user (per address where there is none).
 */
export const RATE_CLASSES = ['auth', 'read', 'write', 'upload', 'expensive'] as const;
export type RateClass = (typeof RATE_CLASSES)[number];

/**
 * Routes whose class is not their method's, by Express route pattern. Kept in one table beside the
 * rule rather than as decorators on the controllers, so the whole policy reads in one place; the
 * rate-limit e2e test checks that every pattern here is a route the API serves.
 * - expensive: work that reads whole cases or files again (re-hashing, bundles, transcodes,
 *   complete exports);
 * - write: refreshing a token and signing out, which carry a refresh token (too long to guess):
 *   a server signing many people in (the web application) refreshes for all of them, so these
 *   must not spend the sign-in budget of its address;
 * - upload: starting an upload. Its tus PATCHes are not counted: a large file sent in chunks makes
 *   thousands of them, and uploads are already bounded by INGEST_MAX_CONCURRENT_UPLOADS_PER_USER;
 * - null: never limited (health probes).
 */
export const ROUTE_CLASSES: Readonly<Record<string, RateClass | null>> = {
  'POST /api/v1/cases/:caseId/fixity': 'expensive',
  'POST /api/v1/cases/:caseId/disclosure/bundles': 'expensive',
  'GET /api/v1/cases/:caseId/events/export': 'expensive',
  'GET /api/v1/cases/:caseId/extractions/:extractionId/entries.csv': 'expensive',
  'POST /api/v1/cases/:caseId/files/:fileId/media/retry': 'expensive',
  'POST /api/v1/cases/:caseId/files/:fileId/media/court-copies': 'expensive',
  'POST /api/v1/auth/refresh': 'write',
  'POST /api/v1/auth/logout': 'write',
  'POST /api/v1/uploads': 'upload',
  'PATCH /api/v1/uploads/:uploadId': null,
  'GET /health/live': null,
  'GET /health/ready': null,
};

/**
 * The class of a request: its route's entry in ROUTE_CLASSES, else by method: reads are GET, HEAD
 * and OPTIONS; anything else writes, and writes without a token are `auth`.
 */
export function rateClassOf(method: string, routePath: string | undefined, isPublic: boolean): RateClass | null {
  const m = method.toUpperCase();
  const declared = routePath === undefined ? undefined : ROUTE_CLASSES[`${m} ${routePath}`];
  if (declared !== undefined) return declared;
  if (['GET', 'HEAD', 'OPTIONS'].includes(m)) return 'read';
  return isPublic ? 'auth' : 'write';
}

import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/**
 * A per-request nonce for the one inline script GOV.UK Frontend's page template needs (it marks
 * the body as JavaScript-capable), and a strict Content-Security-Policy: everything from this
 * origin only, no inline styles, no framing, forms post only here. Every page is no-store: it
 * shows evidence, people or the service's state.
 */
export function securityHeaders(secure: boolean): RequestHandler[] {
  return [
    (_req: Request, res: Response, next: NextFunction) => {
      res.locals.cspNonce = randomBytes(16).toString('base64');
      res.setHeader('Cache-Control', 'no-store');
      next();
    },
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'self'", (_req, res) => `'nonce-${(res as Response).locals.cspNonce}'`],
          'style-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          'font-src': ["'self'"],
          'connect-src': ["'self'"],
          'object-src': ["'none'"],
          'base-uri': ["'none'"],
          'form-action': ["'self'"],
          'frame-ancestors': ["'none'"],
          'upgrade-insecure-requests': secure ? [] : null,
        },
      },
      strictTransportSecurity: secure,
      crossOriginEmbedderPolicy: true,
    }),
  ];
}

import 'reflect-metadata';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { csrfSync } from 'csrf-sync';
import type { Express, NextFunction, Request, Response } from 'express';
import type { Redis } from 'ioredis';
import type { WebConfig } from '../../libs/config/index.js';
import { initOrClose } from '../../libs/core/index.js';
import { HtmlExceptionFilter } from './html-exception.filter.js';
import { securityHeaders } from './security-headers.js';
import { appStylesheet } from './styles.js';
import { configureViews, GOVUK_DIR, MOJ_DIR } from './views.js';
import { WebModule, WEB_REDIS } from './web.module.js';
import { webSession } from './web-session.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const TUS_BROWSER_BUILD = createRequire(import.meta.url).resolve('tus-js-client/dist/tus.min.js');
export const ASSETS_DIR = join(HERE, 'assets');
const TEMPLATES_DIR = join(HERE, 'templates');

/**
 * The web application (not yet listening). Middleware in the order the security model needs:
 * static files, security headers, session, form parsing, CSRF, then the pages.
 */
export async function createWeb(config: WebConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(WebModule.forRoot(config), {
    bodyParser: false,
    abortOnError: false,
    logger: config.LOG_LEVEL === 'silent' ? false : ['error', 'warn', 'log'],
  });
  const express = app.getHttpAdapter().getInstance() as Express;
  if (config.TRUST_PROXY) app.set('trust proxy', true);
  app.disable('x-powered-by');
  await serveAssets(app, express);
  app.use(...securityHeaders(config.WEB_PUBLIC_URL.startsWith('https:')));
  app.use(webSession(config, app.get<Redis>(WEB_REDIS)));
  app.useBodyParser('urlencoded', { extended: false, limit: '64kb' });
  app.use(...csrfProtection());
  // Templates are read again on each render only in development (edit and reload); compiled once otherwise.
  configureViews(express, TEMPLATES_DIR, config.NODE_ENV === 'development');
  app.useGlobalFilters(new HtmlExceptionFilter());
  await initOrClose(app);
  return app;
}

/**
 * GOV.UK Frontend's script, images and our own assets, from the installed packages (no CDN).
 * Package files keep an hour's cache (their names do not change between releases).
 */
async function serveAssets(app: NestExpressApplication, express: Express): Promise<void> {
  const css = await appStylesheet(ASSETS_DIR);
  const cached = (res: Response) => res.setHeader('Cache-Control', 'public, max-age=3600');
  express.get('/assets/app/app.css', (_req, res) => {
    cached(res);
    res.type('text/css').send(css);
  });
  express.get('/assets/govuk-frontend.min.js', (_req, res) => {
    cached(res);
    res.type('text/javascript').sendFile(join(GOVUK_DIR, 'govuk', 'govuk-frontend.min.js'));
  });
  // tus-js-client's browser build, for the exhibit page's uploads (apps/web/assets/exhibit-upload.js).
  express.get('/assets/tus.min.js', (_req, res) => {
    cached(res);
    res.type('text/javascript').sendFile(TUS_BROWSER_BUILD);
  });
  const options = { maxAge: '1h', index: false as const, fallthrough: true };
  app.useStaticAssets(join(ASSETS_DIR), { ...options, prefix: '/assets/app' });
  app.useStaticAssets(join(GOVUK_DIR, 'govuk', 'assets'), { ...options, prefix: '/assets' });
  app.useStaticAssets(join(MOJ_DIR, 'moj', 'assets'), { ...options, prefix: '/assets' });
}

/**
 * Synchroniser tokens (csrf-sync): one token per session, kept in the session, rotated at sign-in,
 * sent back by every form in `_csrf` (or by scripts in `x-csrf-token`). A bad token renders the
 * "form has expired" page through the exception filter.
 */
function csrfProtection() {
  const csrf = csrfSync({ getTokenFromRequest: (req) => (req.body as { _csrf?: string } | undefined)?._csrf ?? req.header('x-csrf-token') });
  return [
    (req: Request, res: Response, next: NextFunction) =>
      csrf.csrfSynchronisedProtection(req, res, (err?: unknown) => {
        if (err) {
          res.status(403).render('pages/error', { title: 'This form has expired', message: 'Go back, reload the page and try again.', code: 'FORM_EXPIRED' });
          return;
        }
        next();
      }),
    (req: Request, res: Response, next: NextFunction) => {
      // Probes get no session (a token would start one for each of them).
      if (req.path.startsWith('/health/')) return next();
      res.locals.csrfToken = csrf.generateToken(req);
      res.locals.user = req.session.auth?.user;
      next();
    },
  ];
}

export async function startWeb(config: WebConfig): Promise<NestExpressApplication> {
  const app = await createWeb(config);
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.listen(config.WEB_PORT, config.WEB_HOST);
  return app;
}

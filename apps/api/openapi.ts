import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { AppConfig } from '../../libs/config/index.js';
import { IS_PUBLIC, REQUIRED_ROLES } from './auth/request-context.js';
import { SERVICE_VERSION } from './version.js';

type Operation = OpenAPIObject['paths'][string]['get'] & object;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The `{code, message, details}` body of every error answer (AppExceptionFilter). */
export const ERROR_SCHEMA = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', description: 'Stable machine-readable code, e.g. VALIDATION_FAILED, NOT_FOUND, RATE_LIMITED' },
    message: { type: 'string', description: 'What went wrong, in words a person understands' },
    details: { type: 'object', additionalProperties: true, description: 'Facts about the error where the code has any (e.g. validation issues)' },
  },
} as const;

/**
 * The OpenAPI document of the running application. The document is a contract: it passes
 * `redocly lint` (recommended rules; test/e2e/openapi-contract.test.ts) and the CLI's types are
 * generated from it (apps/cli/api-schema.ts), so a route that changes shape fails the build.
 */
export function buildApiDocument(app: INestApplication, config: AppConfig): OpenAPIObject {
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Evidence service API')
      .setDescription('Digital evidence management for policing in England and Wales. Errors answer `{code, message, details?}` with a stable code.')
      .setVersion(SERVICE_VERSION)
      .setLicense('UNLICENSED (proprietary)', `${config.PUBLIC_URL.replace(/\/+$/, '')}/api/docs`)
      .addServer(config.PUBLIC_URL.replace(/\/+$/, ''))
      .addBearerAuth()
      .addSecurityRequirements('bearer')
      .build(),
  );
  return completeApiDocument(doc, routeFacts(app));
}

interface RouteFacts {
  /** Operation-id stems (`Controller_method`) of routes that need no sign-in. */
  publicOps: Set<string>;
  /** Stems of routes limited to some global roles. */
  roleOps: Set<string>;
}

/**
 * Which handlers are public or role-limited, read from the same metadata the AuthGuard reads
 * (@Public, @Roles on the method or its controller), so the document cannot disagree with it.
 */
function routeFacts(app: INestApplication): RouteFacts {
  const facts: RouteFacts = { publicOps: new Set(), roleOps: new Set() };
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const type = wrapper.metatype as (new (...args: never[]) => unknown) | undefined;
      if (!type?.prototype) continue;
      for (const key of Object.getOwnPropertyNames(type.prototype)) {
        const handler = Object.getOwnPropertyDescriptor(type.prototype, key)?.value as unknown;
        if (key === 'constructor' || typeof handler !== 'function') continue;
        const stem = `${type.name}_${key}`;
        if (Reflect.getMetadata(IS_PUBLIC, handler) ?? Reflect.getMetadata(IS_PUBLIC, type)) facts.publicOps.add(stem);
        if (Reflect.getMetadata(REQUIRED_ROLES, handler) ?? Reflect.getMetadata(REQUIRED_ROLES, type)) facts.roleOps.add(stem);
      }
    }
  }
  return facts;
}

/**
 * Fills in what every operation has in common and Nest's scanner cannot see: which operations are
 * public (`security: []`), and the error answers each can give with the shared error schema. The
 * decision is ours (the guard's rules), so it is written here rather than repeated on 70 handlers.
 */
export function completeApiDocument(doc: OpenAPIObject, facts: RouteFacts): OpenAPIObject {
  doc.components = { ...doc.components, schemas: { ...doc.components?.schemas, Error: ERROR_SCHEMA as never } };
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method] as Operation | undefined;
      if (!op) continue;
      const stem = (op.operationId ?? '').replace(/_v\d+$/, '');
      const isPublic = facts.publicOps.has(stem);
      if (isPublic) op.security = [];
      else delete op.security; // the document-wide bearer requirement applies
      const errors: Record<string, string> = {
        // Every route refuses a NUL in its query or body, malformed JSON and invalid values.
        '400': 'The request is malformed or a value is invalid (VALIDATION_FAILED, MALFORMED_JSON, INVALID_TEXT, ...)',
      };
      if (!isPublic) errors['401'] = 'No valid access token (UNAUTHENTICATED)';
      if (facts.roleOps.has(stem)) errors['403'] = 'Your role may not do this (FORBIDDEN)';
      if (path.includes('{')) errors['404'] = 'No such item, or not one you may see (NOT_FOUND): the two are answered alike';
      errors['429'] = 'Too many requests (RATE_LIMITED); see Retry-After';
      for (const [status, description] of Object.entries(errors)) {
        op.responses[status] ??= { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
      }
    }
  }
  return doc;
}

import { StandardSchemaValidationPipe, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { ApiBody } from '@nestjs/swagger';
import { z } from 'zod';
import { AppError, canonicalIdOrSelf } from '../../libs/core/index.js';

/** Bodies and queries are checked against zod schemas (Standard Schema); failures are 400 VALIDATION_FAILED. */
export const validationPipe = new StandardSchemaValidationPipe({
  exceptionFactory: (issues) =>
    new AppError(
      'VALIDATION_FAILED',
      issues.map((i) => `${i.path?.length ? i.path.map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.') + ': ' : ''}${i.message}`).join('; '),
      400,
      {
        issues: issues.map((i) => ({
          path: (i.path ?? []).map((p) => (typeof p === 'object' ? p.key : p)).join('.'),
          message: i.message,
        })),
      },
    ),
});

/** Documents a zod request body in the OpenAPI document. */
export const ApiZodBody = (schema: z.ZodType) => ApiBody({ schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as never });

/**
 * Every path parameter that is a hyphenated UUID in any letter case reaches the services in its
 * canonical lower-case form, on every route: custody events then name objects exactly as the
 * database stores them. Other spellings PostgreSQL would accept (braces, no hyphens) are left as
 * they are, and the services answer them like unknown ids.
 */
export class CanonicalIdPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    return metadata.type === 'param' ? canonicalIdOrSelf(value) : value;
  }
}

export const canonicalIdPipe = new CanonicalIdPipe();

/**
 * PostgreSQL text cannot hold U+0000, and no field of this API has a use for it: a NUL anywhere in
 * a JSON body or a query string (keys included) is refused here, on every route, as 400
 * INVALID_TEXT naming where it was, before any schema or query sees it.
 */
export class NulRefusalPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'body' || metadata.type === 'query') {
      const where = findNul(value, metadata.type === 'query' ? 'query' : 'body');
      if (where) throw new AppError('INVALID_TEXT', `${where} contains a NUL character (U+0000), which no field accepts`, 400, { path: where });
    }
    return value;
  }
}

function findNul(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (depth > 64 || value === null || typeof value !== 'object') return undefined;
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('\u0000')) return path;
    const found = findNul(v, `${path}.${k}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export const nulRefusalPipe = new NulRefusalPipe();


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


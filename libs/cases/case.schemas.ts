import { z } from 'zod';
import { uuidInput } from '../core/ids.js';
import { safeText } from '../core/safe-text.js';

export const CASE_STATUSES = ['open', 'under_investigation', 'charged', 'awaiting_trial', 'concluded', 'closed'] as const;
export const CLASSIFICATIONS = ['OFFICIAL', 'OFFICIAL-SENSITIVE'] as const;
export const CASE_ROLES = ['officer_in_case', 'investigator', 'forensic_analyst', 'disclosure_officer', 'reviewer'] as const;
export type CaseRole = (typeof CASE_ROLES)[number];
export const SOURCE_TYPES = ['cctv', 'body_worn_video', 'audio', 'image', 'document', 'device_extraction', 'other'] as const;

/** Free text under the shared rule (libs/core/safe-text.ts): no control or bidi formatting characters. */
const text = (max: number) => safeText(max);
const optionalText = (max: number) => text(max).nullish();
/** Free text that may run over several lines (descriptions, summaries, places). */
const longText = (max: number) => safeText(max, { multiLine: true });
const optionalLongText = (max: number) => longText(max).nullish();
/** A calendar date that exists (2026-02-30 and 2026-13-45 do not), in years 1-9999 as PostgreSQL's date takes them. */
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date YYYY-MM-DD', abort: true })
  .refine((v) => {
    const [y, m, d] = v.split('-').map(Number);
    const t = new Date(0);
    t.setUTCFullYear(y, m - 1, d);
    return y >= 1 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
  }, { message: 'must be a date that exists, YYYY-MM-DD' });
const isoDateTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with a time zone, e.g. 2026-11-23T14:05:00Z' });

/**
 * DOMAIN.md: OFFICIAL and OFFICIAL-SENSITIVE only. SECRET / TOP SECRET are out of scope and are
 * refused with their own message rather than a generic enum error.
 */
export const classification = z
  .string()
  .transform((v) => v.trim().toUpperCase().replace(/[\s_]+/g, '-'))
  .pipe(
    z.string().refine((v) => (CLASSIFICATIONS as readonly string[]).includes(v), {
      message: 'must be OFFICIAL or OFFICIAL-SENSITIVE (higher classifications are not handled by this service)',
    }),
  ) as unknown as z.ZodType<(typeof CLASSIFICATIONS)[number]>;

export const createCaseSchema = z.strictObject({
  urn: z.string().max(40),
  title: text(200),
  operationName: optionalText(100),
  offenceSummary: optionalLongText(4000),
  status: z.enum(CASE_STATUSES).optional(),
  classification: classification.optional(),
  retentionGroup: z.union([z.literal(1), z.literal(2), z.literal(3)]).optional(),
  reviewDate: isoDate.nullish(),
});
export type CreateCaseInput = z.infer<typeof createCaseSchema>;

export const updateCaseSchema = createCaseSchema.omit({ urn: true }).partial().extend({
  officerInCase: uuidInput('must be a user id').nullish(),
});
export type UpdateCaseInput = z.infer<typeof updateCaseSchema>;

export const listCasesSchema = z.strictObject({
  urn: z.string().max(40).optional(),
  status: z.enum(CASE_STATUSES).optional(),
  q: z.string().trim().max(200).optional(),
  createdFrom: isoDate.optional(),
  createdTo: isoDate.optional(),
  sort: z.enum(['createdAt', 'updatedAt', 'urn', 'title']).default('createdAt'),
  order: z.enum(['asc', 'desc']).default('desc'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});
export type ListCasesQuery = z.infer<typeof listCasesSchema>;

export const memberSchema = z.strictObject({ caseRole: z.enum(CASE_ROLES) });

const hex = (len: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${len}}$`), { message: `must be ${len} hex digits` });
export const declaredHashSchema = z.discriminatedUnion('algorithm', [
  z.strictObject({ algorithm: z.literal('sha256'), value: hex(64) }),
  z.strictObject({ algorithm: z.literal('sha1'), value: hex(40) }),
  z.strictObject({ algorithm: z.literal('md5'), value: hex(32) }),
]);

/** RAVE retrieval details for CCTV and similar systems. */
export const retrievalSchema = z.strictObject({
  system: optionalText(200),
  serial: optionalText(200),
  channel: optionalText(100),
  clockOffsetSeconds: z.number().int().min(-86400 * 366).max(86400 * 366).nullish(),
  timeZone: z
    .string()
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-GB', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, { message: 'must be an IANA time zone such as Europe/London' })
    .nullish(),
  method: optionalText(200),
  operator: optionalText(200),
  site: optionalLongText(500),
  retrievedAt: isoDateTime.nullish(),
});

export const createExhibitSchema = z.strictObject({
  reference: z.string().max(40),
  sourceType: z.enum(SOURCE_TYPES, { message: `must be one of ${SOURCE_TYPES.join(', ')}` }),
  description: longText(4000),
  producer: text(200),
  seizedAt: isoDateTime.nullish(),
  seizedBy: optionalText(200),
  seizedFrom: optionalLongText(500),
  seizedWhere: optionalLongText(500),
  retrieval: retrievalSchema.nullish(),
  declaredHashes: z.array(declaredHashSchema).max(3).optional(),
  classification: classification.optional(),
  disclosureUse: z.enum(['undetermined', 'used', 'unused']).optional(),
  sensitivity: z.enum(['non_sensitive', 'sensitive']).nullish(),
});
export type CreateExhibitInput = z.infer<typeof createExhibitSchema>;

export const updateExhibitSchema = createExhibitSchema.omit({ reference: true }).partial();
export type UpdateExhibitInput = z.infer<typeof updateExhibitSchema>;

import { ApiError } from './api-client.js';
import type { FormError } from './form-errors.js';

/**
 * The API's refusal of a form, tied to the form's fields for GOV.UK's error summary: each zod
 * issue of a VALIDATION_FAILED goes to the field it names, a known code (INVALID_URN,
 * USERNAME_TAKEN…) to its field, anything else to the form's first field with the API's message.
 * Only 4xx answers are the person's to fix; anything else is rethrown for the error page.
 */
export function apiFormErrors(e: unknown, fields: readonly string[], fieldByCode: Record<string, string> = {}): FormError[] {
  if (!(e instanceof ApiError) || e.status < 400 || e.status >= 500 || e.status === 401 || e.status === 403) throw e;
  const issues = (e.details?.issues ?? []) as { path?: string; message?: string }[];
  if (e.code === 'VALIDATION_FAILED' && issues.length) {
    return issues.map((i) => {
      const field = fields.find((f) => f === i.path?.split('.')[0]) ?? fields[0];
      return { field, text: `${labelOf(field)} ${i.message ?? 'is not valid'}` };
    });
  }
  return [{ field: fieldByCode[e.code] ?? fields[0], text: e.message }];
}

/** "displayName" → "Display name", for messages such as "Display name must be …". */
function labelOf(field: string): string {
  const words = field.replace(/([A-Z])/g, ' $1').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

import { MG6_FORMS } from '../../../libs/disclosure/mg6-forms.js';
import { apiFormErrors } from '../api-form-errors.js';
import type { FormError } from '../form-errors.js';

/** The schedules edited in the browser; the MG6E (a report pointing at their items) is left to the API and CLI. */
export const EDITABLE = ['MG6C', 'MG6D'] as const;
export type Editable = (typeof EDITABLE)[number];

export type Form = Record<string, string | string[] | undefined>;

export interface DraftEntry {
  itemNumber?: number;
  fields: Record<string, string>;
}

/** The form's columns: every column of the schedule but its number, which the API gives. */
export function columnsOf(schedule: Editable) {
  return MG6_FORMS[schedule].columns.filter((c) => c.key !== 'itemNumber');
}

export function one(v: string | string[] | undefined): string {
  return typeof v === 'string' ? v : '';
}

/**
 * The posted schedule form as the API's entries, with the form prefix each came from. Fields are
 * named `e<i>-<column>` for the items carried from the latest version (with `e<i>-itemNumber`,
 * and `e<i>-remove` to leave one off) and `new-<column>` for a new item, numbered next by the
 * API. The body parser is flat (extended: false), so the names are read here.
 */
export function entriesFromForm(schedule: Editable, body: Form): { entries: DraftEntry[]; prefixes: string[] } {
  const columns = columnsOf(schedule);
  const fieldsOf = (prefix: string) => Object.fromEntries(columns.map((c) => [c.key, one(body[`${prefix}-${c.key}`]).trim()]).filter(([, v]) => v !== ''));
  const entries: DraftEntry[] = [];
  const prefixes: string[] = [];
  const count = Math.min(Number(one(body.entryCount)) || 0, 5000);
  for (let i = 0; i < count; i += 1) {
    if (body[`e${i}-remove`] === 'yes') continue;
    const itemNumber = Number(one(body[`e${i}-itemNumber`]));
    entries.push({ ...(Number.isInteger(itemNumber) && itemNumber > 0 ? { itemNumber } : {}), fields: fieldsOf(`e${i}`) });
    prefixes.push(`e${i}`);
  }
  const added = fieldsOf('new');
  if (Object.keys(added).length) {
    entries.push({ fields: added });
    prefixes.push('new');
  }
  return { entries, prefixes };
}

/**
 * The API's refusal of a schedule version, on the field it concerns: its message names the entry
 * ("Entry 2: …", counted among the entries sent) and the column (by label or key); anything else
 * goes to the new item's description.
 */
export function scheduleErrors(schedule: Editable, e: unknown, prefixes: string[]): FormError[] {
  return apiFormErrors(e, ['new-description']).map((p) => {
    const entry = /^Entry (\d+): /.exec(p.text);
    const prefix = entry ? prefixes[Number(entry[1]) - 1] : undefined;
    if (!prefix) return p;
    const column = columnsOf(schedule).find((c) => p.text.includes(c.label) || p.text.includes(` ${c.key} `) || p.text.includes(`"${c.key}"`)) ?? columnsOf(schedule)[0];
    return { ...p, field: `${prefix}-${column.key}` };
  });
}

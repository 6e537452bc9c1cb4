/** The digital strategy form as the browser sends it: every list is a textarea, one item a line. */
export interface StrategyForm {
  investigativeQuestions?: string;
  attribution?: string;
  scope?: string;
  reasonNotExamined?: string;
  dataCategories?: string;
  dateRanges?: string;
  searchTerms?: string;
  volume?: string;
  proportionality?: string;
  tools?: string;
  agreedBy?: string;
}

/** The strategy record as the API keeps it (libs/evidence strategySchema; the API judges it). */
export interface StrategyRecord {
  investigativeQuestions: string[];
  attribution: string;
  scope: string;
  reasonNotExamined?: string;
  dataCategories: string[];
  dateRanges: { from: string; to: string; reason?: string }[];
  searchTerms: string[];
  volume?: string;
  proportionality: string;
  tools: { name: string; version: string; purpose?: string }[];
  agreedBy?: string;
}

export const STRATEGY_FIELDS = ['investigativeQuestions', 'attribution', 'scope', 'reasonNotExamined', 'dataCategories', 'dateRanges', 'searchTerms', 'volume', 'proportionality', 'tools', 'agreedBy'] as const;

const lines = (v: string | undefined): string[] =>
  (v ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
const optional = (v: string | undefined): string | undefined => (v?.trim() ? v.trim() : undefined);

/**
 * The form's text turned into the record the API takes. Only the shape is ours ("from to" per
 * date line, "name; version; purpose" per tool line); whether the record is acceptable is the
 * API's decision, and its refusals come back on the fields they concern.
 */
export function strategyFromForm(form: StrategyForm): StrategyRecord {
  return {
    investigativeQuestions: lines(form.investigativeQuestions),
    attribution: form.attribution?.trim() ?? '',
    scope: form.scope ?? '',
    reasonNotExamined: optional(form.reasonNotExamined),
    dataCategories: lines(form.dataCategories),
    dateRanges: lines(form.dateRanges).map((l) => {
      const [, from = '', to = from, reason] = /^(\S+)(?:\s+to\s+(\S+))?(?:\s+(.*))?$/.exec(l) ?? [];
      return { from, to, reason: optional(reason) };
    }),
    searchTerms: lines(form.searchTerms),
    volume: optional(form.volume),
    proportionality: form.proportionality?.trim() ?? '',
    tools: lines(form.tools).map((l) => {
      const [name = '', version = '', purpose] = l.split(';').map((p) => p.trim());
      return { name, version, purpose: optional(purpose) };
    }),
    agreedBy: optional(form.agreedBy),
  };
}

/** A stored version shown in the form again, to be edited into the next version. */
export function formFromStrategy(record: StrategyRecord): StrategyForm {
  return {
    investigativeQuestions: record.investigativeQuestions.join('\n'),
    attribution: record.attribution,
    scope: record.scope,
    reasonNotExamined: record.reasonNotExamined ?? '',
    dataCategories: record.dataCategories.join('\n'),
    dateRanges: record.dateRanges.map((r) => [r.from, 'to', r.to, r.reason ?? ''].join(' ').trim()).join('\n'),
    searchTerms: record.searchTerms.join('\n'),
    volume: record.volume ?? '',
    proportionality: record.proportionality,
    tools: record.tools.map((t) => [t.name, t.version, t.purpose].filter(Boolean).join('; ')).join('\n'),
    agreedBy: record.agreedBy ?? '',
  };
}

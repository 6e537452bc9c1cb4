import { Option, type Command } from 'commander';
import { CASE_STATUSES, SOURCE_TYPES } from '../../libs/cases/case.schemas.js';
import { canonicalUuid } from '../../libs/core/ids.js';
import { textProblem } from '../../libs/core/safe-text.js';
import { JUSTIFICATION_CODES } from '../../libs/custody/custody-recorder.js';
import { ApiClient } from './api-client.js';
import { ApiError } from './errors.js';
import { printDetails, printJson, printTable, say, truncate } from './output.js';
import type { CaseView as ApiCaseView, ExhibitView as ApiExhibitView } from '../../libs/cases/index.js';

/** The API's views as they arrive over HTTP: the same fields, dates as ISO strings. */
type Wire<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };
type CaseView = Wire<ApiCaseView>;
type ExhibitView = Wire<ApiExhibitView>;
interface CaseList {
  items: CaseView[];
  nextCursor: string | null;
  total: number;
}

interface ReasonOptions {
  reasonCode?: string;
  reason?: string;
}

const reasonCodeOption = () =>
  new Option('--reason-code <code>', 'why you are consulting it (s.62 justification code)').choices(JUSTIFICATION_CODES);
const reasonOption = () => new Option('--reason <text>', 'the justification in your own words, 10-500 characters (stock phrases are refused)');

/**
 * The s.62 justification headers. Left out when neither option is given, so the API decides
 * whether one is required (and answers JUSTIFICATION_REQUIRED when it is).
 */
export function justificationHeaders(opts: ReasonOptions): Record<string, string | undefined> {
  if (opts.reasonCode === undefined && opts.reason === undefined) return {};
  // The text rule the API applies (one line, no control or bidirectional formatting characters),
  // checked here so fetch never sees a value it cannot send; the API judges whether it says enough.
  const problem = opts.reason === undefined ? undefined : textProblem(opts.reason);
  if (problem) throw new ApiError(0, 'INVALID_JUSTIFICATION', `--reason ${problem}`);
  // Header values travel as bytes: the reason is sent as UTF-8, which the API reads back as UTF-8.
  return { 'x-justification-code': opts.reasonCode, 'x-justification-text': opts.reason === undefined ? undefined : Buffer.from(opts.reason, 'utf8').toString('latin1') };
}

/**
 * A case is named by its id or by its URN in any accepted spelling (01/AB/12345/23, 01AB1234523).
 * A URN is looked up among the caller's cases; the API checks its syntax (INVALID_URN).
 */
export async function resolveCase(api: ApiClient, ref: string): Promise<{ id: string; found?: CaseView }> {
  const id = canonicalUuid(ref);
  if (id) return { id };
  const { body } = await api.get<CaseList>('/api/v1/cases', { query: { urn: ref, limit: 1 } });
  const found = body.items[0];
  if (!found) {
    throw new ApiError(404, 'CASE_NOT_FOUND', say`No case with URN ${ref} among your cases (if you are not a member, give the case id)`);
  }
  return { id: found.id, found };
}

function caseRow(c: CaseView): string[] {
  return [c.urnDisplay, truncate(c.title, 40), c.status, c.classification, String(c.counts.exhibits), c.access?.caseRole ?? '-'];
}

function printCase(c: CaseView): void {
  printDetails([
    ['URN', c.urnDisplay],
    ['id', c.id],
    ['title', c.title],
    ['operation', c.operationName],
    ['offence summary', c.offenceSummary],
    ['status', c.status],
    ['classification', c.classification],
    ['retention group', c.retentionGroup],
    ['review date', c.reviewDate],
    ['exhibits', c.counts.exhibits],
    ['members', c.counts.members],
    ['my case role', c.access ? `${c.access.caseRole ?? '-'} (${c.access.via})` : undefined],
    ['created', c.createdAt],
    ['updated', c.updatedAt],
    ['version', c.version],
  ]);
}

export function registerCaseCommands(program: Command): void {
  const cases = program.command('cases').description('cases you work on');

  cases
    .command('list')
    .description('list the cases you are a member of')
    .option('--urn <urn>', 'only the case with this URN')
    .addOption(new Option('--status <status>', 'only cases with this status').choices(CASE_STATUSES))
    .option('--search <text>', 'words in the title, operation name or offence summary')
    .addOption(new Option('--sort <field>', 'sort by').choices(['createdAt', 'updatedAt', 'urn', 'title']))
    .addOption(new Option('--order <order>', 'sort order').choices(['asc', 'desc']))
    .option('--limit <n>', 'at most n cases (with --all: the page size), 1-200')
    .option('--all', 'fetch every page, not just the first')
    .option('--json', 'machine-readable output')
    .action(
      async (opts: { urn?: string; status?: string; search?: string; sort?: string; order?: string; limit?: string; all?: boolean; json?: boolean }) => {
        const api = new ApiClient();
        const query = { urn: opts.urn, status: opts.status, q: opts.search, sort: opts.sort, order: opts.order, limit: opts.limit ?? (opts.all ? 200 : undefined) };
        const first = (await api.get<CaseList>('/api/v1/cases', { query })).body;
        const items = [...first.items];
        let next = first.nextCursor;
        const seen = new Set<string>();
        // The cursor is the server's; stopping on a repeat guards against a loop if it ever misbehaves.
        while (opts.all && next && !seen.has(next)) {
          seen.add(next);
          const page = (await api.get<CaseList>('/api/v1/cases', { query: { ...query, cursor: next } })).body;
          items.push(...page.items);
          next = page.nextCursor;
        }
        const result: CaseList = { items, nextCursor: opts.all ? null : next, total: first.total };
        if (opts.json) return printJson(result);
        printTable(['URN', 'title', 'status', 'classification', 'exhibits', 'my role'], items.map(caseRow), 'no cases');
        if (result.nextCursor) console.log(`${items.length} of ${result.total} cases shown; --all lists every one`);
      },
    );

  cases
    .command('show')
    .description('one case, by URN or id (consulting a case is recorded)')
    .argument('<case>', 'URN (e.g. 01/AB/12345/23) or case id')
    .addOption(reasonCodeOption())
    .addOption(reasonOption())
    .option('--json', 'machine-readable output')
    .action(async (ref: string, opts: ReasonOptions & { json?: boolean }) => {
      const api = new ApiClient();
      const headers = justificationHeaders(opts);
      const { id } = await resolveCase(api, ref);
      const c = (await api.get<CaseView>(`/api/v1/cases/${encodeURIComponent(id)}`, { headers })).body;
      if (opts.json) printJson(c);
      else printCase(c);
    });

  cases
    .command('create')
    .description('open a case (investigators and supervisors); you become its officer in the case')
    .requiredOption('--urn <urn>', 'Unique Reference Number, e.g. 01/AB/12345/23')
    .requiredOption('--title <title>', 'short title')
    .option('--operation <name>', 'operation name')
    .option('--summary <text>', 'offence summary')
    .option('--classification <c>', 'OFFICIAL (default) or OFFICIAL-SENSITIVE')
    .addOption(new Option('--retention-group <n>', 'MoPI retention group (default 3)').choices(['1', '2', '3']))
    .option('--json', 'machine-readable output')
    .action(
      async (opts: { urn: string; title: string; operation?: string; summary?: string; classification?: string; retentionGroup?: string; json?: boolean }) => {
        const body = {
          urn: opts.urn,
          title: opts.title,
          operationName: opts.operation,
          offenceSummary: opts.summary,
          classification: opts.classification,
          retentionGroup: opts.retentionGroup === undefined ? undefined : Number(opts.retentionGroup),
        };
        const c = (await new ApiClient().post<CaseView>('/api/v1/cases', body, { ok: [201] })).body;
        if (opts.json) printJson(c);
        else console.log(say`Opened case ${c.urnDisplay} "${c.title}" (id ${c.id}); you are its officer in the case.`);
      },
    );

  const exhibits = program.command('exhibits').description('exhibits on a case');

  exhibits
    .command('list')
    .description('exhibits of a case (consulting evidence needs a justification and is recorded)')
    .requiredOption('--case <case>', 'URN or case id')
    .addOption(reasonCodeOption())
    .addOption(reasonOption())
    .option('--json', 'machine-readable output')
    .action(async (opts: ReasonOptions & { case: string; json?: boolean }) => {
      const api = new ApiClient();
      const headers = justificationHeaders(opts);
      const { id } = await resolveCase(api, opts.case);
      const items = (await api.get<ExhibitView[]>(`/api/v1/cases/${encodeURIComponent(id)}/exhibits`, { headers })).body;
      if (opts.json) return printJson(items);
      printTable(
        ['reference', 'source type', 'description', 'classification', 'used/unused'],
        items.map((e) => [e.reference, e.sourceType, truncate(e.description, 50), e.classification, e.disclosureUse]),
        'no exhibits',
      );
    });

  exhibits
    .command('create')
    .description('declare an exhibit on a case')
    .requiredOption('--case <case>', 'URN or case id')
    .requiredOption('--ref <reference>', "exhibit reference: producer's initials and a number, e.g. JS/1")
    .addOption(new Option('--type <type>', 'source type').choices(SOURCE_TYPES).makeOptionMandatory())
    .requiredOption('--description <text>', 'what the exhibit is')
    .requiredOption('--producer <name>', 'who produces it')
    .option('--seized-at <iso>', 'when it was seized, ISO 8601 with a time zone (e.g. 2026-11-23T14:05:00Z)')
    .option('--seized-by <name>', 'who seized it')
    .option('--seized-from <text>', 'whom or what it was seized from')
    .option('--seized-where <text>', 'where it was seized')
    .option('--classification <c>', 'OFFICIAL (default) or OFFICIAL-SENSITIVE')
    .option('--json', 'machine-readable output')
    .action(
      async (opts: {
        case: string;
        ref: string;
        type: string;
        description: string;
        producer: string;
        seizedAt?: string;
        seizedBy?: string;
        seizedFrom?: string;
        seizedWhere?: string;
        classification?: string;
        json?: boolean;
      }) => {
        const api = new ApiClient();
        const { id, found } = await resolveCase(api, opts.case);
        const body = {
          reference: opts.ref,
          sourceType: opts.type,
          description: opts.description,
          producer: opts.producer,
          seizedAt: opts.seizedAt,
          seizedBy: opts.seizedBy,
          seizedFrom: opts.seizedFrom,
          seizedWhere: opts.seizedWhere,
          classification: opts.classification,
        };
        const e = (await api.post<ExhibitView>(`/api/v1/cases/${encodeURIComponent(id)}/exhibits`, body, { ok: [201] })).body;
        if (opts.json) printJson(e);
        else console.log(say`Declared exhibit ${e.reference} (${e.sourceType}) on case ${found?.urnDisplay ?? id} (exhibit id ${e.id}).`);
      },
    );
}

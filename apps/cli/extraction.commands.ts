import { Option, type Command } from 'commander';
import { JUSTIFICATION_CODES } from '../../libs/custody/custody-recorder.js';
import type { ExtractionEntryView, ExtractionView } from '../../libs/evidence/index.js';
import { ApiClient } from './api-client.js';
import { justificationHeaders, resolveCase } from './cases.commands.js';
import { registerExtractionWorkflowCommands } from './extraction-workflow.commands.js';
import { clean, printJson, printTable, truncate } from './output.js';

type ExtractionRow = Omit<ExtractionView, 'createdAt' | 'updatedAt' | 'verifiedAt'> & { exhibitReference: string; updatedAt: string; verifiedAt: string | null };

const CSV_FIELDS = ['index', 'path', 'name', 'extension', 'isDirectory', 'size', 'compressedSize', 'modifiedAt', 'sha256', 'md5', 'crcOk', 'deleted', 'tagged', 'flags', 'status'] as const;

/** One CSV cell: a value a spreadsheet would read as a formula gets a leading apostrophe; control characters are shown escaped. */
function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(' ') : clean(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const reasonOptions = (cmd: Command) =>
  cmd
    .addOption(new Option('--reason-code <code>', 'why you are consulting it (s.62 justification code)').choices(JUSTIFICATION_CODES).default('investigation'))
    .requiredOption('--reason <text>', 'the justification in words, 5-500 characters');

/** `dems extraction`: device extractions of a case (E01 sets, UFDR, ZIP exports, UFD): verification state and inventory. */
export function registerExtractionCommands(program: Command): void {
  const extraction = program.command('extraction').description('device extractions: verification state, inventory, the analyst workflow and exports');

  reasonOptions(extraction.command('status <case>'))
    .description('every extraction set of a case with its state, outcome and missing segments (an s.62 consultation: give a reason)')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, opts: { reasonCode: string; reason: string; json?: boolean }) => {
      const api = new ApiClient();
      const { id } = await resolveCase(api, ref);
      const { body } = await api.get<ExtractionRow[]>(`/api/v1/cases/${id}/extractions`, { headers: justificationHeaders(opts) });
      if (opts.json) return printJson(body);
      printTable(
        ['exhibit', 'extraction id', 'kind', 'status', 'files', 'entries', 'reason'],
        body.map((x) => [
          x.exhibitReference,
          x.id,
          x.kind,
          x.status,
          truncate(x.members.map((m) => m.filename ?? m.fileId).join(', '), 40),
          String(x.entryCount),
          truncate(x.outcome.reason ?? (x.warnings.length ? x.warnings.map((w) => w.message).join('; ') : ''), 70),
        ]),
        'no extractions on this case',
      );
      if (body.some((x) => x.state === 'failed')) process.exitCode = 1;
    });

  reasonOptions(extraction.command('inventory <case> <extractionId>'))
    .description("the entries of a ZIP-based extraction (UFDR, GrayKey, other exports), searchable (an s.62 consultation: give a reason)")
    .option('--q <text>', 'path substring or name prefix')
    .option('--extension <ext>', 'file extension, e.g. jpg')
    .option('--sha256 <hash>', 'SHA-256 of an entry')
    .option('--deleted <bool>', 'true or false (from the UFDR report)')
    .option('--limit <n>', 'at most this many entries (table and JSON)', '100')
    .option('--csv', 'every matching entry as CSV on standard output')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, extractionId: string, opts: { reasonCode: string; reason: string; q?: string; extension?: string; sha256?: string; deleted?: string; limit: string; csv?: boolean; json?: boolean }) => {
      const api = new ApiClient();
      const { id } = await resolveCase(api, ref);
      const wanted = opts.csv ? Infinity : Number(opts.limit);
      const entries: ExtractionEntryView[] = [];
      let cursor: string | null = null;
      do {
        const { body }: { body: { entries: ExtractionEntryView[]; nextCursor: string | null } } = await api.get(`/api/v1/cases/${id}/extractions/${encodeURIComponent(extractionId)}/entries`, {
          headers: justificationHeaders(opts),
          query: { q: opts.q, extension: opts.extension, sha256: opts.sha256, deleted: opts.deleted, limit: Math.min(1000, wanted - entries.length), cursor: cursor ?? undefined },
        });
        entries.push(...body.entries);
        cursor = body.nextCursor;
      } while (cursor !== null && entries.length < wanted);
      if (opts.csv) {
        process.stdout.write([CSV_FIELDS.join(','), ...entries.map((e) => CSV_FIELDS.map((f) => csvCell(e[f])).join(','))].join('\r\n') + '\r\n');
        return;
      }
      if (opts.json) return printJson({ entries, nextCursor: cursor });
      printTable(
        ['#', 'path', 'size', 'sha256', 'status', 'flags'],
        entries.map((e) => [String(e.index), truncate(e.path, 60), String(e.size), e.sha256 ? e.sha256.slice(0, 16) : '-', `${e.status}${e.deleted ? ' (deleted)' : ''}`, e.flags.join(' ')]),
        'no matching entries',
      );
      if (cursor !== null) console.log(`more entries follow: raise --limit or use --csv`);
    });

  registerExtractionWorkflowCommands(extraction, reasonOptions);
}

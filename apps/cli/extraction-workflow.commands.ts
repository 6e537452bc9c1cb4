import cliProgress from 'cli-progress';
import { type Command } from 'commander';
import { readFileSync } from 'node:fs';
import picomatch from 'picomatch';
import type { ExtractionEntryView, ExtractionExportView, ExtractionNoteView, ExtractionWorkflowView, StrategyVersionView } from '../../libs/evidence/index.js';
import { ApiClient, type ApiPath } from './api-client.js';
import { justificationHeaders, resolveCase } from './cases.commands.js';
import { ApiError } from './errors.js';
import { printDetails, printJson, printTable, say, truncate } from './output.js';

type Reason = { reasonCode: string; reason: string };

const base = (caseId: string, extractionId: string) => `/api/v1/cases/${caseId}/extractions/${encodeURIComponent(extractionId)}` as const;

/**
 * `dems extraction transition|note|notes|strategy|report|export`: the analyst's work on a device
 * extraction (docs/extraction.md, "Analyst workflow"), registered on `dems extraction`.
 */
export function registerExtractionWorkflowCommands(extraction: Command, reasonOptions: (cmd: Command) => Command): void {
  extraction
    .command('transition <case> <extractionId> <to>')
    .description('move the examination on: in_examination, examined (a report attached first) or not_examined')
    .option('--reason <text>', 'why (required to examine an extraction that did not verify, to reopen, and for not_examined)')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, extractionId: string, to: string, opts: { reason?: string; json?: boolean }) => {
      const api = new ApiClient();
      const { id } = await resolveCase(api, ref);
      const { body } = await api.post<ExtractionWorkflowView>(`${base(id, extractionId)}/transitions`, { to, reason: opts.reason });
      if (opts.json) return printJson(body);
      console.log(say`Extraction ${body.extractionId} (${body.exhibitReference}) is now ${body.status}`);
    });

  extraction
    .command('note <case> <extractionId> <text>')
    .description('add a note to an extraction (notes are never edited or removed)')
    .action(async (ref: string, extractionId: string, text: string) => {
      const api = new ApiClient();
      const { id } = await resolveCase(api, ref);
      const { body } = await api.post<ExtractionNoteView>(`${base(id, extractionId)}/notes`, { text });
      console.log(say`Note ${body.id} added at ${body.createdAt} (SHA-256 ${body.sha256})`);
    });

  reasonOptions(extraction.command('notes <case> <extractionId>'))
    .description("an extraction's notes, oldest first (an s.62 consultation: give a reason)")
    .option('--json', 'machine-readable output')
    .action(async (ref: string, extractionId: string, opts: Reason & { json?: boolean }) => {
      const api = new ApiClient();
      const { id } = await resolveCase(api, ref);
      const { body } = await api.get<ExtractionNoteView[]>(`${base(id, extractionId)}/notes`, { headers: justificationHeaders(opts) });
      if (opts.json) return printJson(body);
      printTable(['when', 'author', 'note'], body.map((n) => [String(n.createdAt), n.author.username, truncate(n.text, 90)]), 'no notes');
    });

  reasonOptions(extraction.command('strategy <case> <extractionId>'))
    .description('record a new version of the digital strategy from a JSON file (--file), or show the versions recorded')
    .option('--file <path>', 'the strategy record as JSON (investigativeQuestions, attribution, scope, proportionality, tools, …)')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, extractionId: string, opts: Reason & { file?: string; json?: boolean }) => {
      const api = new ApiClient();
      const { id } = await resolveCase(api, ref);
      if (opts.file) {
        let record: unknown;
        try {
          record = JSON.parse(readFileSync(opts.file, 'utf8'));
        } catch (e) {
          throw new ApiError(0, 'INVALID_STRATEGY_FILE', `${opts.file} is not readable JSON (${(e as Error).message})`);
        }
        const { body } = await api.post<StrategyVersionView>(`${base(id, extractionId)}/strategy`, record);
        if (opts.json) return printJson(body);
        console.log(say`Strategy version ${body.version} recorded (SHA-256 ${body.sha256})`);
        return;
      }
      const { body } = await api.get<StrategyVersionView[]>(`${base(id, extractionId)}/strategy`, { headers: justificationHeaders(opts) });
      if (opts.json) return printJson(body);
      const current = body[0];
      if (!current) return console.log('no strategy recorded');
      printDetails([
        ['version', `${current.version} of ${body.length}, by ${current.author.username} at ${String(current.createdAt)}`],
        ['scope', current.record.scope],
        ['questions', current.record.investigativeQuestions.join('\n')],
        ['attribution', current.record.attribution],
        ['proportionality', current.record.proportionality],
        ['not examined because', current.record.reasonNotExamined],
        ['date ranges', current.record.dateRanges.map((r) => `${r.from} to ${r.to}`).join('\n')],
        ['search terms', current.record.searchTerms.join(', ')],
        ['tools', current.record.tools.map((t) => `${t.name} ${t.version}`).join('\n')],
      ]);
    });

  extraction
    .command('report <case> <extractionId>')
    .description("attach a report: a sealed file uploaded (dems ingest) to a sub-exhibit of the extraction's exhibit")
    .requiredOption('--file-id <id>', 'the sealed report file')
    .requiredOption('--title <text>', 'what the report is')
    .action(async (ref: string, extractionId: string, opts: { fileId: string; title: string }) => {
      const api = new ApiClient();
      const { id } = await resolveCase(api, ref);
      const { body } = await api.post<{ id: string; exhibitReference: string; filename: string }>(`${base(id, extractionId)}/reports`, { fileId: opts.fileId, title: opts.title });
      console.log(say`Report ${body.filename} (${body.exhibitReference}) attached`);
    });

  reasonOptions(extraction.command('export <case> <extractionId>'))
    .description('export inventory entries as a new sub-exhibit, each file sealed with its source path and hash (an s.62 consultation: give a reason)')
    .option('--path <path...>', 'exact entry paths')
    .option('--pattern <glob...>', 'path patterns, e.g. "files/Image/**" (matched against the inventory)')
    .option('--sha256 <hash...>', 'SHA-256 hashes of entries')
    .option('--sha256-file <file>', 'a file of SHA-256 hashes, one a line (sha256sum output is accepted)')
    .option('--reference <ref>', 'the new sub-exhibit reference (default: the next free one)')
    .option('--description <text>', 'description of the new exhibit')
    .option('--no-wait', 'return once the export is queued')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, extractionId: string, opts: ExportOptions) => {
      const api = new ApiClient();
      const { id } = await resolveCase(api, ref);
      const headers = justificationHeaders(opts);
      const sha256s = [...(opts.sha256 ?? []), ...(opts.sha256File ? hashesFromFile(opts.sha256File) : [])];
      const indexes = opts.pattern ? await matchInventory(api, id, extractionId, opts.pattern, headers) : [];
      if (opts.pattern && indexes.length === 0) throw new ApiError(0, 'EXPORT_NOTHING_MATCHED', `No inventory entry matches ${opts.pattern.join(', ')}`);
      const { body: queued } = await api.post<ExtractionExportView>(
        `${base(id, extractionId)}/exports`,
        { reference: opts.reference, description: opts.description, paths: opts.path ?? [], indexes, sha256s },
        { ok: [202] },
      );
      const done = opts.wait ? await waitForExport(api, `${base(id, extractionId)}/exports/${queued.id}`, headers) : queued;
      if (opts.json) return printJson(done);
      console.log(say`Export ${done.id} into ${done.exhibitReference}: ${done.state}${done.failure ? ` (${done.failure.code}: ${done.failure.reason})` : ''}`);
      printTable(
        ['#', 'source path', 'size', 'sha256', 'file', 'state'],
        done.items.map((i) => [String(i.index), truncate(i.path, 60), String(i.size), i.sha256.slice(0, 16), i.fileId, i.fileState ?? 'pending']),
      );
      if (done.state === 'completed') console.log(say`Provenance ${done.provenanceVerified ? 'verified' : 'NOT verified'} (manifest SHA-256 ${done.manifestSha256})`);
      if (done.state === 'failed' || (done.state === 'completed' && !done.provenanceVerified)) process.exitCode = 1;
    });
}

interface ExportOptions extends Reason {
  path?: string[];
  pattern?: string[];
  sha256?: string[];
  sha256File?: string;
  reference?: string;
  description?: string;
  wait: boolean;
  json?: boolean;
}

/** The inventory indexes whose path matches one of the patterns (the inventory is read page by page). */
async function matchInventory(api: ApiClient, caseId: string, extractionId: string, patterns: string[], headers: Record<string, string | undefined>): Promise<number[]> {
  const matches = picomatch(patterns, { dot: true });
  const found: number[] = [];
  let cursor: string | null = null;
  do {
    const { body }: { body: { entries: ExtractionEntryView[]; nextCursor: string | null } } = await api.get(`${base(caseId, extractionId)}/entries`, {
      headers,
      query: { limit: 1000, cursor: cursor ?? undefined },
    });
    for (const e of body.entries) if (!e.isDirectory && matches(e.path)) found.push(e.index);
    cursor = body.nextCursor;
  } while (cursor !== null);
  return found;
}

function hashesFromFile(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((h) => h && !h.startsWith('#'));
}

/** Polls the export until it settles, with a progress bar of files sealed on a terminal. */
async function waitForExport(api: ApiClient, path: ApiPath<'get'>, headers: Record<string, string | undefined>): Promise<ExtractionExportView> {
  const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'export [{bar}] {value}/{total} files sealed', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
  let started = false;
  try {
    for (;;) {
      const { body } = await api.get<ExtractionExportView>(path, { headers });
      const sealed = body.items.filter((i) => i.fileState === 'sealed').length;
      if (bar && !started) bar.start(body.items.length, sealed);
      started = true;
      bar?.update(sealed);
      if (body.state === 'completed' || body.state === 'failed') return body;
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    bar?.stop();
  }
}

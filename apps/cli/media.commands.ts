import { Option, type Command } from 'commander';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JUSTIFICATION_CODES } from '../../libs/custody/custody-recorder.js';
import type { MediaView as ApiMediaView } from '../../libs/evidence/index.js';
import { MediaService, type ProvenanceRecord, type ReproductionReport } from '../../libs/media/index.js';
import { ApiClient } from './api-client.js';
import { ApiError } from './errors.js';
import { justificationHeaders, resolveCase } from './cases.commands.js';
import { printJson, printTable, truncate } from './output.js';

type MediaRow = Omit<ApiMediaView, 'updatedAt' | 'derivatives'> & {
  updatedAt: string;
  derivatives: { kind: string; role: string; reference: string; sha256: string; quality: string }[];
  exhibitReference: string;
  filename: string;
};

/** `dems media`: working copies of a case's sealed media, for analysts and investigators. */
export function registerMediaCommands(program: Command): void {
  const media = program.command('media').description('working copies of sealed media (state, derivatives, retries)');

  media
    .command('status <case>')
    .description("every sealed file of a case with its media state, progress and working copies (an s.62 consultation: give a reason)")
    .addOption(new Option('--reason-code <code>', 'why you are consulting it (s.62 justification code)').choices(JUSTIFICATION_CODES).default('investigation'))
    .requiredOption('--reason <text>', 'the justification in words, 5-500 characters')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, opts: { reasonCode: string; reason: string; json?: boolean }) => {
      const api = new ApiClient();
      const { id } = await resolveCase(api, ref);
      const { body } = await api.get<MediaRow[]>(`/api/v1/cases/${id}/media`, { headers: justificationHeaders(opts) });
      if (opts.json) return printJson(body);
      printTable(
        ['exhibit', 'file', 'file id', 'kind', 'state', 'working copies', 'reason'],
        body.map((f) => [
          f.exhibitReference,
          truncate(f.filename, 30),
          f.fileId,
          f.kind ?? '-',
          f.state === 'processing' ? `processing ${f.progress}%` : f.state,
          f.derivatives.map((d) => `${d.kind}${d.quality === 'with-decode-errors' ? ' (decode errors)' : ''}`).join(', ') || '-',
          truncate(f.failure?.reason ?? (f.warnings.length ? f.warnings.join('; ') : ''), 60),
        ]),
        'no sealed files on this case',
      );
      // A failed or unusable file is not an error of the command, but scripts want to know.
      if (body.some((f) => f.state === 'failed')) process.exitCode = 1;
    });

  media
    .command('retry <case> <fileId>')
    .description('make the working copies of a file again (failed, needs a specialist tool, or partial)')
    .option('--json', 'machine-readable output')
    .action(async (ref: string, fileId: string, opts: { json?: boolean }) => {
      const api = new ApiClient();
      const { id } = await resolveCase(api, ref);
      const { body } = await api.post<MediaRow>(`/api/v1/cases/${id}/files/${encodeURIComponent(fileId)}/media/retry`, {}, { ok: [202] });
      if (opts.json) return printJson(body);
      console.log(`queued again: file ${body.fileId} (retry ${body.retries}); follow it with dems media status`);
    });

  media
    .command('reproduce <derivative>')
    .description(
      "run a working copy's recorded command again on the original, with the tools installed here, and say whether the output is identical (and what differs if not). " +
        '<derivative> is a JSON file holding its record (or its provenance), or a derivative id read from the service with --case',
    )
    .requiredOption('--original <file>', 'the original the working copy was made from (its hash is checked against the record)')
    .option('--case <case>', 'read the record of derivative id <derivative> from this case (an s.62 consultation: give a reason)')
    .addOption(new Option('--reason-code <code>', 'why you are consulting it (s.62 justification code)').choices(JUSTIFICATION_CODES).default('investigation'))
    .option('--reason <text>', 'the justification in words, 5-500 characters (with --case)')
    .option('--out <dir>', 'where the reproduced file is left (default: a new temporary folder)')
    .option('--json', 'machine-readable output')
    .action(async (derivative: string, opts: { original: string; case?: string; reasonCode: string; reason?: string; out?: string; json?: boolean }) => {
      const record = await provenanceOf(derivative, opts);
      const outDir = opts.out ?? mkdtempSync(join(tmpdir(), 'dems-reproduce-'));
      const report = await new MediaService().reproduce(record, opts.original, outDir);
      if (opts.json) printJson(report);
      else printReport(report);
      // Scripts (and the expert) can tell: 0 identical, 1 anything else.
      if (!('identical' in report) || !report.identical) process.exitCode = 1;
    });
}

/** The provenance record: from a file (a derivative record or the bare provenance), or from the service. */
async function provenanceOf(derivative: string, opts: { case?: string; reasonCode: string; reason?: string }): Promise<ProvenanceRecord> {
  let record: { provenance?: ProvenanceRecord } & Partial<ProvenanceRecord>;
  if (!opts.case) {
    if (!existsSync(derivative)) throw new ApiError(0, 'RECORD_NOT_FOUND', `${derivative} is not a file; to read a derivative by id from the service, give --case`);
    record = JSON.parse(readFileSync(derivative, 'utf8')) as typeof record;
  } else {
    if (!opts.reason) throw new ApiError(0, 'JUSTIFICATION_REQUIRED', 'reading a record from the service is an s.62 consultation: give --reason');
    const api = new ApiClient();
    const { id } = await resolveCase(api, opts.case);
    record = (await api.get<typeof record>(`/api/v1/cases/${id}/derivatives/${encodeURIComponent(derivative)}`, { headers: justificationHeaders(opts) })).body;
  }
  const provenance = record.provenance ?? record;
  if (!Array.isArray(provenance.steps) || !Array.isArray(provenance.outputs) || !provenance.input?.sha256) {
    throw new ApiError(0, 'NOT_A_PROVENANCE_RECORD', 'the record has no steps, outputs and input hash: give the JSON of a derivative (GET /cases/{caseId}/derivatives/{id}) or its provenance');
  }
  return provenance as ProvenanceRecord;
}

function printReport(report: ReproductionReport | { unsupported: string }): void {
  if (!('identical' in report)) {
    console.log(`not reproducible by one command: ${report.unsupported}`);
    return;
  }
  const out = report.outputs[0];
  console.log(`${report.derivative} (${report.recipeVersion})`);
  console.log(`original   ${report.original.matches ? 'same as recorded' : 'DIFFERENT'}  ${report.original.sha256}`);
  for (const t of report.tools) console.log(`${t.name.padEnd(10)} ${t.matches ? 'same as recorded' : 'DIFFERENT'}  ${t.current}`);
  console.log(`command    ffmpeg ${report.steps[0].args.join(' ')}  (exit ${report.steps[0].exitCode ?? '-'})`);
  console.log(`output     ${out.sha256 ?? '-'}${out.path ? `  ${out.path}` : ''}`);
  console.log(`recorded   ${out.recordedSha256}`);
  console.log(report.identical ? 'IDENTICAL: the recorded command reproduces the working copy bit for bit' : 'NOT IDENTICAL');
  for (const d of report.differences) console.log(`- ${d}`);
}

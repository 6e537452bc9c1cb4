import { Option, type Command } from 'commander';
import { JUSTIFICATION_CODES } from '../../libs/custody/custody-recorder.js';
import type { MediaView as ApiMediaView } from '../../libs/evidence/index.js';
import { ApiClient } from './api-client.js';
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
}

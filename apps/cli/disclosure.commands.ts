import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import cliProgress from 'cli-progress';
import { Option, type Command } from 'commander';
import { AppError } from '../../libs/core/index.js';
import { verifyBundle } from '../../libs/disclosure/index.js';
import { ApiClient } from './api-client.js';
import { justificationHeaders, resolveCase } from './cases.commands.js';
import { ApiError } from './errors.js';
import { printJson, printTable } from './output.js';

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new AppError('FILE_UNREADABLE', `Cannot read ${file} (${(e as Error).message})`);
  }
}

const keyArg = (v: string | undefined) => (v === undefined ? undefined : v.startsWith('@') ? readText(v.slice(1)).trim() : v.trim());

/** `dems verify bundle`: offline, no network and no database. */
function registerVerifyBundle(program: Command): void {
  const verify = program.commands.find((c) => c.name() === 'verify') ?? program.command('verify').description('check the custody ledger');
  verify
    .command('bundle')
    .description('check a disclosure bundle offline: every file against the signed manifest, SHA256SUMS, the manifest signature, each custody extract against the signed checkpoint')
    .argument('<file>', 'the bundle ZIP')
    .option('--allowed-signers <file>', 'the allowed_signers file the force gave you separately (default: the copy inside the bundle, which proves less)')
    .option('--ledger-key <verifierKey>', 'the ledger verifier key, or @file (default: the copy inside the bundle, which proves less)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, opts: { allowedSigners?: string; ledgerKey?: string; json?: boolean }) => {
      if (!existsSync(file)) throw new AppError('FILE_UNREADABLE', `No file ${file}`);
      const verdict = await verifyBundle(file, { allowedSigners: opts.allowedSigners ? readText(opts.allowedSigners) : undefined, ledgerKey: keyArg(opts.ledgerKey) });
      if (opts.json) printJson(verdict);
      else {
        const c = verdict.checked;
        if (verdict.ok) console.log(`bundle OK: ${c.files} files match the signed manifest; ${c.custodyExtracts} custody extract(s), ${c.custodyEvents} events, proven against the signed log of size ${c.treeSize}`);
        else {
          console.log(`bundle FAILED: ${verdict.problems.length} problem(s)`);
          for (const p of verdict.problems) console.log(`  - ${p}`);
        }
        for (const w of verdict.warnings) console.log(`note: ${w}`);
      }
      process.exitCode = verdict.ok ? 0 : 1;
    });
}

interface BundleView {
  id: string;
  version: number;
  audience: string;
  state: string;
  failure: { code: string; reason: string } | null;
  size: number | null;
  sha256: string | null;
}

/** A refusal as the CLI reports it: the API's `{code, message}`, or the storage server's status. */
async function refusal(res: Response, source: string): Promise<ApiError> {
  const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
  return new ApiError(res.status, body.code ?? `${source}_HTTP_${res.status}`, body.message ?? `${source} answered ${res.status} ${res.statusText}`);
}

/**
 * Resumable download: bytes go to `<out>.part`, the bundle's identity (its SHA-256, quoted as the
 * API's ETag) to `<out>.part.etag`; a second run fetches only the rest with Range. By default the
 * bytes come straight from storage through a presigned URL (a new one each run: they are
 * short-lived); with `viaApi` they stream through the API, resuming with If-Range. Either way a
 * part of another bundle is never spliced in, and the finished file is checked against the
 * SHA-256 before it takes its name.
 */
export async function downloadBundle(
  api: ApiClient,
  bundleId: string,
  out: string,
  opts: { progress?: boolean; headers?: Record<string, string | undefined>; signal?: AbortSignal; viaApi?: boolean } = {},
): Promise<{ size: number; sha256: string; resumedFrom: number }> {
  const part = `${out}.part`;
  const etagFile = `${part}.etag`;
  let have = existsSync(part) ? statSync(part).size : 0;
  const known = existsSync(etagFile) ? readFileSync(etagFile, 'utf8').trim() : undefined;
  if (have && !known) have = 0;
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) extra[k] = v;
  let res: Response | undefined;
  let expected: string;
  if (opts.viaApi) {
    const headers: Record<string, string> = { authorization: `Bearer ${api.token()}`, ...extra };
    if (have) Object.assign(headers, { range: `bytes=${have}-`, 'if-range': known! });
    res = await fetch(`${api.apiUrl}/api/v1/disclosure/bundles/${encodeURIComponent(bundleId)}/download`, { headers, signal: opts.signal });
    if (![200, 206, 416].includes(res.status)) throw await refusal(res, 'API');
    expected = res.status === 416 ? known! : (res.headers.get('etag') ?? '');
  } else {
    const link = (await api.post<{ url: string; sha256: string; size: number }>(`/api/v1/disclosure/bundles/${encodeURIComponent(bundleId)}/download-url`, {}, { headers: extra, ok: [200] })).body;
    expected = `"${link.sha256}"`;
    if (known !== expected) have = 0; // another bundle's bytes (or none): start afresh
    if (have < link.size) {
      res = await fetch(link.url, { headers: have ? { range: `bytes=${have}-` } : {}, signal: opts.signal });
      if (![200, 206].includes(res.status)) throw await refusal(res, 'STORAGE');
    }
  }
  if (res?.status === 200) have = 0;
  writeFileSync(etagFile, expected);
  const resumedFrom = res?.status === 206 ? have : 0;
  if (res && res.status !== 416 && res.body) {
    const total = have + Number(res.headers.get('content-length') ?? 0);
    const bar = opts.progress ? new cliProgress.SingleBar({ format: 'download [{bar}] {percentage}% {value}/{total} bytes' }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(total, have);
    let done = have;
    const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    body.on('data', (c: Buffer) => bar?.update((done += c.length)));
    try {
      await pipeline(body, createWriteStream(part, { flags: resumedFrom ? 'a' : 'w' }));
    } finally {
      bar?.stop();
    }
  }
  const h = createHash('sha256');
  await pipeline(createReadStream(part), h);
  const sha256 = h.digest('hex');
  const size = statSync(part).size;
  if (`"${sha256}"` !== expected) {
    throw new AppError('DOWNLOAD_MISMATCH', `The downloaded bytes (SHA-256 ${sha256}) are not the bundle's (${expected}); the partial file was kept at ${part}: run the command again`);
  }
  renameSync(part, out);
  unlinkSync(etagFile);
  return { size, sha256, resumedFrom };
}

export function registerDisclosureCommands(program: Command): void {
  registerVerifyBundle(program);
  const d = program.command('disclosure').description('MG6 schedules and disclosure bundles for the CPS');
  const reason = () => [new Option('--reason-code <code>', 's.62 reason code'), new Option('--reason <text>', 's.62 reason text')];

  const schedule = d
    .command('schedule')
    .description('add a version of a schedule (--entries or --nil), or export one (--format csv|pdf --out file)')
    .argument('<case>', 'URN or case id')
    .addOption(new Option('--schedule <type>', 'which schedule').choices(['MG6C', 'MG6D', 'MG6E']).makeOptionMandatory())
    .option('--entries <file.json>', 'a JSON array of entries: {"itemNumber"?: n, "exhibitId"?: id, "fields": {…}}')
    .option('--nil <statement>', 'certify a nil MG6D with this statement')
    .addOption(new Option('--format <format>', 'export format').choices(['json', 'csv', 'pdf']))
    .option('--version <n>', 'version to export (default latest)')
    .option('--out <file>', 'write the export here')
    .option('--json', 'machine-readable output');
  for (const o of reason()) schedule.addOption(o);
  schedule.action(async (ref: string, opts: { schedule: string; entries?: string; nil?: string; format?: string; version?: string; out?: string; json?: boolean; reasonCode?: string; reason?: string }) => {
    const api = new ApiClient();
    const headers = justificationHeaders(opts as never);
    const { id } = await resolveCase(api, ref);
    if (opts.entries || opts.nil) {
      const body = { schedule: opts.schedule, entries: opts.entries ? (JSON.parse(readText(opts.entries)) as unknown[]) : [], ...(opts.nil ? { nilCertification: { statement: opts.nil } } : {}) };
      const v = (await api.post<{ version: number; entries: { itemNumber: number }[] }>(`/api/v1/cases/${id}/disclosure/schedules`, body, { headers })).body;
      if (opts.json) return printJson(v);
      console.log(`${opts.schedule} version ${v.version}: items ${v.entries.map((e) => e.itemNumber).join(', ') || '(nil return)'}`);
      return;
    }
    const format = opts.format ?? 'json';
    const res = await fetch(`${api.apiUrl}/api/v1/cases/${id}/disclosure/schedules/${opts.schedule}/${opts.version ?? 'latest'}?format=${format}`, { headers: { authorization: `Bearer ${api.token()}`, ...(headers as Record<string, string>) } });
    if (!res.ok) {
      const b = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
      throw new ApiError(res.status, b.code ?? `HTTP_${res.status}`, b.message ?? res.statusText);
    }
    const data = Buffer.from(await res.arrayBuffer());
    if (opts.out) {
      writeFileSync(opts.out, data);
      console.log(`wrote ${opts.out} (${data.length} bytes)`);
    } else process.stdout.write(data);
  });

  const bundle = d
    .command('bundle')
    .description('request a bundle of sealed originals and schedules (the worker builds it); --wait follows it to ready or failed')
    .argument('<case>', 'URN or case id')
    .option('--exhibit <id...>', 'every sealed original of these exhibits')
    .option('--file <id...>', 'these evidence files')
    .option('--copy <id...>', 'these working copies (derivatives)')
    .option('--working-copies', 'also every video and audio working copy of the chosen originals')
    .option('--schedules <list>', 'schedules to include, e.g. MG6C,MG6E')
    .option('--cps-only', 'a CPS-only bundle (the only kind that may hold MG6D material)')
    .option('--supplementary', 'only what the earlier bundles of the case did not hold')
    .option('--wait', 'wait until it is built')
    .option('--json', 'machine-readable output');
  for (const o of reason()) bundle.addOption(o);
  bundle.action(async (ref: string, opts: { exhibit?: string[]; file?: string[]; copy?: string[]; workingCopies?: boolean; schedules?: string; cpsOnly?: boolean; supplementary?: boolean; wait?: boolean; json?: boolean; reasonCode?: string; reason?: string }) => {
    const api = new ApiClient();
    const headers = justificationHeaders(opts as never);
    const { id } = await resolveCase(api, ref);
    const body = { exhibitIds: opts.exhibit ?? [], evidenceFileIds: opts.file ?? [], derivativeIds: opts.copy ?? [], workingCopies: !!opts.workingCopies, schedules: opts.schedules ? opts.schedules.split(',').map((s) => s.trim().toUpperCase()) : [], audience: opts.cpsOnly ? 'cps_only' : 'cps_and_defence', supplementary: !!opts.supplementary };
    let b = (await api.post<BundleView>(`/api/v1/cases/${id}/disclosure/bundles`, body, { headers, ok: [202] })).body;
    while (opts.wait && (b.state === 'queued' || b.state === 'building')) {
      await new Promise((r) => setTimeout(r, 1000));
      b = (await api.get<BundleView>(`/api/v1/disclosure/bundles/${b.id}`, { headers })).body;
    }
    if (opts.json) return printJson(b);
    printTable(['bundle', 'version', 'audience', 'state', 'bytes', 'SHA-256'], [[b.id, String(b.version), b.audience, b.state, String(b.size ?? ''), b.sha256 ?? '']]);
    if (b.failure) console.log(`failed: ${b.failure.code}: ${b.failure.reason}`);
    if (b.state === 'failed') process.exitCode = 1;
  });

  const share = d
    .command('share')
    .description('share a ready bundle with a CPS user until an expiry, or revoke a share at once')
    .argument('<bundleId>', 'bundle id')
    .option('--to <userId>', 'the CPS user (role cps_prosecutor)')
    .option('--expires <time>', 'ISO 8601 expiry, e.g. 2027-01-31T17:00:00Z')
    .option('--revoke <shareId>', 'revoke this share')
    .option('--json', 'machine-readable output');
  for (const o of reason()) share.addOption(o);
  share.action(async (bundleId: string, opts: { to?: string; expires?: string; revoke?: string; json?: boolean; reasonCode?: string; reason?: string }) => {
    const api = new ApiClient();
    const headers = justificationHeaders(opts as never);
    if (opts.revoke) {
      await api.delete(`/api/v1/disclosure/bundles/${bundleId}/shares/${opts.revoke}`, { headers });
      console.log(`share ${opts.revoke} revoked`);
      return;
    }
    if (!opts.to || !opts.expires) throw new AppError('INVALID_ARGUMENTS', 'Give --to <userId> and --expires <time>, or --revoke <shareId>');
    const s = (await api.post<{ id: string; recipient: string; expiresAt: string }>(`/api/v1/disclosure/bundles/${bundleId}/shares`, { recipientId: opts.to, expiresAt: opts.expires }, { headers })).body;
    if (opts.json) return printJson(s);
    console.log(`shared with ${s.recipient} until ${s.expiresAt} (share ${s.id})`);
  });

  const download = d
    .command('download')
    .description('download a bundle shared with you (straight from storage by a short-lived presigned URL); run again to resume an interrupted download')
    .argument('<bundleId>', 'bundle id')
    .requiredOption('--out <file.zip>', 'where to write it')
    .option('--via-api', 'stream through the API instead (when storage cannot be reached directly)')
    .option('--no-progress', 'no progress bar');
  for (const o of reason()) download.addOption(o);
  download.action(async (bundleId: string, opts: { out: string; progress: boolean; viaApi?: boolean; reasonCode?: string; reason?: string }) => {
    const api = new ApiClient();
    const r = await downloadBundle(api, bundleId, opts.out, { progress: opts.progress && process.stderr.isTTY, viaApi: opts.viaApi, headers: justificationHeaders(opts as never) });
    console.log(`${opts.out}: ${r.size} bytes, SHA-256 ${r.sha256}${r.resumedFrom ? ` (resumed at byte ${r.resumedFrom})` : ''}; check it with: dems verify bundle ${opts.out}`);
  });
}

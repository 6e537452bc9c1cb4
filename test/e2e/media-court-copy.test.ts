import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startWorker } from '../../apps/worker/bootstrap.js';
import type { CourtCopyView, MediaView } from '../../libs/evidence/index.js';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../support/api-harness.js';
import { CLI, cliOptions } from '../support/test-env.js';
import { tusUpload, uploadIdOf } from '../support/tus.js';

const run = promisify(execFile);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Court copies on request (real API, worker, ffmpeg, PostgreSQL, Redis, S3), and `dems media
 * reproduce`: the recorded command, run again on the original, gives the same bytes.
 */
describe('media: court copies on request, and reproducing a working copy', () => {
  const h = new ApiHarness();
  let worker: INestApplicationContext;
  let oic: TestUser;
  let reviewer: TestUser;
  let caseId: string;
  const dir = mkdtempSync(join(tmpdir(), 'dems-court-copy-e2e-'));
  const clip = join(dir, 'cctv.mp4');
  const clip2 = join(dir, 'cctv2.mp4');
  let original: Buffer;
  const file = { clocked: '', unclocked: '' };
  const exhibit = { clocked: '', unclocked: '' };

  const media = async (exhibitId: string): Promise<MediaView> => {
    const res = await h.call('GET', `/api/v1/cases/${caseId}/exhibits/${exhibitId}/media`, { token: oic.token, headers: JUSTIFY });
    expect(res.status).toBe(200);
    return (res.body as unknown as MediaView[])[0];
  };
  const settle = async (exhibitId: string, done: (v: MediaView) => boolean, what: string): Promise<MediaView> => {
    const deadline = Date.now() + 240_000;
    for (;;) {
      const v = await media(exhibitId);
      if (done(v)) return v;
      if (Date.now() > deadline) throw new Error(`${what} not settled: ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const askCourtCopy = (fileId: string, body: unknown, token = oic.token) => h.call('POST', `/api/v1/cases/${caseId}/files/${fileId}/media/court-copies`, { token, body });

  beforeAll(async () => {
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=2', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', clip]);
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', clip2]);
    original = readFileSync(clip);
    await h.start({ QUEUE_PREFIX: `dems-test-court-${randomBytes(3).toString('hex')}`, JOB_RETRY_DELAY_SCALE: 0.01 });
    worker = await startWorker(h.config, { shutdownHooks: false });
    oic = await h.user('court-oic', 'investigator');
    reviewer = await h.user('court-reviewer', 'investigator');
    caseId = (await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Court copy case' } })).body.id as string;
    expect((await h.call('PUT', `/api/v1/cases/${caseId}/members/${reviewer.id}`, { token: oic.token, body: { caseRole: 'reviewer' } })).status).toBeLessThan(300);
    const exhibits: [keyof typeof exhibit, Record<string, unknown>][] = [
      ['clocked', { reference: 'CC/1', retrieval: { system: 'Hikvision DS-7608', clockOffsetSeconds: -93, timeZone: 'Europe/London' } }],
      ['unclocked', { reference: 'CC/2' }],
    ];
    for (const [name, body] of exhibits) {
      const x = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, { token: oic.token, body: { ...body, sourceType: 'cctv', description: 'DVR export', producer: 'C C' } });
      expect(x.status).toBe(201);
      exhibit[name] = x.body.id as string;
      // The second exhibit gets other bytes (a copy of the first would be flagged as a duplicate).
      const bytes = name === 'clocked' ? original : readFileSync(clip2);
      const r = await tusUpload(`${h.base}/api/v1/uploads`, oic.token, bytes, { metadata: { caseId, exhibitId: exhibit[name], filename: 'cctv.mp4', sha256: sha256(bytes) } });
      expect(r.error).toBeUndefined();
      file[name] = uploadIdOf(r.url);
    }
    for (const name of ['clocked', 'unclocked'] as const) await settle(exhibit[name], (v) => v?.state === 'ready', `working copies of ${name}`);
  }, 600_000);

  afterAll(async () => {
    await worker?.close();
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses without the exhibit clock offset and zone, for a time the clocks skipped, and for those who may not add evidence', async () => {
    const noClock = await askCourtCopy(file.unclocked, { recorderTimeAtStart: '2026-11-20T09:58:12' });
    expect([noClock.status, noClock.body.code]).toEqual([409, 'COURT_COPY_NEEDS_RETRIEVAL_CLOCK']);
    const skipped = await askCourtCopy(file.clocked, { recorderTimeAtStart: '2026-03-29T01:30:00' });
    expect([skipped.status, skipped.body.code]).toEqual([400, 'COURT_COPY_INVALID_TIME']);
    expect(skipped.body.message).toMatch(/skipped/);
    const malformed = await askCourtCopy(file.clocked, { recorderTimeAtStart: 'yesterday at noon', extra: 1 });
    expect([malformed.status, malformed.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const byReviewer = await askCourtCopy(file.clocked, { recorderTimeAtStart: '2026-11-20T09:58:12' }, reviewer.token);
    expect(byReviewer.status).toBe(403);
    expect(await h.ds.query(`SELECT id FROM court_copy_requests WHERE case_id = $1`, [caseId])).toEqual([]);
  });

  it('makes a court copy on request: caption computed from the exhibit clock, every frame kept, provenance and custody events recorded', async () => {
    const asked = await askCourtCopy(file.clocked, { recorderTimeAtStart: '2026-11-20T09:58:12' });
    expect(asked.status).toBe(202);
    const request = asked.body as unknown as CourtCopyView;
    expect(request).toMatchObject({ state: 'pending', caption: { exhibitReference: 'CC/1', clockOffsetSeconds: -93, timeZone: 'Europe/London', maxHeight: 720 } });
    const v = await settle(exhibit.clocked, (m) => m.courtCopies.some((c) => c.id === request.id && ['ready', 'failed'].includes(c.state)), 'court copy');
    const done = v.courtCopies.find((c) => c.id === request.id)!;
    expect(done).toMatchObject({ state: 'ready', progress: 100 });
    const cc = v.derivatives.find((d) => d.id === done.derivativeId)!;
    expect(cc).toMatchObject({ kind: 'court-copy', mime: 'video/mp4', quality: 'complete' });
    expect(cc.reference).toMatch(/^CC\/1-CC-/);
    // The recorder ran 93 s slow: 09:58:12 on its clock (GMT in November) is 09:59:45 true time.
    const caption = (cc.summary as { caption: { trueTimeAtStreamZeroUtc: string; examples: { streamSeconds: number; shownAs: string }[] } }).caption;
    expect(caption.trueTimeAtStreamZeroUtc).toBe('2026-11-20T09:59:45.000Z');
    expect(caption.examples[0].shownAs).toBe('CC/1  2026-11-20 09:59:45.000 GMT');

    const bytes = Buffer.from(await (await fetch(`${h.base}/api/v1/cases/${caseId}/exhibits/${exhibit.clocked}/files/${file.clocked}/derivatives/${cc.id}/content`, { headers: { authorization: `Bearer ${oic.token}`, ...JUSTIFY } })).arrayBuffer());
    expect(sha256(bytes)).toBe(cc.sha256);
    const copy = join(dir, 'court-copy.mp4');
    writeFileSync(copy, bytes);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'json', copy]);
    expect(JSON.parse(stdout).streams[0]).toEqual({ codec_name: 'h264', nb_read_frames: '50' });
    // The caption is really there: the court copy's pixels differ from the working copy's.
    const wc = v.derivatives.find((d) => d.kind === 'video-working-copy')!;
    expect(cc.sha256).not.toBe(wc.sha256);

    const [row] = await h.ds.query(`SELECT provenance FROM derivatives WHERE id = $1`, [cc.id]);
    expect(row.provenance.input.sha256).toBe(sha256(original));
    expect(row.provenance.tools.ffmpeg).toMatch(/^ffmpeg version /);
    const encode = row.provenance.steps.find((s: { args: string[] }) => s.args.includes('{output}'));
    expect(encode.env).toMatchObject({ TZ: 'Europe/London' });
    expect(encode.args.join(' ')).toMatch(/drawtext=.*CC\/1/);
    const events = await h.ds.query(
      `SELECT type, actor_id, details FROM custody_events WHERE case_id = $1 AND (type = 'court_copy.requested' OR (type = 'derivative.created' AND object_id = $2)) ORDER BY leaf_index`,
      [caseId, cc.id],
    );
    expect(events.map((e: { type: string }) => e.type)).toEqual(['court_copy.requested', 'derivative.created']);
    expect(events[0]).toMatchObject({ actor_id: oic.id, details: { request: request.id, caption: { recorderTimeAtStart: '2026-11-20T09:58:12' } } });
    expect(events[1].details).toMatchObject({ kind: 'court-copy', master: { evidenceFileId: file.clocked, sha256: sha256(original) }, variant: expect.stringMatching(/^[0-9a-f]{16}$/) });

    // The same caption again: the same request and copy, no second derivative.
    const again = await askCourtCopy(file.clocked, { recorderTimeAtStart: '2026-11-20T09:58:12' });
    expect([again.status, again.body.id, again.body.derivativeId]).toEqual([200, request.id, cc.id]);
    expect((await h.ds.query(`SELECT count(*)::int AS n FROM derivatives WHERE evidence_file_id = $1 AND kind = 'court-copy'`, [file.clocked]))[0].n).toBe(1);
  });

  it('dems media reproduce re-runs the recorded command on the original: identical, or says what differs', async () => {
    const v = await media(exhibit.clocked);
    const env = { DEMS_API_URL: h.base, DEMS_TOKEN: oic.token, DEMS_CONFIG_DIR: dir };
    for (const kind of ['video-working-copy', 'court-copy']) {
      const d = v.derivatives.find((x) => x.kind === kind)!;
      const out = mkdtempSync(join(dir, 'rep-'));
      const res = await run('node', [CLI, 'media', 'reproduce', d.id, '--case', caseId, '--original', clip, '--reason', 'defence expert check', '--out', out, '--json'], cliOptions(env));
      const report = JSON.parse(res.stdout);
      expect(report).toMatchObject({ identical: true, differences: [], original: { matches: true }, outputs: [{ sha256: d.sha256, matches: true }] });
      expect(sha256(readFileSync(report.outputs[0].path))).toBe(d.sha256);
    }
    // An outside expert with the record as a file and a different original: told plainly.
    const wc = v.derivatives.find((x) => x.kind === 'video-working-copy')!;
    const record = await h.call('GET', `/api/v1/cases/${caseId}/derivatives/${wc.id}`, { token: oic.token, headers: JUSTIFY });
    expect(record.status).toBe(200);
    writeFileSync(join(dir, 'record.json'), JSON.stringify(record.body));
    const other = join(dir, 'other.mp4');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30', other]);
    const failed = (await run('node', [CLI, 'media', 'reproduce', join(dir, 'record.json'), '--original', other], cliOptions(env)).catch((e) => e)) as { code: number; stdout: string };
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/NOT IDENTICAL/);
    expect(failed.stdout).toMatch(/not the same file/);
    const consulted = await h.ds.query(`SELECT count(*)::int AS n FROM custody_events WHERE type = 'derivative.consulted' AND case_id = $1`, [caseId]);
    expect(consulted[0].n).toBeGreaterThanOrEqual(3);
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { LedgerService, verifyLedger } from '../../libs/custody/index.js';
import { EvidenceFilesService } from '../../libs/evidence/index.js';
import { chainHash, encodeLedgerEvent, leafHash, verifierKeyFromSigner, verifyCaseLog, verifyInclusion, type LedgerEvent } from '../../libs/ledger/index.js';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../support/api-harness.js';
import { createScratchDatabase } from '../support/test-env.js';
import { tusUpload, uploadIdOf } from '../support/tus.js';

/**
 * Every endpoint x every kind of caller, from one table. The last test compares the table with
 * the routes the API actually serves (its OpenAPI document), so a new endpoint cannot be added
 * without deciding who may call it. The case also holds OFFICIAL-SENSITIVE material (an exhibit,
 * its sub-exhibit, a sealed file, and a copy of that file in a visible exhibit): every answer to
 * a caller outside the case is checked to say nothing of it.
 */

/** Callers who are not members of the matrix case: they must never see its OFFICIAL-SENSITIVE items. */
const OUTSIDE: Actor[] = ['outsider', 'supervisorNoReason', 'supervisorWithReason', 'auditorNoReason', 'auditorWithReason', 'cps', 'admin', 'anonymous'];
/**
 * Oversight routes for auditors and administrators, not scoped to a case: the s.62 log and fixity
 * reports name every object by id, storage key and hash (never by reference, file name or
 * description), so that all processing and every stored object can be overseen (README).
 */
const OVERSIGHT_ROUTES = new Set(['/api/v1/audit/events', '/api/v1/fixity/runs', '/api/v1/fixity/runs/{runId}']);

type Actor =
  | 'oic' | 'investigator' | 'analyst' | 'discloser' | 'reviewer'
  | 'outsider' | 'supervisorNoReason' | 'supervisorWithReason' | 'auditorNoReason' | 'auditorWithReason'
  | 'cps' | 'admin' | 'anonymous';
const ACTORS: Actor[] = ['oic', 'investigator', 'analyst', 'discloser', 'reviewer', 'outsider', 'supervisorNoReason', 'supervisorWithReason',
  'auditorNoReason', 'auditorWithReason', 'cps', 'admin', 'anonymous'];

interface Row {
  method: string;
  /** OpenAPI path with {params}. */
  route: string;
  path: () => string;
  body?: () => unknown;
  /** A non-JSON request (tus): extra headers and a raw body. */
  tus?: { headers: () => Record<string, string>; body?: string };
  /** Run before each actor's call (e.g. restore a member the previous call removed). */
  before?: () => Promise<void>;
  expect: Record<Actor, number>;
  /** A reader of the case (a member, or a supervisor or auditor with a reason) is told the inner object is unknown. */
  innerNotFound?: true;
}

/** An id no object has. */
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

/** Expected statuses in ACTORS order. */
const e = (...s: number[]): Record<Actor, number> => Object.fromEntries(ACTORS.map((a, i) => [a, s[i]])) as Record<Actor, number>;

describe('authorization matrix (every endpoint, every role, members and non-members)', () => {
  const h = new ApiHarness();
  const who = {} as Record<Exclude<Actor, 'anonymous'>, TestUser>;
  let caseId: string;
  let exhibitId: string;
  let uploadId: string;
  let cancelId: string;
  let spare: TestUser;
  let managed: TestUser;
  let n = 0;
  /** The OFFICIAL-SENSITIVE material of the matrix case, and everything that would identify it. */
  const hidden = { exhibitId: '', subExhibitId: '', fileId: '', copyId: '', markers: [] as string[] };
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;

  const withHeaders = (a: Actor): Record<string, string> => (a === 'supervisorNoReason' || a === 'auditorNoReason' || a === 'anonymous' ? {} : JUSTIFY);

  beforeAll(async () => {
    // A database of its own, so the whole ledger can be verified after every route was called.
    scratch = await createScratchDatabase();
    await h.start({ DATABASE_URL: scratch.url, INGEST_MAX_CONCURRENT_UPLOADS_PER_USER: 100 });
    who.oic = await h.user('oic', 'investigator');
    who.investigator = await h.user('inv', 'investigator');
    who.analyst = await h.user('analyst', 'forensic_analyst');
    who.discloser = await h.user('disc', 'disclosure_officer');
    who.reviewer = await h.user('reviewer', 'supervisor');
    who.outsider = await h.user('outsider', 'investigator');
    who.supervisorNoReason = await h.user('sup1', 'supervisor');
    who.supervisorWithReason = await h.user('sup2', 'supervisor');
    who.auditorNoReason = await h.user('aud1', 'auditor');
    who.auditorWithReason = await h.user('aud2', 'auditor');
    who.cps = await h.user('cps', 'cps_prosecutor');
    who.admin = await h.user('admin', 'administrator');
    spare = await h.user('spare', 'investigator');
    managed = await h.user('managed', 'investigator');

    const c = await h.call('POST', '/api/v1/cases', { token: who.oic.token, body: { urn: freshUrn(), title: 'Matrix case' } });
    expect(c.status).toBe(201);
    caseId = c.body.id as string;
    for (const [u, role] of [[who.investigator, 'investigator'], [who.analyst, 'forensic_analyst'], [who.discloser, 'disclosure_officer'], [who.reviewer, 'reviewer']] as const) {
      expect((await h.call('PUT', `/api/v1/cases/${caseId}/members/${u.id}`, { token: who.oic.token, body: { caseRole: role } })).status).toBe(200);
    }
    const x = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, {
      token: who.oic.token,
      body: { reference: 'JS/1', sourceType: 'cctv', description: 'Shop CCTV export', producer: 'J Smith' },
    });
    expect(x.status).toBe(201);
    exhibitId = x.body.id as string;
    // Two open uploads of the officer in the case: one to read and write, one to cancel.
    uploadId = await newUpload('upload');
    cancelId = await newUpload('cancel');

    // OFFICIAL-SENSITIVE material in this OFFICIAL case, and its traces: a sealed file, a copy of it
    // sealed later in the visible exhibit (a duplicate), members' consultations and counted reads.
    const hx = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, {
      token: who.oic.token,
      body: { reference: 'JS/77', sourceType: 'document', description: 'Covert source handling note', producer: 'J Smith', classification: 'OFFICIAL-SENSITIVE' },
    });
    expect(hx.status).toBe(201);
    hidden.exhibitId = hx.body.id as string;
    const sub = await h.call('POST', `/api/v1/cases/${caseId}/exhibits`, {
      token: who.oic.token,
      body: { reference: 'JS/77/1', sourceType: 'document', description: 'Annex to the handling note', producer: 'J Smith' },
    });
    expect(sub.status).toBe(201);
    hidden.subExhibitId = sub.body.id as string;
    const bytes = randomBytes(2048);
    hidden.fileId = await sealed(hidden.exhibitId, 'source-7-handling.pdf', bytes);
    hidden.copyId = await sealed(exhibitId, 'copy-of-something.bin', bytes);
    // A file of the sub-exhibit whose bytes exist nowhere else: its hashes must not show either.
    const own = randomBytes(1024);
    const annexId = await sealed(hidden.subExhibitId, 'annex-b-meeting-log.txt', own);
    for (const path of [`exhibits/${hidden.exhibitId}`, 'exhibits', `exhibits/${hidden.exhibitId}/files`, `exhibits/${exhibitId}/files`]) {
      expect((await h.call('GET', `/api/v1/cases/${caseId}/${path}`, { token: who.oic.token, headers: JUSTIFY })).status).toBe(200);
    }
    // (The first file's hashes are also the visible copy's, so they identify nothing hidden.)
    const digest = (a: string) => createHash(a).update(own).digest('hex');
    hidden.markers = [hidden.exhibitId, hidden.subExhibitId, hidden.fileId, annexId, 'JS/77', 'JS_77', 'Covert source', 'Annex to the handling', 'source-7-handling',
      'annex-b-meeting', digest('sha256'), digest('sha1'), digest('md5')];
    // The schedule's checkpoint (no worker runs here; exports sign none): members' exports cover all of the above.
    await h.app.get(LedgerService).publishCheckpoint();
  });

  /** Uploads `bytes` into an exhibit as the officer in the case and seals them (in this process: no worker runs here). */
  const sealed = async (xId: string, filename: string, bytes: Buffer): Promise<string> => {
    const up = await tusUpload(`${h.base}/api/v1/uploads`, who.oic.token, bytes, { metadata: { caseId, exhibitId: xId, filename } });
    expect(up.error).toBeUndefined();
    const id = uploadIdOf(up.url);
    expect((await h.call('GET', `/api/v1/uploads/${id}`, { token: who.oic.token })).body.state).toBe('verifying');
    expect((await h.app.get(EvidenceFilesService).seal(id, undefined)).state).toBe('sealed');
    return id;
  };

  const newUpload = async (name: string): Promise<string> => {
    const u = await h.call('POST', '/api/v1/uploads', { token: who.oic.token, headers: tusCreate(name) });
    expect(u.status).toBe(201);
    return u.headers.get('location')!.split('/').pop()!;
  };

  const b64 = (v: string) => Buffer.from(v).toString('base64');
  const tusCreate = (filename: string) => ({
    'tus-resumable': '1.0.0',
    'upload-length': '10',
    'upload-metadata': `caseId ${b64(caseId)},exhibitId ${b64(exhibitId)},filename ${b64(filename)}`,
  });
  afterAll(async () => {
    await h.stop();
    await scratch?.drop();
  });

  const ensureSpareMember = async () => {
    await h.call('PUT', `/api/v1/cases/${caseId}/members/${spare.id}`, { token: who.oic.token, body: { caseRole: 'reviewer' } });
  };

  /** Ends the case's pending fixity run (no worker runs here), so that the next caller may ask for one. */
  const endFixityRuns = async () => {
    await h.ds.query(`UPDATE fixity_runs SET status = 'completed', finished_at = now() WHERE case_id = $1 AND status IN ('queued', 'running')`, [caseId]);
  };

  let bundleId = '';
  /** A disclosure bundle of the visible copy, requested once by the officer in the case. */
  const ensureBundle = async () => {
    if (bundleId) return;
    const r = await h.call('POST', `/api/v1/cases/${caseId}/disclosure/bundles`, { token: who.oic.token, body: { evidenceFileIds: [hidden.copyId], audience: 'cps_and_defence' } });
    expect(r.status).toBe(202);
    bundleId = r.body.id as string;
  };

  //                                oic  inv  ana  dis  rev  out  sup- sup+ aud- aud+ cps  adm  anon
  const ROWS: Row[] = [
    { method: 'GET', route: '/api/v1/me', path: () => '/api/v1/me', expect: e(200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401) },
    { method: 'POST', route: '/api/v1/me/tokens', path: () => '/api/v1/me/tokens', body: () => ({ name: 'matrix' }), expect: e(201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 401) },
    { method: 'GET', route: '/api/v1/me/tokens', path: () => '/api/v1/me/tokens', expect: e(200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401) },
    { method: 'DELETE', route: '/api/v1/me/tokens/{tokenId}', path: () => '/api/v1/me/tokens/00000000-0000-4000-8000-000000000000', expect: e(404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/users', path: () => '/api/v1/users', expect: e(403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 401) },
    { method: 'POST', route: '/api/v1/users', path: () => '/api/v1/users', body: () => ({ username: `made-${++n}-${Date.now() % 100000}`, displayName: 'Made', role: 'investigator', password: 'a-long-password-1' }), expect: e(403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 201, 401) },
    { method: 'GET', route: '/api/v1/users/{userId}', path: () => `/api/v1/users/${spare.id}`, expect: e(403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 401) },
    { method: 'POST', route: '/api/v1/users/{userId}/deactivate', path: () => `/api/v1/users/${managed.id}/deactivate`, expect: e(403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 401) },
    { method: 'POST', route: '/api/v1/users/{userId}/activate', path: () => `/api/v1/users/${managed.id}/activate`, expect: e(403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 401) },
    { method: 'POST', route: '/api/v1/users/{userId}/unlock', path: () => `/api/v1/users/${managed.id}/unlock`, expect: e(403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 401) },
    { method: 'POST', route: '/api/v1/users/{userId}/end-sessions', path: () => `/api/v1/users/${managed.id}/end-sessions`, body: () => ({ revokeApiTokens: false }), expect: e(403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 401) },
    { method: 'GET', route: '/api/v1/me/sessions', path: () => '/api/v1/me/sessions', expect: e(200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401) },
    { method: 'DELETE', route: '/api/v1/me/sessions/{sessionId}', path: () => '/api/v1/me/sessions/00000000-0000-4000-8000-000000000000', expect: e(404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401) },
    { method: 'POST', route: '/api/v1/me/password', path: () => '/api/v1/me/password', body: () => ({ currentPassword: 'not-the-password', newPassword: 'correct horse battery staple' }), expect: e(403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 401) },
    { method: 'POST', route: '/api/v1/cases', path: () => '/api/v1/cases', body: () => ({ urn: freshUrn(), title: 'Another case' }), expect: e(201, 201, 403, 403, 201, 201, 201, 201, 403, 403, 403, 403, 401) },
    { method: 'GET', route: '/api/v1/cases', path: () => '/api/v1/cases', expect: e(200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401) },
    { method: 'GET', route: '/api/v1/cases/{caseId}', path: () => `/api/v1/cases/${caseId}`, expect: e(200, 200, 200, 200, 200, 404, 403, 200, 403, 200, 404, 404, 401) },
    { method: 'PATCH', route: '/api/v1/cases/{caseId}', path: () => `/api/v1/cases/${caseId}`, body: () => ({ title: `Matrix case ${++n}` }), expect: e(200, 403, 403, 403, 403, 404, 403, 403, 403, 403, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/cases/{caseId}/members', path: () => `/api/v1/cases/${caseId}/members`, expect: e(200, 200, 200, 200, 200, 404, 400, 200, 400, 200, 404, 404, 401) },
    { method: 'PUT', route: '/api/v1/cases/{caseId}/members/{userId}', path: () => `/api/v1/cases/${caseId}/members/${spare.id}`, body: () => ({ caseRole: 'reviewer' }), expect: e(200, 403, 403, 403, 403, 404, 403, 403, 403, 403, 404, 404, 401) },
    { method: 'DELETE', route: '/api/v1/cases/{caseId}/members/{userId}', path: () => `/api/v1/cases/${caseId}/members/${spare.id}`, before: ensureSpareMember, expect: e(204, 403, 403, 403, 403, 404, 403, 403, 403, 403, 404, 404, 401) },
    { method: 'POST', route: '/api/v1/cases/{caseId}/exhibits', path: () => `/api/v1/cases/${caseId}/exhibits`, body: () => ({ reference: `JS/${100 + ++n}`, sourceType: 'audio', description: '999 call', producer: 'J Smith' }), expect: e(201, 201, 201, 403, 403, 404, 403, 403, 403, 403, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/cases/{caseId}/exhibits', path: () => `/api/v1/cases/${caseId}/exhibits`, expect: e(200, 200, 200, 200, 200, 404, 400, 200, 400, 200, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/cases/{caseId}/exhibits/{exhibitId}', path: () => `/api/v1/cases/${caseId}/exhibits/${exhibitId}`, expect: e(200, 200, 200, 200, 200, 404, 400, 200, 400, 200, 404, 404, 401) },
    { method: 'PATCH', route: '/api/v1/cases/{caseId}/exhibits/{exhibitId}', path: () => `/api/v1/cases/${caseId}/exhibits/${exhibitId}`, body: () => ({ description: `Shop CCTV export, rev ${++n}` }), expect: e(200, 200, 200, 403, 403, 404, 403, 403, 403, 403, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/cases/{caseId}/events', path: () => `/api/v1/cases/${caseId}/events`, expect: e(200, 200, 200, 200, 200, 404, 400, 200, 400, 200, 404, 404, 401) },
    // The complete, signed case log holds OFFICIAL-SENSITIVE events: members only.
    { method: 'GET', route: '/api/v1/cases/{caseId}/events/export', path: () => `/api/v1/cases/${caseId}/events/export`, expect: e(200, 200, 200, 200, 200, 404, 400, 403, 400, 403, 404, 404, 401) },
    // Members who answer for the evidence; reviewers and readers with a reason only read. One run per case at a time: each caller's finished first.
    { method: 'POST', route: '/api/v1/cases/{caseId}/fixity', path: () => `/api/v1/cases/${caseId}/fixity`, before: endFixityRuns, expect: e(202, 202, 202, 202, 403, 404, 403, 403, 403, 403, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/fixity/runs', path: () => '/api/v1/fixity/runs', expect: e(403, 403, 403, 403, 403, 403, 403, 403, 200, 200, 403, 200, 401) },
    { method: 'GET', route: '/api/v1/fixity/runs/{runId}', path: () => '/api/v1/fixity/runs/00000000-0000-4000-8000-000000000000', expect: e(403, 403, 403, 403, 403, 403, 403, 403, 404, 404, 403, 404, 401) },
    { method: 'POST', route: '/api/v1/ledger/checkpoints', path: () => '/api/v1/ledger/checkpoints', expect: e(403, 403, 403, 403, 403, 403, 403, 403, 201, 201, 403, 201, 401) },
    { method: 'POST', route: '/api/v1/uploads', path: () => '/api/v1/uploads', tus: { headers: () => tusCreate(`m${++n}.bin`) }, expect: e(201, 201, 201, 403, 403, 404, 403, 403, 403, 403, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/uploads/{uploadId}', path: () => `/api/v1/uploads/${uploadId}`, expect: e(200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401) },
    { method: 'HEAD', route: '/api/v1/uploads/{uploadId}', path: () => `/api/v1/uploads/${uploadId}`, tus: { headers: () => ({ 'tus-resumable': '1.0.0' }) }, expect: e(200, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401) },
    {
      method: 'PATCH', route: '/api/v1/uploads/{uploadId}', path: () => `/api/v1/uploads/${uploadId}`,
      tus: { headers: () => ({ 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }), body: 'x' },
      expect: e(204, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401),
    },
    { method: 'DELETE', route: '/api/v1/uploads/{uploadId}', path: () => `/api/v1/uploads/${cancelId}`, tus: { headers: () => ({ 'tus-resumable': '1.0.0' }) }, expect: e(204, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 401) },
    // Only a failed seal can be retried (409 SEAL_NOT_FAILED for this open upload), by its uploader or an administrator.
    { method: 'POST', route: '/api/v1/uploads/{uploadId}/seal', path: () => `/api/v1/uploads/${uploadId}/seal`, expect: e(409, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 409, 401) },
    { method: 'GET', route: '/api/v1/cases/{caseId}/exhibits/{exhibitId}/files', path: () => `/api/v1/cases/${caseId}/exhibits/${exhibitId}/files`, expect: e(200, 200, 200, 200, 200, 404, 400, 200, 400, 200, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/cases/{caseId}/media', path: () => `/api/v1/cases/${caseId}/media`, expect: e(200, 200, 200, 200, 200, 404, 400, 200, 400, 200, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/cases/{caseId}/exhibits/{exhibitId}/media', path: () => `/api/v1/cases/${caseId}/exhibits/${exhibitId}/media`, expect: e(200, 200, 200, 200, 200, 404, 400, 200, 400, 200, 404, 404, 401) },
    // No file of this case has failed working copies: those who may add evidence get 409 MEDIA_NOT_RETRYABLE.
    { method: 'POST', route: '/api/v1/cases/{caseId}/files/{fileId}/media/retry', path: () => `/api/v1/cases/${caseId}/files/00000000-0000-4000-8000-000000000000/media/retry`, expect: e(409, 409, 409, 403, 403, 404, 403, 403, 403, 403, 404, 404, 401) },
    // A court copy of an unknown file: those who may add evidence are told the file is unknown.
    {
      method: 'POST', route: '/api/v1/cases/{caseId}/files/{fileId}/media/court-copies',
      path: () => `/api/v1/cases/${caseId}/files/00000000-0000-4000-8000-000000000000/media/court-copies`,
      body: () => ({ recorderTimeAtStart: '2026-11-20T09:58:12' }),
      expect: e(404, 404, 404, 403, 403, 404, 403, 403, 403, 403, 404, 404, 401),
      innerNotFound: true,
    },
    {
      method: 'GET', route: '/api/v1/cases/{caseId}/derivatives/{derivativeId}',
      path: () => `/api/v1/cases/${caseId}/derivatives/00000000-0000-4000-8000-000000000000`,
      expect: e(404, 404, 404, 404, 404, 404, 400, 404, 400, 404, 404, 404, 401),
      innerNotFound: true,
    },
    {
      method: 'GET', route: '/api/v1/cases/{caseId}/exhibits/{exhibitId}/files/{fileId}/derivatives/{derivativeId}/content',
      path: () => `/api/v1/cases/${caseId}/exhibits/${exhibitId}/files/00000000-0000-4000-8000-000000000000/derivatives/00000000-0000-4000-8000-000000000000/content`,
      expect: e(404, 404, 404, 404, 404, 404, 400, 404, 400, 404, 404, 404, 401),
      innerNotFound: true,
    },
    // Device extractions: read like the media views (an s.62 consultation); an unknown extraction is named as such only to readers of the case.
    { method: 'GET', route: '/api/v1/cases/{caseId}/extractions', path: () => `/api/v1/cases/${caseId}/extractions`, expect: e(200, 200, 200, 200, 200, 404, 400, 200, 400, 200, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/cases/{caseId}/exhibits/{exhibitId}/extractions', path: () => `/api/v1/cases/${caseId}/exhibits/${exhibitId}/extractions`, expect: e(200, 200, 200, 200, 200, 404, 400, 200, 400, 200, 404, 404, 401) },
    {
      method: 'GET', route: '/api/v1/cases/{caseId}/extractions/{extractionId}/entries',
      path: () => `/api/v1/cases/${caseId}/extractions/00000000-0000-4000-8000-000000000000/entries`,
      expect: e(404, 404, 404, 404, 404, 404, 400, 404, 400, 404, 404, 404, 401),
      innerNotFound: true,
    },
    {
      method: 'GET', route: '/api/v1/cases/{caseId}/extractions/{extractionId}/entries.csv',
      path: () => `/api/v1/cases/${caseId}/extractions/00000000-0000-4000-8000-000000000000/entries.csv`,
      expect: e(404, 404, 404, 404, 404, 404, 400, 404, 400, 404, 404, 404, 401),
      innerNotFound: true,
    },
    // The analyst workflow on an extraction: reads like the inventory; changes by those who may update exhibits (exports: create them); an unknown extraction is named as such only to them.
    ...['workflow', 'notes', 'strategy', 'exports', 'exports/{exportId}'].map((r): Row => ({
      method: 'GET', route: `/api/v1/cases/{caseId}/extractions/{extractionId}/${r}`,
      path: () => `/api/v1/cases/${caseId}/extractions/${UNKNOWN_ID}/${r.replace('{exportId}', UNKNOWN_ID)}`,
      expect: e(404, 404, 404, 404, 404, 404, 400, 404, 400, 404, 404, 404, 401),
      innerNotFound: true,
    })),
    ...Object.entries({
      transitions: { to: 'in_examination' },
      notes: { text: 'A note' },
      strategy: { investigativeQuestions: ['Who sent the messages?'], attribution: 'Owner', scope: 'targeted', proportionality: 'Messages only' },
      reports: { fileId: UNKNOWN_ID, title: 'Report' },
      exports: { indexes: [0] },
    }).map(([r, body]): Row => ({
      method: 'POST', route: `/api/v1/cases/{caseId}/extractions/{extractionId}/${r}`,
      path: () => `/api/v1/cases/${caseId}/extractions/${UNKNOWN_ID}/${r}`,
      body: () => body,
      expect: e(404, 404, 404, 403, 403, 404, 403, 403, 403, 403, 404, 404, 401),
      innerNotFound: true,
    })),
    // Disclosure (libs/disclosure): schedules and bundles are managed by the officer in the case and the disclosure officer.
    { method: 'POST', route: '/api/v1/cases/{caseId}/disclosure/schedules', path: () => `/api/v1/cases/${caseId}/disclosure/schedules`, body: () => ({ schedule: 'MG6C', entries: [{ fields: { description: `Matrix item ${++n}`, location: 'Store' } }] }), expect: e(201, 403, 403, 201, 403, 404, 403, 403, 403, 403, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/cases/{caseId}/disclosure/schedules', path: () => `/api/v1/cases/${caseId}/disclosure/schedules`, expect: e(200, 403, 403, 200, 403, 404, 403, 403, 403, 403, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/cases/{caseId}/disclosure/schedules/{schedule}/{version}', path: () => `/api/v1/cases/${caseId}/disclosure/schedules/MG6C/latest`, expect: e(200, 403, 403, 200, 403, 404, 403, 403, 403, 403, 404, 404, 401) },
    { method: 'POST', route: '/api/v1/cases/{caseId}/disclosure/bundles', path: () => `/api/v1/cases/${caseId}/disclosure/bundles`, body: () => ({ evidenceFileIds: [hidden.copyId], audience: 'cps_and_defence' }), expect: e(202, 403, 403, 202, 403, 404, 403, 403, 403, 403, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/cases/{caseId}/disclosure/bundles', path: () => `/api/v1/cases/${caseId}/disclosure/bundles`, expect: e(200, 403, 403, 200, 403, 404, 403, 403, 403, 403, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/disclosure/signing-key', path: () => '/api/v1/disclosure/signing-key', expect: e(200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200) },
    { method: 'GET', route: '/api/v1/disclosure/bundles', path: () => '/api/v1/disclosure/bundles', expect: e(200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401) },
    // A bundle by id: to anyone outside its case (the CPS without a live share too) it is unknown; no worker runs here, so it stays queued (409 to share or download).
    { method: 'GET', route: '/api/v1/disclosure/bundles/{bundleId}', path: () => `/api/v1/disclosure/bundles/${bundleId}`, before: ensureBundle, expect: e(200, 403, 403, 200, 403, 404, 404, 404, 404, 404, 404, 404, 401) },
    { method: 'POST', route: '/api/v1/disclosure/bundles/{bundleId}/shares', path: () => `/api/v1/disclosure/bundles/${bundleId}/shares`, before: ensureBundle, body: () => ({ recipientId: who.cps.id, expiresAt: '2099-01-01T00:00:00Z' }), expect: e(409, 403, 403, 409, 403, 404, 404, 404, 404, 404, 404, 404, 401) },
    { method: 'DELETE', route: '/api/v1/disclosure/bundles/{bundleId}/shares/{shareId}', path: () => `/api/v1/disclosure/bundles/${bundleId}/shares/00000000-0000-4000-8000-000000000000`, before: ensureBundle, expect: e(404, 403, 403, 404, 403, 404, 404, 404, 404, 404, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/disclosure/bundles/{bundleId}/download', path: () => `/api/v1/disclosure/bundles/${bundleId}/download`, before: ensureBundle, expect: e(409, 403, 403, 409, 403, 404, 404, 404, 404, 404, 404, 404, 401) },
    { method: 'POST', route: '/api/v1/disclosure/bundles/{bundleId}/download-url', path: () => `/api/v1/disclosure/bundles/${bundleId}/download-url`, before: ensureBundle, expect: e(409, 403, 403, 409, 403, 404, 404, 404, 404, 404, 404, 404, 401) },
    { method: 'GET', route: '/api/v1/audit/events', path: () => `/api/v1/audit/events?caseId=${caseId}`, expect: e(403, 403, 403, 403, 403, 403, 403, 403, 400, 200, 403, 403, 401) },
  ];

  // A second PATCH exhibit row for the disclosure fields, which only some case roles may set.
  const DISCLOSURE_ROW: Row = {
    method: 'PATCH', route: '/api/v1/cases/{caseId}/exhibits/{exhibitId}', path: () => `/api/v1/cases/${caseId}/exhibits/${exhibitId}`,
    body: () => ({ disclosureUse: n++ % 2 ? 'unused' : 'used' }),
    expect: e(200, 403, 403, 200, 403, 404, 403, 403, 403, 403, 404, 404, 401),
  };

  for (const row of [...ROWS, DISCLOSURE_ROW]) {
    it(`${row.method} ${row.route}${row === DISCLOSURE_ROW ? ' (disclosure fields)' : ''}`, async () => {
      const got: Record<string, number> = {};
      for (const actor of ACTORS) {
        await row.before?.();
        const res = await h.call(row.method, row.path(), {
          token: actor === 'anonymous' ? undefined : who[actor].token,
          body: row.body?.(),
          rawBody: row.tus?.body,
          headers: { ...withHeaders(actor), ...row.tus?.headers() },
        });
        got[actor] = res.status;
        // Every refusal has the stable JSON error shape (HEAD answers have no body); a 404 says nothing about existence.
        if (res.status >= 400 && row.method !== 'HEAD') {
          expect(typeof res.body.code).toBe('string');
          expect(typeof res.body.message).toBe('string');
        }
        if (res.status === 404 && row.route.includes('{caseId}')) {
          // Inside a case the caller may read, an unknown working copy is named as such; outside it, only the case is.
          expect(['CASE_NOT_FOUND', ...(row.innerNotFound && ['oic', 'investigator', 'analyst', 'discloser', 'reviewer', 'supervisorWithReason', 'auditorWithReason'].includes(actor) ? ['DERIVATIVE_NOT_FOUND', 'EXTRACTION_NOT_FOUND', 'EVIDENCE_FILE_NOT_FOUND'] : [])]).toContain(res.body.code);
        }
        // Nothing of the OFFICIAL-SENSITIVE material in any answer to a caller outside the case.
        if (OUTSIDE.includes(actor) && !OVERSIGHT_ROUTES.has(row.route.split('?')[0])) {
          const leaked = hidden.markers.filter((m) => res.text.toLowerCase().includes(m.toLowerCase()));
          expect({ route: row.route, actor, leaked }).toEqual({ route: row.route, actor, leaked: [] });
        }
      }
      expect(got).toEqual(row.expect);
    });
  }

  it('covers every non-public route the API serves', async () => {
    const doc = (await h.call('GET', '/api/docs-json')).body as { paths: Record<string, Record<string, unknown>> };
    const served = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const PUBLIC = ['GET /health/live', 'GET /health/ready', 'GET /api/v1/system', 'POST /api/v1/auth/login', 'POST /api/v1/auth/refresh', 'POST /api/v1/auth/logout',
      'GET /api/v1/auth/oidc/login', 'GET /api/v1/auth/oidc/callback',
      'GET /api/v1/ledger/public-key', 'GET /api/v1/ledger/checkpoint', 'GET /api/v1/ledger/checkpoints/{treeSize}',
      'GET /api/v1/ledger/proofs/inclusion', 'GET /api/v1/ledger/proofs/consistency',
      // Witnesses: their keys, and handing in a cosignature (self-authenticating: checked against LEDGER_WITNESS_KEYS).
      'GET /api/v1/ledger/witnesses', 'POST /api/v1/ledger/checkpoints/{treeSize}/cosignatures'];
    const covered = new Set(ROWS.map((r) => `${r.method} ${r.route}`));
    expect(served.filter((s) => !PUBLIC.includes(s) && !covered.has(s))).toEqual([]);
    expect([...covered].filter((c) => !served.includes(c))).toEqual([]);
  });

  it('takes ids in any letter case as the canonical id, other spellings as unknown ids, and the ledger still verifies', async () => {
    const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
    const spellings: Record<string, (u: string) => string> = {
      upper: (u) => u.toUpperCase(),
      mixed: (u) => u.replace(/[a-f]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c)),
      braces: (u) => `{${u}}`,
      bare: (u) => u.replace(/-/g, ''),
    };
    const actors: Exclude<Actor, 'anonymous'>[] = ['oic', 'supervisorWithReason', 'auditorWithReason', 'outsider'];
    let called = 0;
    for (const row of [...ROWS, DISCLOSURE_ROW]) {
      if (!row.path().match(UUID)) continue;
      for (const [name, spell] of Object.entries(spellings)) {
        for (const actor of actors) {
          await row.before?.();
          // tus rows change their upload: cancel a fresh one each time, and append at its current offset.
          const extra: Record<string, string> = {};
          if (row.route === '/api/v1/uploads/{uploadId}' && row.method === 'DELETE') cancelId = await newUpload('cancel');
          if (row.route === '/api/v1/uploads/{uploadId}' && row.method === 'PATCH') {
            const head = await h.call('HEAD', `/api/v1/uploads/${uploadId}`, { token: who.oic.token, headers: { 'tus-resumable': '1.0.0' } });
            extra['upload-offset'] = head.headers.get('upload-offset')!;
          }
          const res = await h.call(row.method, row.path().replace(UUID, spell), {
            token: who[actor].token,
            body: row.body?.(),
            rawBody: row.tus?.body,
            headers: { ...withHeaders(actor), ...row.tus?.headers(), ...extra },
          });
          called++;
          const canonical = row.expect[actor];
          // Upper and mixed case name the same object; any other spelling is an unknown id in a path
          // (a malformed filter in a query), unless the caller's global role was refused first.
          const unknown = row.path().includes('?') ? 400 : 404;
          const expected = name === 'upper' || name === 'mixed' || (canonical === 403 && res.body.code === 'ROLE_NOT_ALLOWED') ? canonical : unknown;
          expect({ route: `${row.method} ${row.route}`, name, actor, status: res.status }).toEqual({ route: `${row.method} ${row.route}`, name, actor, status: expected });
        }
      }
    }
    expect(called).toBeGreaterThan(200);
    // An upload declared with upper-case ids in its tus metadata is filed under the canonical ones.
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    const upload = await h.call('POST', '/api/v1/uploads', {
      token: who.oic.token,
      headers: { 'tus-resumable': '1.0.0', 'upload-length': '10', 'upload-metadata': `caseId ${b64(caseId.toUpperCase())},exhibitId ${b64(exhibitId.toUpperCase())},filename ${b64('upper.bin')}` },
    });
    expect(upload.status).toBe(201);
    const status = await h.call('GET', `/api/v1/uploads/${upload.headers.get('location')!.split('/').pop()!.toUpperCase()}`, { token: who.oic.token });
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ caseId, exhibitId });

    // No event names an id in another spelling than the database's, and the whole ledger verifies.
    const spelled = await h.ds.query(
      `SELECT count(*)::int AS n FROM custody_events WHERE position(convert_to(upper($1), 'UTF8') IN canonical) > 0 OR position(convert_to(upper($2), 'UTF8') IN canonical) > 0`,
      [caseId, exhibitId],
    );
    expect(spelled[0].n).toBe(0);
    const result = await verifyLedger(h.ds, verifierKeyFromSigner(h.config.LEDGER_SIGNING_KEY));
    expect(result.problem).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.events).toBeGreaterThan(100);
  });

  /** Calls a row as an actor with the row's case and exhibit ids pointing elsewhere for the call. */
  const callAt = async (row: Row, actor: Actor, target?: { caseId: string; exhibitId: string }) => {
    const real = { caseId, exhibitId };
    if (target) ({ caseId, exhibitId } = target);
    try {
      await row.before?.();
      return await h.call(row.method, row.path(), {
        token: actor === 'anonymous' ? undefined : who[actor].token,
        body: row.body?.(),
        rawBody: row.tus?.body,
        headers: { ...withHeaders(actor), ...row.tus?.headers() },
      });
    } finally {
      ({ caseId, exhibitId } = real);
    }
  };
  const answer = (r: Awaited<ReturnType<typeof h.call>>) => ({ status: r.status, code: r.body.code, message: r.body.message });
  const CASE_ROWS = () => [...ROWS, DISCLOSURE_ROW].filter((r) => r.route.includes('{caseId}') || (r.method === 'POST' && r.route === '/api/v1/uploads'));

  it('answers every case route on an OFFICIAL-SENSITIVE case, and on an OFFICIAL one it does not open, exactly as on a missing case', async () => {
    // Created here, not in beforeAll, so the rows above run against the state they always had.
    const os = await h.call('POST', '/api/v1/cases', { token: who.oic.token, body: { urn: freshUrn(), title: 'Sensitive matrix case', classification: 'OFFICIAL-SENSITIVE' } });
    expect(os.status).toBe(201);
    const osx = await h.call('POST', `/api/v1/cases/${os.body.id}/exhibits`, {
      token: who.oic.token,
      body: { reference: 'JS/1', sourceType: 'document', description: 'Sensitive note', producer: 'J Smith' },
    });
    expect(osx.status).toBe(201);
    const sensitive = { caseId: os.body.id as string, exhibitId: osx.body.id as string };
    const missing = { caseId: '6a1f0c3e-59b4-4c43-9a51-3d2f4be0c0de', exhibitId: 'b0e5a1d2-7c3f-4e8a-9b6d-1f2e3d4c5b6a' };
    const differences: unknown[] = [];
    let compared = 0;
    for (const row of CASE_ROWS()) {
      for (const actor of ACTORS) {
        if (actor === 'oic') continue; // the only member of the sensitive case
        const none = answer(await callAt(row, actor, missing));
        const hidden = answer(await callAt(row, actor, sensitive));
        if (JSON.stringify(hidden) !== JSON.stringify(none)) differences.push({ route: `${row.method} ${row.route}`, actor, sensitive: hidden, missing: none });
        // The OFFICIAL case: a member's answer, or a supervisory read with a reason, may differ; every other answer may not.
        if (row.expect[actor] < 300 || !['outsider', 'supervisorNoReason', 'supervisorWithReason', 'auditorNoReason', 'auditorWithReason', 'cps', 'admin', 'anonymous'].includes(actor)) continue;
        if (row.innerNotFound && (actor === 'supervisorWithReason' || actor === 'auditorWithReason')) continue;
        const official = answer(await callAt(row, actor));
        if (JSON.stringify(official) !== JSON.stringify(none)) differences.push({ route: `${row.method} ${row.route}`, actor, official, missing: none });
        compared++;
      }
    }
    expect(differences).toEqual([]);
    expect(compared).toBeGreaterThan(50);
  });

  it('answers for an OFFICIAL-SENSITIVE exhibit, or one below it, exactly as for a missing exhibit, to everyone outside the case', async () => {
    const missing = { caseId, exhibitId: '3c9d2e7a-1b4f-4a6e-8d0c-5f7e9a1b2c3d' };
    const differences: unknown[] = [];
    let compared = 0;
    for (const row of [...ROWS, DISCLOSURE_ROW].filter((r) => r.route.includes('{exhibitId}'))) {
      for (const actor of OUTSIDE) {
        const none = answer(await callAt(row, actor, missing));
        for (const id of [hidden.exhibitId, hidden.subExhibitId]) {
          const got = answer(await callAt(row, actor, { caseId, exhibitId: id }));
          if (JSON.stringify(got) !== JSON.stringify(none)) differences.push({ route: `${row.method} ${row.route}`, actor, id, got, missing: none });
          compared++;
        }
      }
      // Members of the case see it.
      expect((await callAt(row, 'reviewer', { caseId, exhibitId: hidden.exhibitId })).status).toBeLessThan(500);
    }
    expect(differences).toEqual([]);
    expect(compared).toBeGreaterThan(40);
    const asMember = await h.call('GET', `/api/v1/cases/${caseId}/exhibits/${hidden.exhibitId}`, { token: who.reviewer.token, headers: JUSTIFY });
    expect([asMember.status, asMember.body.reference]).toEqual([200, 'JS/77']);
  });

  it('counts only the exhibits a reader may see, and names no hidden duplicate', async () => {
    for (const [actor, more] of [['supervisorWithReason', 0], ['auditorWithReason', 0], ['reviewer', 2]] as const) {
      const list = await h.call('GET', `/api/v1/cases/${caseId}/exhibits`, { token: who[actor].token, headers: JUSTIFY });
      const one = await h.call('GET', `/api/v1/cases/${caseId}`, { token: who[actor].token, headers: JUSTIFY });
      const refs = (list.body as unknown as { reference: string }[]).map((x) => x.reference);
      expect(refs.includes('JS/77')).toBe(more > 0);
      expect((one.body.counts as { exhibits: number }).exhibits).toBe(refs.length);
      const visibleToAll = refs.filter((r) => !r.startsWith('JS/77')).length;
      expect(refs.length).toBe(visibleToAll + more);
      const files = await h.call('GET', `/api/v1/cases/${caseId}/exhibits/${exhibitId}/files`, { token: who[actor].token, headers: JUSTIFY });
      const copy = (files.body as unknown as { id: string; duplicateOf: { id: string; exhibitReference: string } | null }[]).find((f) => f.id === hidden.copyId)!;
      expect(copy.duplicateOf).toEqual(more ? expect.objectContaining({ id: hidden.fileId, exhibitReference: 'JS/77' }) : null);
    }
  });

  it('gives readers outside the case the events they may see, each checkable on its own; members get the whole log, which verifies', async () => {
    const key = verifierKeyFromSigner(h.config.LEDGER_SIGNING_KEY);
    const all = (await h.call('GET', `/api/v1/cases/${caseId}/events`, { token: who.oic.token, headers: JUSTIFY })).body as unknown as { event: LedgerEvent; hash: string }[];
    expect(all.some((e) => JSON.stringify(e).includes(hidden.fileId))).toBe(true);
    const exported = await h.call('GET', `/api/v1/cases/${caseId}/events/export`, { token: who.reviewer.token, headers: JUSTIFY });
    const body = exported.body as unknown as { header: unknown; events: unknown[] };
    const check = verifyCaseLog([body.header, ...body.events].map((l) => JSON.stringify(l)).join('\n') + '\n', key);
    expect(check).toMatchObject({ ok: true });
    expect(JSON.stringify(body.events)).toContain(hidden.fileId);

    const seen = await h.call('GET', `/api/v1/cases/${caseId}/events`, { token: who.supervisorWithReason.token, headers: JUSTIFY });
    expect(seen.status).toBe(200);
    const events = seen.body as unknown as { event: LedgerEvent; hash: string }[];
    expect(events.length).toBeGreaterThan(10);
    expect(events.length).toBeLessThan(all.length);
    // Other people's counted reads are withheld whatever the case holds; the reader's own are not.
    const counted = ['exhibit.list_consulted', 'case.events_consulted', 'case.log_exported', 'access_log.queried'];
    expect(events.filter((e) => counted.includes(e.event.type) && e.event.actor?.id !== who.supervisorWithReason.id)).toEqual([]);
    const cp = await h.call('POST', '/api/v1/ledger/checkpoints', { token: who.auditorWithReason.token });
    const treeSize = cp.body.treeSize as number;
    const root = Buffer.from(cp.body.rootHash as string, 'hex');
    for (const { event, hash } of events) {
      const canonical = encodeLedgerEvent(event);
      expect(chainHash(Buffer.from(event.prevHash, 'hex'), canonical).toString('hex')).toBe(hash);
      if (event.leafIndex >= treeSize) continue;
      const proof = await h.call('GET', `/api/v1/ledger/proofs/inclusion?leafIndex=${event.leafIndex}&treeSize=${treeSize}`);
      expect(verifyInclusion(event.leafIndex, treeSize, leafHash(canonical), (proof.body.proof as string[]).map((p) => Buffer.from(p, 'hex')), root)).toBe(true);
    }
  });

  it('refuses a URN already in use in the same words for everyone, and records the attempt on its case', async () => {
    const urn = freshUrn();
    const os = await h.call('POST', '/api/v1/cases', { token: who.oic.token, body: { urn, title: 'Sensitive URN case', classification: 'OFFICIAL-SENSITIVE' } });
    expect(os.status).toBe(201);
    const byOutsider = await h.call('POST', '/api/v1/cases', { token: who.outsider.token, body: { urn, title: 'Same matter' } });
    const bySupervisor = await h.call('POST', '/api/v1/cases', { token: who.supervisorWithReason.token, body: { urn: urn.replace(/\//g, ''), title: 'Same matter' } });
    const byMember = await h.call('POST', '/api/v1/cases', { token: who.oic.token, body: { urn, title: 'Same matter again' } });
    for (const res of [byOutsider, bySupervisor, byMember]) {
      expect([res.status, res.body.code]).toEqual([409, 'URN_UNAVAILABLE']);
      expect(res.body).toEqual(byOutsider.body);
      expect(res.text).not.toContain(os.body.id as string);
      expect(String(res.body.message)).not.toMatch(/exist|SENSITIVE|Sensitive URN case/i);
    }
    const recorded = await h.ds.query(`SELECT actor_id, outcome FROM custody_events WHERE case_id = $1 AND type = 'case.urn_conflict' ORDER BY seq`, [os.body.id]);
    expect(recorded).toEqual([
      { actor_id: who.outsider.id, outcome: 'denied' },
      { actor_id: who.supervisorWithReason.id, outcome: 'denied' },
      { actor_id: who.oic.id, outcome: 'denied' },
    ]);
  });

  it('answers a guessed case id of another case exactly like a missing one', async () => {
    const other = await h.call('GET', `/api/v1/cases/${caseId}`, { token: who.outsider.token, headers: JUSTIFY });
    const missing = await h.call('GET', '/api/v1/cases/00000000-0000-4000-8000-000000000000', { token: who.outsider.token, headers: JUSTIFY });
    const garbage = await h.call('GET', '/api/v1/cases/not-a-uuid', { token: who.outsider.token, headers: JUSTIFY });
    expect(other.body).toEqual(missing.body);
    expect(garbage.body).toEqual(missing.body);
    expect([other.status, missing.status, garbage.status]).toEqual([404, 404, 404]);
  });
});

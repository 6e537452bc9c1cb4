import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { CaseAccessService, exhibitVisibility } from '../cases/index.js';
import { AppError } from '../core/index.js';
import { recordCustodyEvent, type Justification } from '../custody/index.js';
import { one, rows } from '../database/sql.js';
import type { Principal, RequestContext } from '../identity/index.js';
import { canonicalize } from '../ledger/index.js';
import { consultExtraction, findExtraction, type ExtractionRow } from './extraction-lookup.js';
import type { ExaminationState, NoteInput, ReportInput, StrategyRecord, TransitionInput } from './extraction-workflow.schemas.js';

export interface ExtractionNoteView {
  id: string;
  author: { id: string; username: string };
  text: string;
  sha256: string;
  createdAt: Date;
}

export interface StrategyVersionView {
  version: number;
  record: StrategyRecord;
  sha256: string;
  author: { id: string; username: string };
  createdAt: Date;
}

export interface ExtractionReportView {
  id: string;
  title: string;
  fileId: string;
  filename: string;
  exhibitId: string;
  exhibitReference: string;
  sha256: string;
  attachedBy: { id: string; username: string };
  createdAt: Date;
}

export interface ExtractionWorkflowView {
  extractionId: string;
  exhibitId: string;
  exhibitReference: string;
  /** The examination state once examination has begun, else the verification state. */
  status: string;
  verificationState: string;
  examinationState: ExaminationState;
  transitions: { from: string; to: string; reason: string | null; actor: { id: string; username: string }; at: Date }[];
  strategy: StrategyVersionView | null;
  reports: ExtractionReportView[];
}

/** Verification outcomes that let examination begin without a recorded reason. */
const CLEAN = new Set(['verified', 'verified_with_warnings']);
const SETTLED = new Set(['verified', 'verified_with_warnings', 'failed', 'not_verifiable']);

const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * The analyst's work on a device extraction (docs/extraction.md, "Analyst workflow"): examination
 * states with recorded transitions, append-only notes, the versioned digital strategy record, and
 * reports attached as sealed files of a derived exhibit. Every change is a custody event; every
 * read is an s.62 consultation with its reason.
 */
@Injectable()
export class ExtractionWorkflowService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(CaseAccessService) private readonly access: CaseAccessService,
  ) {}

  /**
   * awaiting → in_examination (once verification settled; a reason when it did not verify),
   * in_examination → examined (a report attached first), awaiting | in_examination → not_examined
   * (with the reason), examined | not_examined → in_examination (reopened, with the reason).
   */
  async transition(principal: Principal, caseId: string, extractionId: string, input: TransitionInput, context: RequestContext): Promise<ExtractionWorkflowView> {
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'exhibit.update', { context, tx });
      const x = await findExtraction(tx, access, caseId, extractionId, true);
      const from = x.examination_state;
      const refuse = (code: string, message: string, status = 409) => new AppError(code, message, status, { from, to: input.to, verificationState: x.state });
      const needReason = (why: string) => {
        if (!input.reason) throw refuse('TRANSITION_REASON_REQUIRED', `A reason is required ${why}`, 400);
      };
      const allowed: Record<TransitionInput['to'], ExaminationState[]> = { in_examination: ['awaiting', 'examined', 'not_examined'], examined: ['in_examination'], not_examined: ['awaiting', 'in_examination'] };
      if (!allowed[input.to].includes(from)) throw refuse('TRANSITION_NOT_ALLOWED', `An extraction that is ${from} cannot become ${input.to}`);
      if (input.to === 'in_examination') {
        if (!SETTLED.has(x.state)) throw refuse('EXTRACTION_NOT_SETTLED', `The extraction is ${x.state}: examination starts once its verification has an outcome`);
        if (from !== 'awaiting') needReason(`to reopen an extraction that is ${from}`);
        else if (!CLEAN.has(x.state)) needReason(`to examine an extraction whose verification is ${x.state}`);
      }
      if (input.to === 'not_examined') needReason('to record that the device is not examined');
      if (input.to === 'examined') {
        const report = await one(tx, `SELECT 1 FROM extraction_reports WHERE extraction_id = $1`, [x.id]);
        if (!report) throw refuse('EXTRACTION_REPORT_REQUIRED', 'Attach the examination report before marking the extraction examined');
      }
      await tx.query(`INSERT INTO extraction_transitions (extraction_id, from_state, to_state, reason, actor_id) VALUES ($1, $2, $3, $4, $5)`, [x.id, from, input.to, input.reason ?? null, principal.userId]);
      await tx.query(`UPDATE extractions SET examination_state = $2, updated_at = now() WHERE id = $1`, [x.id, input.to]);
      await recordCustodyEvent(tx, {
        type: input.to === 'in_examination' ? (from === 'awaiting' ? 'extraction.examination_started' : 'extraction.examination_reopened') : `extraction.${input.to}`,
        operation: 'alteration',
        caseId,
        actor: principal,
        object: { type: 'extraction', id: x.id },
        context,
        details: { exhibitId: x.exhibit_id, from, to: input.to, verificationState: x.state, reason: input.reason ?? null },
      });
      return this.view(tx, { ...x, examination_state: input.to });
    });
  }

  /** Status, transitions, the current strategy and the reports: an s.62 consultation. */
  async workflow(principal: Principal, caseId: string, extractionId: string, justification: Justification | undefined, context: RequestContext): Promise<ExtractionWorkflowView> {
    return consultExtraction(this.ds, this.access, { principal, caseId, extractionId, justification, context, what: 'workflow' }, (tx, x) => this.view(tx, x));
  }

  async addNote(principal: Principal, caseId: string, extractionId: string, input: NoteInput, context: RequestContext): Promise<ExtractionNoteView> {
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'exhibit.update', { context, tx });
      const x = await findExtraction(tx, access, caseId, extractionId);
      const sha256 = sha256Hex(input.text);
      const note = (await one<{ id: string; created_at: Date }>(
        tx,
        `INSERT INTO extraction_notes (extraction_id, author_id, body, sha256) VALUES ($1, $2, $3, $4) RETURNING id, created_at`,
        [x.id, principal.userId, input.text, sha256],
      ))!;
      // The event carries the note's hash, not its words: the ledger proves the note unchanged without repeating it.
      await recordCustodyEvent(tx, {
        type: 'extraction.note_added',
        operation: 'collection',
        caseId,
        actor: principal,
        object: { type: 'extraction_note', id: note.id, sha256 },
        context,
        details: { exhibitId: x.exhibit_id, extractionId: x.id, characters: input.text.length },
      });
      return { id: note.id, author: { id: principal.userId, username: principal.username }, text: input.text, sha256, createdAt: note.created_at };
    });
  }

  async notes(principal: Principal, caseId: string, extractionId: string, justification: Justification | undefined, context: RequestContext): Promise<ExtractionNoteView[]> {
    return consultExtraction(this.ds, this.access, { principal, caseId, extractionId, justification, context, what: 'notes' }, async (tx, x) => {
      const found = await rows<{ id: string; author_id: string; username: string; body: string; sha256: string; created_at: Date }>(
        tx,
        `SELECT n.id, n.author_id, u.username, n.body, n.sha256, n.created_at FROM extraction_notes n JOIN users u ON u.id = n.author_id WHERE n.extraction_id = $1 ORDER BY n.created_at, n.id`,
        [x.id],
      );
      return found.map((n) => ({ id: n.id, author: { id: n.author_id, username: n.username }, text: n.body, sha256: n.sha256, createdAt: n.created_at }));
    });
  }

  /** A new version of the digital strategy record; earlier versions stay as they were. */
  async recordStrategy(principal: Principal, caseId: string, extractionId: string, record: StrategyRecord, context: RequestContext): Promise<StrategyVersionView> {
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'exhibit.update', { context, tx });
      const x = await findExtraction(tx, access, caseId, extractionId, true);
      const sha256 = sha256Hex(canonicalize(record));
      const saved = (await one<{ version: number; created_at: Date }>(
        tx,
        `INSERT INTO extraction_strategies (extraction_id, version, record, sha256, author_id)
         SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4 FROM extraction_strategies WHERE extraction_id = $1 RETURNING version, created_at`,
        [x.id, JSON.stringify(record), sha256, principal.userId],
      ))!;
      await recordCustodyEvent(tx, {
        type: 'extraction.strategy_recorded',
        operation: 'collection',
        caseId,
        actor: principal,
        object: { type: 'extraction', id: x.id, version: saved.version, sha256 },
        context,
        details: { exhibitId: x.exhibit_id, version: saved.version, scope: record.scope, tools: record.tools.map((t) => `${t.name} ${t.version}`) },
      });
      return { version: saved.version, record, sha256, author: { id: principal.userId, username: principal.username }, createdAt: saved.created_at };
    });
  }

  /** Every version of the strategy record, the newest first. */
  async strategies(principal: Principal, caseId: string, extractionId: string, justification: Justification | undefined, context: RequestContext): Promise<StrategyVersionView[]> {
    return consultExtraction(this.ds, this.access, { principal, caseId, extractionId, justification, context, what: 'strategy' }, (tx, x) => strategyVersions(tx, x.id));
  }

  /**
   * Attaches an analyst's report: a sealed file uploaded to a sub-exhibit of the extraction's
   * exhibit (a derived exhibit with its own reference, e.g. KH/4/2), so the report is evidence
   * sealed like any other and linked to what it reports on.
   */
  async attachReport(principal: Principal, caseId: string, extractionId: string, input: ReportInput, context: RequestContext): Promise<ExtractionReportView> {
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'exhibit.update', { context, tx });
      const x = await findExtraction(tx, access, caseId, extractionId);
      const file = await one<{ id: string; state: string; sha256: string | null; parent_id: string | null; exhibit_id: string; reference: string }>(
        tx,
        `SELECT f.id, f.state, f.sha256, f.exhibit_id, e.parent_id, e.reference FROM evidence_files f JOIN exhibits e ON e.id = f.exhibit_id
          WHERE f.id = $1 AND f.case_id = $2 ${exhibitVisibility(access, '$2', 'f.exhibit_id')}`,
        [input.fileId, caseId],
      );
      if (!file) throw new AppError('EVIDENCE_FILE_NOT_FOUND', `No evidence file ${input.fileId} in this case`, 404);
      if (file.state !== 'sealed') throw new AppError('REPORT_NOT_SEALED', `The report file is ${file.state}: only a sealed file can be attached`, 409);
      if (file.parent_id !== x.exhibit_id) {
        throw new AppError('REPORT_NOT_DERIVED', `The report must be uploaded to a sub-exhibit of ${x.exhibit_reference} (e.g. ${x.exhibit_reference}/2); it is in ${file.reference}`, 422);
      }
      const saved = await one<{ id: string }>(
        tx,
        `INSERT INTO extraction_reports (extraction_id, file_id, title, attached_by) VALUES ($1, $2, $3, $4) ON CONFLICT (extraction_id, file_id) DO NOTHING RETURNING id`,
        [x.id, file.id, input.title, principal.userId],
      );
      if (!saved) throw new AppError('REPORT_ALREADY_ATTACHED', 'This file is already attached to the extraction', 409);
      await recordCustodyEvent(tx, {
        type: 'extraction.report_attached',
        operation: 'collection',
        caseId,
        actor: principal,
        object: { type: 'extraction', id: x.id },
        context,
        details: { exhibitId: x.exhibit_id, reportExhibitId: file.exhibit_id, fileId: file.id, sha256: file.sha256, title: input.title },
      });
      return (await reports(tx, x.id)).find((r) => r.id === saved.id)!;
    });
  }

  private async view(tx: EntityManager, x: ExtractionRow): Promise<ExtractionWorkflowView> {
    const transitions = await rows<{ from_state: string; to_state: string; reason: string | null; actor_id: string; username: string; created_at: Date }>(
      tx,
      `SELECT t.from_state, t.to_state, t.reason, t.actor_id, u.username, t.created_at FROM extraction_transitions t JOIN users u ON u.id = t.actor_id
        WHERE t.extraction_id = $1 ORDER BY t.created_at, t.id`,
      [x.id],
    );
    return {
      extractionId: x.id,
      exhibitId: x.exhibit_id,
      exhibitReference: x.exhibit_reference,
      status: examinationStatus(x.state, x.examination_state),
      verificationState: x.state,
      examinationState: x.examination_state,
      transitions: transitions.map((t) => ({ from: t.from_state, to: t.to_state, reason: t.reason, actor: { id: t.actor_id, username: t.username }, at: t.created_at })),
      strategy: (await strategyVersions(tx, x.id, 1))[0] ?? null,
      reports: await reports(tx, x.id),
    };
  }
}

/** One status for lists: the examination state once examination has begun, else the verification state. */
export function examinationStatus(verificationState: string, examinationState: string): string {
  return examinationState === 'awaiting' ? verificationState : examinationState;
}

async function strategyVersions(tx: EntityManager, extractionId: string, limit = 1000): Promise<StrategyVersionView[]> {
  const found = await rows<{ version: number; record: StrategyRecord; sha256: string; author_id: string; username: string; created_at: Date }>(
    tx,
    `SELECT s.version, s.record, s.sha256, s.author_id, u.username, s.created_at FROM extraction_strategies s JOIN users u ON u.id = s.author_id
      WHERE s.extraction_id = $1 ORDER BY s.version DESC LIMIT $2`,
    [extractionId, limit],
  );
  return found.map((s) => ({ version: s.version, record: s.record, sha256: s.sha256, author: { id: s.author_id, username: s.username }, createdAt: s.created_at }));
}

async function reports(tx: EntityManager, extractionId: string): Promise<ExtractionReportView[]> {
  const found = await rows<{ id: string; title: string; file_id: string; original_filename: string; exhibit_id: string; reference: string; sha256: string; attached_by: string; username: string; created_at: Date }>(
    tx,
    `SELECT r.id, r.title, r.file_id, f.original_filename, f.exhibit_id, x.reference, f.sha256, r.attached_by, u.username, r.created_at
       FROM extraction_reports r JOIN evidence_files f ON f.id = r.file_id JOIN exhibits x ON x.id = f.exhibit_id JOIN users u ON u.id = r.attached_by
      WHERE r.extraction_id = $1 ORDER BY r.created_at, r.id`,
    [extractionId],
  );
  return found.map((r) => ({
    id: r.id,
    title: r.title,
    fileId: r.file_id,
    filename: r.original_filename,
    exhibitId: r.exhibit_id,
    exhibitReference: r.reference,
    sha256: r.sha256,
    attachedBy: { id: r.attached_by, username: r.username },
    createdAt: r.created_at,
  }));
}

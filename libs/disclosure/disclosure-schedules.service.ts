import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { z } from 'zod';
import { CaseAccessService, displayUrn } from '../cases/index.js';
import { AppError } from '../core/index.js';
import { recordCustodyEvent, type Justification } from '../custody/index.js';
import { one, rows, type Queryable } from '../database/sql.js';
import type { Principal, RequestContext } from '../identity/index.js';
import { MG6_FORMS, SCHEDULE_TYPES, scheduleCsv, schedulePdf, type ScheduleType, type ScheduleVersionView } from './mg6-forms.js';

const fieldText = z.string().max(4000);
export const scheduleVersionSchema = z.strictObject({
  schedule: z.enum(SCHEDULE_TYPES),
  entries: z
    .array(
      z.strictObject({
        /** Carry an existing item into this version; leave out for a new item (numbered next). */
        itemNumber: z.number().int().min(1).optional(),
        exhibitId: z.string().uuid().transform((s) => s.toLowerCase()).optional(),
        fields: z.record(z.string().max(64), fieldText),
      }),
    )
    .max(5000)
    .default([]),
  /** A nil MG6D: there is no sensitive material; the statement is certified by the caller. */
  nilCertification: z.strictObject({ statement: z.string().min(1).max(2000) }).optional(),
});
export type ScheduleVersionInput = z.infer<typeof scheduleVersionSchema>;

export interface ScheduleVersionSummary {
  id: string;
  schedule: ScheduleType;
  version: number;
  entries: number;
  nilCertified: boolean;
  createdAt: string;
}

interface Actor {
  principal: Principal;
  justification?: Justification;
  context: RequestContext;
}

/**
 * MG6C, MG6D and MG6E schedules (CPIA Code of Practice; docs/domain.md). Each change is a new
 * version that lists every entry again; nothing is edited or thrown away. Item numbers come from
 * a register per case and schedule: an entry either carries an item already numbered or gets the
 * next number, so a number once given (even to an item later left off) is never given again.
 */
@Injectable()
export class DisclosureSchedulesService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(CaseAccessService) private readonly access: CaseAccessService,
  ) {}

  async createVersion(caseId: string, input: ScheduleVersionInput, actor: Actor): Promise<ScheduleVersionView & { id: string }> {
    await this.access.resolve(actor.principal, caseId, 'disclosure.manage', { justification: actor.justification, context: actor.context });
    const form = MG6_FORMS[input.schedule];
    if (input.nilCertification && (input.schedule !== 'MG6D' || input.entries.length)) {
      throw new AppError('SCHEDULE_INVALID', 'Only an MG6D with no entries can be certified nil', 400);
    }
    if (!input.nilCertification && !input.entries.length) {
      throw new AppError('SCHEDULE_INVALID', input.schedule === 'MG6D' ? 'An MG6D with no entries must be certified nil (nilCertification)' : 'A schedule version needs at least one entry', 400);
    }
    input.entries.forEach((e, i) => {
      for (const k of Object.keys(e.fields)) {
        const col = form.columns.find((c) => c.key === k && c.key !== 'itemNumber');
        if (!col) throw new AppError('SCHEDULE_INVALID', `Entry ${i + 1}: ${input.schedule} has no column "${k}" (columns: ${form.columns.filter((c) => c.key !== 'itemNumber').map((c) => c.key).join(', ')})`, 400);
        if (col.values && e.fields[k] !== '' && !col.values.includes(e.fields[k])) throw new AppError('SCHEDULE_INVALID', `Entry ${i + 1}: ${k} must be one of ${col.values.join(', ')}`, 400);
      }
      for (const c of form.columns) {
        if (c.required && !e.fields[c.key]?.trim()) throw new AppError('SCHEDULE_INVALID', `Entry ${i + 1}: ${c.label} must be filled in`, 400);
      }
      if (input.schedule === 'MG6E' && e.itemNumber === undefined) throw new AppError('SCHEDULE_INVALID', `Entry ${i + 1}: an MG6E entry names an item already on the MG6C or MG6D`, 400);
    });

    const id = await this.ds.transaction(async (tx) => {
      // One writer per case and schedule, so versions and item numbers are handed out in order.
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`disclosure-schedule:${caseId}:${input.schedule}`]);
      const last = await one<{ v: number }>(tx, `SELECT coalesce(max(version), 0)::int AS v FROM disclosure_schedule_versions WHERE case_id = $1 AND schedule = $2`, [caseId, input.schedule]);
      const version = (last?.v ?? 0) + 1;
      const versionId = randomUUID();
      const certification = input.nilCertification ? { by: actor.principal.username, byUserId: actor.principal.userId, at: new Date().toISOString(), statement: input.nilCertification.statement } : null;
      await tx.query(
        `INSERT INTO disclosure_schedule_versions (id, case_id, schedule, version, nil_certified, certification, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [versionId, caseId, input.schedule, version, !!certification, certification, actor.principal.userId],
      );
      const numbered = await this.numberEntries(tx, caseId, input, versionId);
      let position = 0;
      for (const e of numbered) {
        await tx.query(`INSERT INTO disclosure_schedule_entries (version_id, position, item_number, exhibit_id, fields) VALUES ($1, $2, $3, $4, $5)`, [versionId, ++position, e.itemNumber, e.exhibitId ?? null, e.fields]);
      }
      await recordCustodyEvent(tx, {
        type: 'disclosure.schedule_version_created',
        operation: 'alteration',
        caseId,
        actor: actor.principal,
        object: { type: 'disclosure_schedule', id: versionId, version },
        justification: actor.justification,
        context: actor.context,
        details: { schedule: input.schedule, version, items: numbered.map((e) => e.itemNumber), nilCertified: !!certification },
      });
      return versionId;
    });
    return this.viewById(id);
  }

  /** Gives new entries the next item numbers and checks carried ones exist (and are not repeated). */
  private async numberEntries(tx: EntityManager, caseId: string, input: ScheduleVersionInput, versionId: string) {
    const out: { itemNumber: number; exhibitId?: string; fields: Record<string, string> }[] = [];
    const seen = new Set<number>();
    for (const [i, e] of input.entries.entries()) {
      if (e.exhibitId) {
        const x = await one<{ sensitivity: string | null }>(tx, `SELECT sensitivity FROM exhibits WHERE id = $1 AND case_id = $2`, [e.exhibitId, caseId]);
        if (!x) throw new AppError('EXHIBIT_NOT_FOUND', `Entry ${i + 1}: no such exhibit in this case`, 404);
        // Sensitive material never goes on the schedule the defence sees.
        if (input.schedule === 'MG6C' && x.sensitivity === 'sensitive') throw new AppError('SCHEDULE_INVALID', `Entry ${i + 1}: the exhibit is marked sensitive; it belongs on the MG6D`, 400);
      }
      let itemNumber: number;
      if (input.schedule === 'MG6E') {
        const target = e.fields.schedule;
        if (!(await one(tx, `SELECT 1 FROM disclosure_schedule_items WHERE case_id = $1 AND schedule = $2 AND item_number = $3`, [caseId, target, e.itemNumber]))) {
          throw new AppError('SCHEDULE_INVALID', `Entry ${i + 1}: there is no item ${e.itemNumber} on the ${target}`, 400);
        }
        itemNumber = e.itemNumber!;
        out.push({ itemNumber, exhibitId: e.exhibitId, fields: e.fields });
        continue;
      }
      if (e.itemNumber !== undefined) {
        const known = await one<{ exhibit_id: string | null }>(tx, `SELECT exhibit_id FROM disclosure_schedule_items WHERE case_id = $1 AND schedule = $2 AND item_number = $3`, [caseId, input.schedule, e.itemNumber]);
        if (!known) throw new AppError('SCHEDULE_INVALID', `Entry ${i + 1}: item ${e.itemNumber} was never numbered on the ${input.schedule}; leave itemNumber out to add a new item`, 400);
        if (known.exhibit_id && e.exhibitId && known.exhibit_id !== e.exhibitId) throw new AppError('SCHEDULE_INVALID', `Entry ${i + 1}: item ${e.itemNumber} is another exhibit's; a number is never reused`, 400);
        itemNumber = e.itemNumber;
      } else {
        const next = await one<{ n: number }>(tx, `SELECT coalesce(max(item_number), 0)::int + 1 AS n FROM disclosure_schedule_items WHERE case_id = $1 AND schedule = $2`, [caseId, input.schedule]);
        itemNumber = next!.n;
        await tx.query(`INSERT INTO disclosure_schedule_items (case_id, schedule, item_number, exhibit_id, first_version) VALUES ($1, $2, $3, $4, $5)`, [caseId, input.schedule, itemNumber, e.exhibitId ?? null, versionId]);
      }
      if (seen.has(itemNumber)) throw new AppError('SCHEDULE_INVALID', `Entry ${i + 1}: item ${itemNumber} is listed twice`, 400);
      seen.add(itemNumber);
      out.push({ itemNumber, exhibitId: e.exhibitId, fields: e.fields });
    }
    return out;
  }

  async list(caseId: string, actor: Actor): Promise<ScheduleVersionSummary[]> {
    await this.access.resolve(actor.principal, caseId, 'disclosure.manage', { justification: actor.justification, context: actor.context });
    const found = await rows<Record<string, unknown>>(
      this.ds,
      `SELECT v.id, v.schedule, v.version, v.nil_certified, v.created_at, (SELECT count(*)::int FROM disclosure_schedule_entries e WHERE e.version_id = v.id) AS entries
         FROM disclosure_schedule_versions v WHERE v.case_id = $1 ORDER BY v.schedule, v.version`,
      [caseId],
    );
    return found.map((r) => ({ id: r.id as string, schedule: r.schedule as ScheduleType, version: r.version as number, entries: r.entries as number, nilCertified: r.nil_certified as boolean, createdAt: (r.created_at as Date).toISOString() }));
  }

  async get(caseId: string, schedule: string, version: number | 'latest', actor: Actor): Promise<ScheduleVersionView & { id: string }> {
    await this.access.resolve(actor.principal, caseId, 'disclosure.manage', { justification: actor.justification, context: actor.context });
    if (!(SCHEDULE_TYPES as readonly string[]).includes(schedule)) throw new AppError('SCHEDULE_NOT_FOUND', `No schedule ${schedule}; schedules are ${SCHEDULE_TYPES.join(', ')}`, 404);
    const r = await one<{ id: string }>(
      this.ds,
      version === 'latest'
        ? `SELECT id FROM disclosure_schedule_versions WHERE case_id = $1 AND schedule = $2 ORDER BY version DESC LIMIT 1`
        : `SELECT id FROM disclosure_schedule_versions WHERE case_id = $1 AND schedule = $2 AND version = $3`,
      version === 'latest' ? [caseId, schedule] : [caseId, schedule, version],
    );
    if (!r) throw new AppError('SCHEDULE_NOT_FOUND', `No ${schedule} version ${version} on this case`, 404);
    return this.viewById(r.id);
  }

  async viewById(id: string, q: Queryable = this.ds): Promise<ScheduleVersionView & { id: string }> {
    const v = (await one<Record<string, unknown>>(q, `SELECT v.*, c.urn FROM disclosure_schedule_versions v JOIN cases c ON c.id = v.case_id WHERE v.id = $1`, [id]))!;
    const entries = await rows<Record<string, unknown>>(q, `SELECT item_number, exhibit_id, fields FROM disclosure_schedule_entries WHERE version_id = $1 ORDER BY position`, [id]);
    const cert = v.certification as { by: string; at: string; statement: string } | null;
    return {
      id,
      caseUrn: displayUrn(v.urn as string),
      schedule: v.schedule as ScheduleType,
      version: v.version as number,
      nilCertified: v.nil_certified as boolean,
      certification: cert ? { by: cert.by, at: cert.at, statement: cert.statement } : null,
      createdAt: (v.created_at as Date).toISOString(),
      entries: entries.map((e) => ({ itemNumber: e.item_number as number, exhibitId: (e.exhibit_id as string) ?? null, fields: e.fields as Record<string, string> })),
    };
  }

  /** The latest version of each schedule on a case (for a bundle). */
  async latestVersions(caseId: string, q: Queryable = this.ds): Promise<(ScheduleVersionView & { id: string })[]> {
    const ids = await rows<{ id: string }>(q, `SELECT DISTINCT ON (schedule) id FROM disclosure_schedule_versions WHERE case_id = $1 ORDER BY schedule, version DESC`, [caseId]);
    return Promise.all(ids.map((r) => this.viewById(r.id, q)));
  }

  static csv = scheduleCsv;
  static pdf = schedulePdf;
}

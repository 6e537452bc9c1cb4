import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError, isUuid } from '../core/index.js';
import { recordCustodyEvent, type Justification } from '../custody/custody-recorder.js';
import { one, rows, type Queryable } from '../database/sql.js';
import type { Principal, RequestContext } from '../identity/index.js';
import { CaseAccessService, type CaseAccess } from './case-access.service.js';
import type { CreateExhibitInput, UpdateExhibitInput } from './case.schemas.js';
import { parseExhibitReference } from './exhibit-reference.js';
import { exhibitVisibility as visibility } from './sensitive-items.js';

export interface ExhibitView {
  id: string;
  caseId: string;
  reference: string;
  alias: string;
  parentId: string | null;
  sourceType: string;
  description: string;
  producer: string;
  seizedAt: Date | null;
  seizedBy: string | null;
  seizedFrom: string | null;
  seizedWhere: string | null;
  retrieval: Record<string, unknown> | null;
  declaredHashes: { algorithm: string; value: string }[];
  classification: string;
  disclosureUse: string;
  sensitivity: string | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

const SELECT = `SELECT id, case_id, reference, parent_id, source_type, description, producer, seized_at, seized_by, seized_from, seized_where,
  retrieval, declared_hashes, classification, disclosure_use, sensitivity, created_by, created_at, updated_at, version FROM exhibits`;

export const exhibitNotFound = () => new AppError('EXHIBIT_NOT_FOUND', 'No such exhibit on this case', 404);

/** Exhibits on a case; every read is an s.62 consultation and needs a justification. */
@Injectable()
export class ExhibitsService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(CaseAccessService) private readonly access: CaseAccessService,
  ) {}

  async create(principal: Principal, caseId: string, input: CreateExhibitInput, context: RequestContext): Promise<ExhibitView> {
    const ref = parseExhibitReference(input.reference);
    return this.ds.transaction(async (tx) => {
      await this.access.resolve(principal, caseId, 'exhibit.create', { context, tx });
      if (input.disclosureUse || input.sensitivity) {
        await this.access.resolve(principal, caseId, 'exhibit.disclosure', { context, tx });
      }
      let parentId: string | null = null;
      if (ref.parent) {
        const parent = await one<{ id: string }>(tx, `SELECT id FROM exhibits WHERE case_id = $1 AND reference = $2`, [caseId, ref.parent]);
        if (!parent) throw new AppError('PARENT_EXHIBIT_NOT_FOUND', `Sub-exhibit ${ref.reference} needs exhibit ${ref.parent} on this case first`, 400);
        parentId = parent.id;
      }
      let row;
      try {
        row = await one(
          tx,
          `INSERT INTO exhibits (case_id, reference, parent_id, source_type, description, producer, seized_at, seized_by, seized_from, seized_where,
              retrieval, declared_hashes, classification, disclosure_use, sensitivity, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, coalesce($13, 'OFFICIAL'), coalesce($14, 'undetermined'), $15, $16)
           RETURNING id`,
          [caseId, ref.reference, parentId, input.sourceType, input.description, input.producer, input.seizedAt ?? null, input.seizedBy ?? null,
            input.seizedFrom ?? null, input.seizedWhere ?? null, input.retrieval ? JSON.stringify(input.retrieval) : null,
            JSON.stringify((input.declaredHashes ?? []).map((h) => ({ algorithm: h.algorithm, value: h.value.toLowerCase() }))),
            input.classification ?? null, input.disclosureUse ?? null, input.sensitivity ?? null, principal.userId],
        );
      } catch (e) {
        if ((e as { code?: string }).code === '23505') throw new AppError('EXHIBIT_REFERENCE_TAKEN', `Exhibit ${ref.reference} already exists on this case`, 409);
        throw e;
      }
      const exhibit = (await this.load(tx, caseId, row!.id as string))!;
      await recordCustodyEvent(tx, {
        type: 'exhibit.created',
        operation: 'collection',
        caseId,
        actor: principal,
        object: { type: 'exhibit', id: exhibit.id, version: 1 },
        context,
        details: { reference: exhibit.reference, sourceType: exhibit.sourceType, declaredHashes: exhibit.declaredHashes },
      });
      return exhibit;
    });
  }

  async list(principal: Principal, caseId: string, justification: Justification | undefined, context: RequestContext): Promise<ExhibitView[]> {
    requireJustification(justification);
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'case.read', { justification, context, tx });
      const found = await rows(tx, `${SELECT} WHERE case_id = $1 ${visibility(access, '$1')} ORDER BY created_at, id`, [caseId]);
      await recordCustodyEvent(tx, {
        type: 'exhibit.list_consulted',
        operation: 'consultation',
        caseId,
        actor: principal,
        object: { type: 'exhibit_list', id: caseId },
        justification,
        context,
        details: { returned: found.length },
      });
      return found.map(toView);
    });
  }

  async get(principal: Principal, caseId: string, exhibitId: string, justification: Justification | undefined, context: RequestContext): Promise<ExhibitView> {
    requireJustification(justification);
    return this.ds.transaction(async (tx) => {
      const access = await this.access.resolve(principal, caseId, 'case.read', { justification, context, tx });
      const exhibit = await this.load(tx, caseId, exhibitId, access);
      if (!exhibit) throw exhibitNotFound();
      await recordCustodyEvent(tx, {
        type: 'exhibit.consulted',
        operation: 'consultation',
        caseId,
        actor: principal,
        object: { type: 'exhibit', id: exhibit.id, version: exhibit.version },
        justification,
        context,
      });
      return exhibit;
    });
  }

  async update(principal: Principal, caseId: string, exhibitId: string, input: UpdateExhibitInput, context: RequestContext): Promise<ExhibitView> {
    return this.ds.transaction(async (tx) => {
      const disclosureFields = input.disclosureUse !== undefined || input.sensitivity !== undefined;
      const otherFields = Object.keys(input).some((k) => k !== 'disclosureUse' && k !== 'sensitivity');
      const access = await this.access.resolve(principal, caseId, disclosureFields && !otherFields ? 'exhibit.disclosure' : 'exhibit.update', { context, tx });
      if (disclosureFields && !access.can('exhibit.disclosure')) {
        throw new AppError('CASE_PERMISSION_DENIED', 'Only the officer in the case or the disclosure officer can mark used/unused and sensitivity', 403);
      }
      const before = await this.load(tx, caseId, exhibitId, access);
      if (!before) throw exhibitNotFound();
      const columns: Record<string, unknown> = {
        source_type: input.sourceType,
        description: input.description,
        producer: input.producer,
        seized_at: input.seizedAt,
        seized_by: input.seizedBy,
        seized_from: input.seizedFrom,
        seized_where: input.seizedWhere,
        retrieval: input.retrieval === undefined ? undefined : input.retrieval === null ? null : JSON.stringify(input.retrieval),
        declared_hashes: input.declaredHashes === undefined ? undefined : JSON.stringify(input.declaredHashes.map((h) => ({ algorithm: h.algorithm, value: h.value.toLowerCase() }))),
        classification: input.classification,
        disclosure_use: input.disclosureUse,
        sensitivity: input.sensitivity,
      };
      const set = Object.entries(columns).filter(([, v]) => v !== undefined);
      if (!set.length) throw new AppError('NOTHING_TO_UPDATE', 'Send at least one field to change', 400);
      await tx.query(
        `UPDATE exhibits SET ${set.map(([k], i) => `${k} = $${i + 3}`).join(', ')}, updated_at = now(), version = version + 1 WHERE case_id = $1 AND id = $2`,
        [caseId, exhibitId, ...set.map(([, v]) => v)],
      );
      const after = (await this.load(tx, caseId, exhibitId, access))!;
      await recordCustodyEvent(tx, {
        type: 'exhibit.updated',
        operation: 'alteration',
        caseId,
        actor: principal,
        object: { type: 'exhibit', id: exhibitId, version: after.version },
        context,
        // From and to of every changed field (as cases record them), so an exhibit's earlier
        // classification, disclosure marking or declared hashes can be reconstructed from the log.
        details: { changed: Object.fromEntries(set.map(([k]) => [k, { from: before[fieldOf(k)] ?? null, to: after[fieldOf(k)] ?? null }])) },
      });
      return after;
    });
  }

  private async load(q: Queryable, caseId: string, exhibitId: string, access?: CaseAccess): Promise<ExhibitView | undefined> {
    if (!isUuid(exhibitId)) return undefined;
    const row = await one(q, `${SELECT} WHERE case_id = $1 AND id = $2 ${access ? visibility(access, '$1') : ''}`, [caseId, exhibitId]);
    return row ? toView(row) : undefined;
  }
}

/** Consulting or disclosing evidence (s.62) needs a justification; `what` names the act in the refusal. */
export function requireJustification(j: Justification | undefined, what = 'Consulting evidence'): asserts j is Justification {
  if (!j) {
    throw new AppError(
      'JUSTIFICATION_REQUIRED',
      `${what} needs a justification: send X-Justification-Code and X-Justification-Text headers (DPA 2018 s.62)`,
      400,
    );
  }
}

function toView(r: Record<string, unknown>): ExhibitView {
  const reference = r.reference as string;
  return {
    id: r.id as string,
    caseId: r.case_id as string,
    reference,
    alias: reference.replace(/\//g, '_'),
    parentId: (r.parent_id as string) ?? null,
    sourceType: r.source_type as string,
    description: r.description as string,
    producer: r.producer as string,
    seizedAt: (r.seized_at as Date) ?? null,
    seizedBy: (r.seized_by as string) ?? null,
    seizedFrom: (r.seized_from as string) ?? null,
    seizedWhere: (r.seized_where as string) ?? null,
    retrieval: (r.retrieval as Record<string, unknown>) ?? null,
    declaredHashes: (r.declared_hashes as { algorithm: string; value: string }[]) ?? [],
    classification: r.classification as string,
    disclosureUse: r.disclosure_use as string,
    sensitivity: (r.sensitivity as string) ?? null,
    createdBy: r.created_by as string,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
    version: Number(r.version),
  };
}

/** The view field of an exhibits column (declared_hashes -> declaredHashes). */
function fieldOf(column: string): keyof ExhibitView {
  return column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof ExhibitView;
}

import { z } from 'zod';
import { safeText, uuidInput } from '../core/index.js';

/** Where the analyst's examination of an extraction stands, beside its verification state. */
export const EXAMINATION_STATES = ['awaiting', 'in_examination', 'examined', 'not_examined'] as const;
export type ExaminationState = (typeof EXAMINATION_STATES)[number];

const line = (max: number) => safeText(max);
const paragraph = (max: number) => safeText(max, { multiLine: true });

export const transitionSchema = z.strictObject({
  to: z.enum(['in_examination', 'examined', 'not_examined']),
  /** Required to examine a set that did not verify, to record it as not examined, and to reopen an examined one. */
  reason: paragraph(4000).optional(),
});
export type TransitionInput = z.infer<typeof transitionSchema>;

export const noteSchema = z.strictObject({ text: paragraph(20000) });
export type NoteInput = z.infer<typeof noteSchema>;

const isoDate = z.iso.date({ message: 'must be a date YYYY-MM-DD' });

/**
 * The digital strategy record of one device (ACPO principles, FSR Code; College of Policing
 * guidance on digital strategies): what the examination must answer, who used the device, what is
 * in scope and why that is proportionate, and with which tools. Each recording is a new version.
 */
export const strategySchema = z
  .strictObject({
    /** The investigative questions (lines of enquiry) the examination is to answer. */
    investigativeQuestions: z.array(paragraph(2000)).min(1, { message: 'name at least one investigative question' }).max(50),
    /** Who used the device and how that is established (attribution). */
    attribution: paragraph(4000),
    /** What is examined: the whole device, a targeted selection, or nothing. */
    scope: z.enum(['full', 'targeted', 'none']),
    /** Categories of data in scope (messages, images, call logs, locations, …). */
    dataCategories: z.array(line(200)).max(100).default([]),
    /** The periods of interest. */
    dateRanges: z
      .array(z.strictObject({ from: isoDate, to: isoDate, reason: paragraph(1000).optional() }).refine((r) => r.from <= r.to, { message: 'from must not be after to' }))
      .max(50)
      .default([]),
    searchTerms: z.array(line(500)).max(1000).default([]),
    /** The volume of data on the device and what that means for the examination. */
    volume: paragraph(2000).optional(),
    /** Why this scope is necessary and proportionate (privacy of the owner and of third parties). */
    proportionality: paragraph(8000),
    /** Required when scope is none: why the device is not examined. */
    reasonNotExamined: paragraph(4000).optional(),
    tools: z.array(z.strictObject({ name: line(200), version: line(100), purpose: line(500).optional() })).max(50).default([]),
    /** Who agreed the strategy (e.g. the officer in the case or a supervisor). */
    agreedBy: line(200).optional(),
  })
  .refine((s) => s.scope !== 'none' || s.reasonNotExamined !== undefined, { message: 'reasonNotExamined is required when scope is none', path: ['reasonNotExamined'] });
export type StrategyRecord = z.infer<typeof strategySchema>;

export const reportSchema = z.strictObject({
  fileId: uuidInput('must be the id of a sealed evidence file'),
  title: line(500),
});
export type ReportInput = z.infer<typeof reportSchema>;

const sha256 = z.string().regex(/^[0-9a-fA-F]{64}$/, { message: 'must be 64 hexadecimal characters' }).transform((v) => v.toLowerCase());

/** Selected inventory entries to hand on as a derived exhibit: by exact path, inventory index or SHA-256. */
export const exportSchema = z
  .strictObject({
    /** The derived exhibit's reference, a sub-exhibit of the extraction's exhibit; default the next free one. */
    reference: z.string().max(40).optional(),
    description: paragraph(4000).optional(),
    paths: z.array(z.string().min(1).max(4096)).max(10_000).default([]),
    indexes: z.array(z.number().int().min(0).max(2 ** 31 - 1)).max(10_000).default([]),
    sha256s: z.array(sha256).max(10_000).default([]),
  })
  .refine((s) => s.paths.length + s.indexes.length + s.sha256s.length > 0, { message: 'select at least one entry by paths, indexes or sha256s' });
export type ExportInput = z.input<typeof exportSchema>;
export type ExportRequest = z.infer<typeof exportSchema>;

import type { ScheduleType } from './mg6-forms.js';

/**
 * What a bundle holds, one item per file: an exhibit's original (an evidence file) or a working
 * copy made from one (a row of `derivatives`). A new kind is added here and resolved in
 * BundleBuilder.resolveItems (its object, and for a copy its master's SHA-256 and derivation
 * record for the manifest); nothing else changes.
 */
export type BundleItemRef = { kind: 'original'; evidenceFileId: string } | { kind: 'derivative'; derivativeId: string };

/** The item's id, whatever its kind (what a supplementary bundle compares). */
export function itemKey(ref: BundleItemRef): string {
  return ref.kind === 'original' ? `original:${ref.evidenceFileId}` : `derivative:${ref.derivativeId}`;
}

export interface ResolvedItem {
  ref: BundleItemRef;
  exhibitId: string;
  exhibitReference: string;
  /** Sensitive exhibits and items on the MG6D are MG6D material. */
  sensitive: boolean;
  bucket: string;
  objectKey: string;
  size: number;
  sha256: string;
  originalFilename: string;
  /** Where the file goes under exhibits/<ref>/ (made safe by the builder). */
  entryName: string;
  masterSha256?: string;
  derivation?: Record<string, unknown>;
}

export type BundleAudience = 'cps_only' | 'cps_and_defence';

/**
 * MG6D material (sensitive) is never disclosed to the defence, so it may appear only in a bundle
 * marked CPS-only. Returns one sentence per breach; the builder refuses when there is any.
 */
export function audienceBreaches(audience: BundleAudience, items: Pick<ResolvedItem, 'sensitive' | 'exhibitReference'>[], schedules: ScheduleType[]): string[] {
  if (audience === 'cps_only') return [];
  const out: string[] = [];
  for (const i of items) if (i.sensitive) out.push(`exhibit ${i.exhibitReference} is sensitive (MG6D) material`);
  if (schedules.includes('MG6D')) out.push('the MG6D schedule lists sensitive material');
  return out;
}

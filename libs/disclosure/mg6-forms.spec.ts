import { describe, expect, it } from '@jest/globals';
import { inflateSync } from 'node:zlib';
import { MG6_FORMS, scheduleCsv, schedulePdf, type ScheduleVersionView } from './mg6-forms.js';

const v: ScheduleVersionView = {
  caseUrn: '01/AB/12345/23',
  schedule: 'MG6C',
  version: 2,
  nilCertified: false,
  certification: null,
  createdAt: '2026-11-30T10:00:00.000Z',
  entries: [
    { itemNumber: 1, exhibitId: null, fields: { description: 'CCTV, 12 Jan 2026, "front door"', location: 'Store room', cpsDecision: 'D' } },
    { itemNumber: 3, exhibitId: null, fields: { description: '=HYPERLINK("x")', location: 'Station', comment: 'Łukasz' } },
  ],
};

describe('MG6 schedules', () => {
  it('CSV has the form columns in order, quotes, and defuses spreadsheet formulas', () => {
    const csv = scheduleCsv(v);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(MG6_FORMS.MG6C.columns.map((c) => c.label).join(','));
    expect(lines[0]).toBe('Item no.,Description and relevant date,Location,CPS decision (D / CND / I),Comment');
    expect(lines[1]).toBe('1,"CCTV, 12 Jan 2026, ""front door""",Store room,D,');
    expect(lines[2]).toBe(`3,"'=HYPERLINK(""x"")",Station,,Łukasz`);
  });

  it('a nil MG6D says so', () => {
    const nil = scheduleCsv({ ...v, schedule: 'MG6D', entries: [], nilCertified: true, certification: { by: 'do1', at: '2026-11-30T10:00:00Z', statement: 'There is no sensitive material' } });
    expect(nil).toContain('NIL RETURN: There is no sensitive material (do1');
    expect(nil.split('\r\n')[0]).toContain('Reason for sensitivity');
  });

  it('PDF renders, the same bytes each time, with one page per ~20 rows', async () => {
    const pdf = await schedulePdf(v);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect((await schedulePdf(v)).equals(pdf)).toBe(true);
    const many = await schedulePdf({ ...v, entries: Array.from({ length: 120 }, (_, i) => ({ itemNumber: i + 1, exhibitId: null, fields: { description: `Item ${i + 1}`, location: 'Store' } })) });
    const pages = (many.toString('latin1').match(/\/Type \/Page\b/g) ?? []).length;
    expect(pages).toBeGreaterThan(1);
  });

  it('PDF embeds its fonts (DejaVu subsets, no standard font left to the reader) and keeps letters beyond Latin-1', async () => {
    const pdf = await schedulePdf({ ...v, entries: [...v.entries, { itemNumber: 4, exhibitId: null, fields: { description: 'Żółć — Лукаш', location: 'Store' } }] });
    const raw = pdf.toString('latin1');
    // Every font is a Type0/CIDFontType2 with an embedded TrueType program, none of the 14 standard fonts.
    expect(raw).not.toMatch(/\/BaseFont \/(Helvetica|Courier|Times)/);
    const fonts = [...raw.matchAll(/\/BaseFont \/([A-Z]{6}\+[\w-]+)/g)].map((m) => m[1].slice(7));
    expect(new Set(fonts)).toEqual(new Set(['DejaVuSans', 'DejaVuSans-Bold']));
    expect((raw.match(/\/FontFile2 /g) ?? []).length).toBe(2);
    // The ToUnicode maps carry the real code points, so the text is found and copied as typed.
    const streams = [...raw.matchAll(/stream\n([\s\S]*?)\nendstream/g)].map((m) => {
      try {
        return inflateSync(Buffer.from(m[1], 'latin1')).toString('latin1');
      } catch {
        return '';
      }
    });
    const cmaps = streams.filter((t) => t.includes('begincmap')).join('\n').toLowerCase();
    for (const cp of ['0141', '017b', '00f3', '0142', '0107', '2014', '041b']) expect(cmaps).toContain(`<${cp}>`);
    expect(raw).not.toContain('?ukasz');
  });
});

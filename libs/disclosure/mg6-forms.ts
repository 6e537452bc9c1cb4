import PDFDocument from 'pdfkit';
import { pdfText, useDisclosureFonts } from './pdf-fonts.js';

/**
 * The MG6 schedules as data, one table per form (docs/domain.md; the exact
 * national headings were not confirmed, so a force adjusts labels here, not in code paths).
 * `key` is the field in an entry; `label` the column heading in CSV and PDF.
 */
export const SCHEDULE_TYPES = ['MG6C', 'MG6D', 'MG6E'] as const;
export type ScheduleType = (typeof SCHEDULE_TYPES)[number];

export interface FormColumn {
  key: string;
  label: string;
  /** Relative width in the PDF table. */
  width: number;
  required?: boolean;
  /** Allowed values, when the column is a choice. */
  values?: readonly string[];
}

export const MG6_FORMS: Record<ScheduleType, { title: string; columns: FormColumn[] }> = {
  MG6C: {
    title: 'MG6C Police schedule of relevant non-sensitive unused material',
    columns: [
      { key: 'itemNumber', label: 'Item no.', width: 1 },
      { key: 'description', label: 'Description and relevant date', width: 6, required: true },
      { key: 'location', label: 'Location', width: 3, required: true },
      { key: 'cpsDecision', label: 'CPS decision (D / CND / I)', width: 2, values: ['D', 'CND', 'I'] },
      { key: 'comment', label: 'Comment', width: 3 },
    ],
  },
  MG6D: {
    title: 'MG6D Police schedule of relevant sensitive unused material',
    columns: [
      { key: 'itemNumber', label: 'Item no.', width: 1 },
      { key: 'description', label: 'Description of item', width: 5, required: true },
      { key: 'sensitivityReason', label: 'Reason for sensitivity', width: 4, required: true },
      { key: 'cpsView', label: 'CPS view (agree sensitive / PII application / comment)', width: 4, values: ['agree_sensitive', 'pii_application', 'comment'] },
      { key: 'comment', label: 'Comment', width: 3 },
    ],
  },
  MG6E: {
    title: "MG6E Disclosure officer's report",
    columns: [
      { key: 'itemNumber', label: 'Item no. (as on MG6C/MG6D)', width: 1 },
      { key: 'schedule', label: 'Schedule', width: 1, required: true, values: ['MG6C', 'MG6D'] },
      { key: 'reason', label: 'Why it might undermine the prosecution or assist the defence', width: 7, required: true },
      { key: 'copyToCps', label: 'Copy to CPS', width: 1, values: ['yes', 'no'] },
    ],
  },
};

export interface ScheduleEntryView {
  itemNumber: number;
  exhibitId: string | null;
  fields: Record<string, string>;
}

export interface ScheduleVersionView {
  caseUrn: string;
  schedule: ScheduleType;
  version: number;
  nilCertified: boolean;
  certification: { by: string; at: string; statement: string } | null;
  createdAt: string;
  entries: ScheduleEntryView[];
}

function csvCell(v: string): string {
  // A leading =, +, - or @ would run as a formula in a spreadsheet: prefix a quote (OWASP CSV injection).
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** CSV (RFC 4180, CRLF) with the form's columns in order; a nil MG6D says so in its one row. */
export function scheduleCsv(v: ScheduleVersionView): string {
  const cols = MG6_FORMS[v.schedule].columns;
  const out = [cols.map((c) => csvCell(c.label)).join(',')];
  for (const e of v.entries) out.push(cols.map((c) => csvCell(c.key === 'itemNumber' ? String(e.itemNumber) : (e.fields[c.key] ?? ''))).join(','));
  if (v.nilCertified) out.push(csvCell(`NIL RETURN: ${v.certification?.statement ?? 'there is no sensitive material'} (${v.certification?.by ?? ''}, ${v.certification?.at ?? ''})`));
  return out.join('\r\n') + '\r\n';
}

/** pdfkit's built-in fonts encode WinAnsi only: characters outside it are shown as '?' rather than dropped silently. */
/**
 * The schedule as a landscape A4 PDF in the familiar layout: title block, a table whose header
 * row repeats on every page, "Page i of N" footers. Creation dates are fixed from the version so
 * the same version gives the same bytes.
 */
export function schedulePdf(v: ScheduleVersionView): Promise<Buffer> {
  const form = MG6_FORMS[v.schedule];
  const created = new Date(v.createdAt);
  const doc = new PDFDocument({ size: 'A4', layout: 'landscape', margin: 36, bufferPages: true, info: { Title: `${v.schedule} ${v.caseUrn} v${v.version}`, Producer: 'dems', Creator: 'dems', CreationDate: created, ModDate: created } });
  useDisclosureFonts(doc);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const left = doc.page.margins.left;
  const usable = doc.page.width - left - doc.page.margins.right;
  const totalWeight = form.columns.reduce((a, c) => a + c.width, 0);
  const widths = form.columns.map((c) => (usable * c.width) / totalWeight);
  const bottom = () => doc.page.height - doc.page.margins.bottom - 20;

  const title = () => {
    doc.font('bold').fontSize(13).text(pdfText(form.title), left, doc.page.margins.top);
    doc.font('regular').fontSize(9).text(pdfText(`Case URN ${v.caseUrn}    Version ${v.version}    Made ${v.createdAt}`));
    doc.moveDown(0.5);
  };
  const row = (cells: string[], bold: boolean) => {
    doc.font(bold ? 'bold' : 'regular').fontSize(8.5);
    const heights = cells.map((c, i) => doc.heightOfString(pdfText(c), { width: widths[i] - 6 }));
    const h = Math.max(...heights) + 6;
    if (doc.y + h > bottom()) {
      doc.addPage();
      title();
      if (!bold) header();
      doc.font('regular').fontSize(8.5);
    }
    const y = doc.y;
    let x = left;
    cells.forEach((c, i) => {
      doc.rect(x, y, widths[i], h).stroke();
      doc.text(pdfText(c), x + 3, y + 3, { width: widths[i] - 6 });
      x += widths[i];
    });
    doc.x = left;
    doc.y = y + h;
  };
  const header = () => row(form.columns.map((c) => c.label), true);

  title();
  header();
  for (const e of v.entries) row(form.columns.map((c) => (c.key === 'itemNumber' ? String(e.itemNumber) : (e.fields[c.key] ?? ''))), false);
  if (v.nilCertified) {
    doc.moveDown();
    doc.font('bold').fontSize(11).text('NIL RETURN', left);
    doc.font('regular').fontSize(10).text(pdfText(`${v.certification?.statement ?? ''}\nCertified by ${v.certification?.by ?? ''} on ${v.certification?.at ?? ''}`));
  }
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const footerY = doc.page.height - doc.page.margins.bottom - 10;
    doc.page.margins.bottom = 0; // writing in the margin must not open a new page
    doc.font('regular').fontSize(8).text(`Page ${i + 1} of ${range.count}`, left, footerY, { width: usable, align: 'right', lineBreak: false });
  }
  doc.end();
  return done;
}

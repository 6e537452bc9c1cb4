import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * The fonts every disclosure PDF embeds (schedules, bundle index): DejaVu Sans, Sans Bold and
 * Sans Mono from the npm package dejavu-fonts-ttf (Bitstream Vera licence, free to embed and
 * redistribute; its LICENSE ships with the package). The PDF's 14 standard fonts are WinAnsi
 * only and are drawn with whatever the reader substitutes; an embedded subset renders the same
 * everywhere and covers Latin Extended (Łukasz Żółć), Greek and Cyrillic. Read once per process.
 */
const files = { regular: 'DejaVuSans.ttf', bold: 'DejaVuSans-Bold.ttf', mono: 'DejaVuSansMono.ttf' } as const;
export type PdfFont = keyof typeof files;

let loaded: Record<PdfFont, Buffer> | undefined;

/** Registers the fonts on a document under the names `regular`, `bold` and `mono`. */
export function useDisclosureFonts(doc: PDFKit.PDFDocument): void {
  loaded ??= Object.fromEntries(Object.entries(files).map(([k, f]) => [k, readFileSync(require.resolve(`dejavu-fonts-ttf/ttf/${f}`))])) as Record<PdfFont, Buffer>;
  for (const [name, data] of Object.entries(loaded)) doc.registerFont(name, data);
  doc.font('regular');
}

/** Text as the PDF gets it: NFC (one glyph per accented letter), with control characters other than line breaks removed. */
export function pdfText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.normalize('NFC').replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, '');
}

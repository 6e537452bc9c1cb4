import PDFDocument from 'pdfkit';
import { escapeHtml, type BundleManifest } from './bundle-layout.js';
import { pdfText, useDisclosureFonts } from './pdf-fonts.js';

function groups(m: BundleManifest) {
  const byRef = new Map<string, BundleManifest['files']>();
  for (const f of m.files) if (f.exhibitReference && (f.kind === 'original' || f.kind === 'derivative')) byRef.set(f.exhibitReference, [...(byRef.get(f.exhibitReference) ?? []), f]);
  return [...byRef.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
}

/** The page a lawyer opens first: static, escaped, no scripts, relative links to the entries. */
export function indexHtml(m: BundleManifest): string {
  const rows = groups(m)
    .map(
      ([ref, files]) =>
        `<h2>Exhibit ${escapeHtml(ref)}</h2>\n<table><tr><th>File</th><th>Original name</th><th>Bytes</th><th>SHA-256</th></tr>\n` +
        files.map((f) => `<tr><td><a href="${encodeURI(f.path)}">${escapeHtml(f.path)}</a></td><td>${escapeHtml(f.originalFilename ?? '')}</td><td>${f.size}</td><td><code>${f.sha256}</code></td></tr>`).join('\n') +
        '\n</table>',
    )
    .join('\n');
  const others = m.files
    .filter((f) => f.kind !== 'original' && f.kind !== 'derivative')
    .map((f) => `<li><a href="${encodeURI(f.path)}">${escapeHtml(f.path)}</a> <code>${f.sha256}</code></li>`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Disclosure bundle ${escapeHtml(m.caseUrn)} v${m.version}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #888;padding:4px;text-align:left}code{font-size:85%}</style></head>
<body>
<h1>Disclosure bundle: case ${escapeHtml(m.caseUrn)}, version ${m.version}</h1>
<p>Bundle ${escapeHtml(m.bundleId)}, made ${escapeHtml(m.createdAt)} (UTC). ${m.audience === 'cps_only' ? '<strong>CPS ONLY: may hold sensitive (MG6D) material.</strong>' : 'Holds no sensitive (MG6D) material.'}
${m.supplementaryTo ? `This is a supplementary bundle: it holds only what changed since bundle ${escapeHtml(m.supplementaryTo)}.` : ''}</p>
<p>How to check every file: see README.txt. Custody records are proven against the signed log of size ${m.checkpoint.treeSize}.</p>
${rows}
<h2>Other files</h2><ul>
${others}
</ul>
</body></html>
`;
}

/** The same index as a PDF (fixed dates, so the same bundle gives the same bytes). */
export function indexPdf(m: BundleManifest): Promise<Buffer> {
  const when = new Date(m.createdAt);
  const doc = new PDFDocument({ size: 'A4', margin: 40, info: { Title: `Disclosure bundle ${m.caseUrn} v${m.version}`, Producer: 'dems', Creator: 'dems', CreationDate: when, ModDate: when } });
  useDisclosureFonts(doc);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.font('bold').fontSize(15).text(pdfText(`Disclosure bundle: case ${m.caseUrn}, version ${m.version}`));
  doc.font('regular').fontSize(9).text(pdfText(`Bundle ${m.bundleId}, made ${m.createdAt} (UTC). ${m.audience === 'cps_only' ? 'CPS ONLY: may hold sensitive (MG6D) material.' : 'Holds no sensitive (MG6D) material.'}`));
  if (m.supplementaryTo) doc.text(pdfText(`Supplementary bundle: only what changed since bundle ${m.supplementaryTo}.`));
  doc.text(`Custody records are proven against the signed log of size ${m.checkpoint.treeSize}. README.txt explains the checks.`);
  for (const [ref, files] of groups(m)) {
    doc.moveDown().font('bold').fontSize(11).text(pdfText(`Exhibit ${ref}`));
    for (const f of files) {
      doc.font('regular').fontSize(9).text(pdfText(`${f.path}  (${f.originalFilename ?? ''}, ${f.size} bytes)`));
      doc.font('mono').fontSize(8).text(`SHA-256 ${f.sha256}`);
    }
  }
  doc.end();
  return done;
}

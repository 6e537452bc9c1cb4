import Table from 'cli-table3';

export function printTable(head: string[], rows: string[][], empty = '(none)'): void {
  if (!rows.length) {
    console.log(empty);
    return;
  }
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows);
  console.log(t.toString());
}

/** One record as label/value rows; empty values are left out so the listing stays readable. */
export function printDetails(pairs: [string, string | number | null | undefined][]): void {
  const t = new Table({ style: { head: [], border: [] } });
  for (const [label, value] of pairs) if (value !== null && value !== undefined && value !== '') t.push({ [label]: String(value) });
  console.log(t.toString());
}

/** Shortens free text for a table cell (one line, at most `max` characters). */
export function truncate(text: string | null | undefined, max = 50): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

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

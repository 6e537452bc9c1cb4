import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/fixtures/ in this repository, whatever the working directory (see test/fixtures/README.md). */
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Absolute path of a file under test/fixtures/, e.g. fixturePath('video', 'BA_MW_D.264'). */
export function fixturePath(...parts: string[]): string {
  return join(FIXTURES_DIR, ...parts);
}

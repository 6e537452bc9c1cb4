import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturePath } from '../support/fixtures.js';

// The repository must stand alone: cloned anywhere, nothing in it may point at files beside it
// (a sibling folder, the author's machine). This reads every file of the repository and names
// file:line for each reference that leaves it:
// - a sibling "shared" folder reached with ../ (where design notes and test data used to live);
// - an absolute path under the development machine's /work folder;
// - a relative path (string literal, markdown link, shell argument…) that, resolved from the
//   file's own folder, climbs above the repository root;
// - a symbolic link whose target is outside the repository.
// Imports such as '../../libs/x.js' stay inside and are fine, as are node_modules paths and URLs.
// Test fixtures (test/fixtures/) and binary files (any NUL byte) are not read. A line that must
// hold such a path on purpose (e.g. a path-traversal test input) can say so with the marker
// "standalone-repository: allow".

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Built at run time so that this file does not match its own patterns.
const SHARED = ['..', 'shared'].join('/');
const WORK = '/' + 'work/';
const ALLOW = 'standalone-repository: ' + 'allow';

const SHARED_REF = new RegExp(`(?<![\\w./-])(?:\\.\\./)*${SHARED.replace(/\./g, '\\.')}(?![\\w.-])`);
// Not part of a URL's path (http://host/work/…): the character before the slash is no host character.
const WORK_REF = new RegExp(`(?:^|[^\\w.~-])${WORK}`);
const PATH_TOKEN = /[\w@.+~/-]+/g;
const SKIP_DIRS = new Set(['node_modules', 'dist', '.local', '.git', 'coverage']);
const SKIP_PREFIXES = ['test/fixtures/'];

interface Finding {
  file: string;
  line: number;
  reason: string;
  text: string;
}

/** A relative path that goes up (..) and then names something; a bare `..` or `../..` in prose names nothing. */
function climbsToName(token: string): boolean {
  if (token.startsWith('/') || token.startsWith('~')) return false;
  const parts = token.replace(/\/+$/, '').split('/');
  const last = parts[parts.length - 1];
  return parts.includes('..') && last !== '' && last !== '.' && last !== '..';
}

/** Where a relative path written in `file` (repository-relative, posix) leads; null if it leaves the repository. */
function resolveInside(file: string, target: string): string | null {
  const resolved = posix.normalize(posix.join(posix.dirname(file), target));
  return resolved === '..' || resolved.startsWith('../') ? null : resolved;
}

/** The references in one file's text that point outside the repository. */
export function outsideReferences(file: string, text: string): Finding[] {
  const found: Finding[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.includes(ALLOW)) return;
    const reasons: string[] = [];
    if (SHARED_REF.test(line)) reasons.push(`"${SHARED}" is a folder beside the repository`);
    if (WORK_REF.test(line)) reasons.push(`absolute path under ${WORK}`);
    const climbing = (line.match(PATH_TOKEN) ?? []).find(
      (token) => climbsToName(token) && resolveInside(file, token) === null,
    );
    if (climbing) reasons.push(`"${climbing}" climbs above the repository root from ${posix.dirname(file)}/`);
    if (reasons.length) found.push({ file, line: i + 1, reason: reasons.join('; '), text: line.trim().slice(0, 160) });
  });
  return found;
}

/** Repository files through git (tracked, plus new files not ignored), or null without git. */
function gitFiles(): string[] | null {
  try {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 * 1024 * 1024,
    });
    return [...new Set(out.split('\0').filter(Boolean))];
  } catch {
    return null;
  }
}

/** Without git (an exported tarball): every file, skipping dependencies, build output and local state. */
function walkFiles(dir = ''): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) files.push(...walkFiles(rel));
    } else if (entry.name !== '.env' && !entry.name.endsWith('.log') && !(dir === 'bench/results' && entry.name.endsWith('.json'))) {
      files.push(rel);
    }
  }
  return files;
}

function scanRepository(files: string[]): Finding[] {
  const found: Finding[] = [];
  for (const file of files) {
    if (SKIP_PREFIXES.some((p) => file.startsWith(p))) continue;
    const abs = join(ROOT, file);
    let stat;
    try {
      stat = lstatSync(abs);
    } catch {
      continue; // listed by git but deleted in the working tree
    }
    if (stat.isSymbolicLink()) {
      const target = readlinkSync(abs);
      if (target.startsWith('/') || resolveInside(file, target) === null) {
        found.push({ file, line: 0, reason: `symbolic link to ${target}, outside the repository`, text: '' });
      }
      continue;
    }
    if (!stat.isFile()) continue;
    const bytes = readFileSync(abs);
    if (bytes.includes(0)) continue;
    found.push(...outsideReferences(file, bytes.toString('utf8')));
  }
  return found;
}

const show = (f: Finding) => `${f.file}:${f.line}: ${f.reason}${f.text ? `\n    ${f.text}` : ''}`;

describe('the repository stands alone', () => {
  it('has no file pointing outside the repository', () => {
    const files = gitFiles() ?? walkFiles();
    expect(files).toContain('package.json');
    expect(scanRepository(files).map(show)).toEqual([]);
  });

  it('holds the test fixtures, each as listed (size and SHA-256) in test/fixtures/README.md', () => {
    const readme = readFileSync(fixturePath('README.md'), 'utf8');
    const listed = [...readme.matchAll(/^## (\S+)\/ [^\n]*\n((?:.*\n)*?)(?=^## |(?![\s\S]))/gm)].flatMap(([, folder, body]) =>
      [...body.matchAll(/^\| `([^`]+)` \| ([\d,]+) \| `([0-9a-f]{64})` \|/gm)].map(([, name, bytes, sha256]) => ({
        file: `${folder}/${name}`,
        bytes: Number(bytes.replace(/,/g, '')),
        sha256,
      })),
    );
    const present = readdirSync(fixturePath(), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(fixturePath(d.name)).map((name) => `${d.name}/${name}`));
    expect(listed.map((l) => l.file).sort()).toEqual(present.sort());
    for (const { file, bytes, sha256 } of listed) {
      const data = readFileSync(fixturePath(file));
      expect({ file, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') }).toEqual({ file, bytes, sha256 });
    }
  });

  it('finds the same files by walking the tree when git is not available', () => {
    const walked = walkFiles();
    expect(walked).toEqual(expect.arrayContaining(['README.md', 'package.json', 'test/unit/standalone-repository.spec.ts']));
    expect(walked.filter((f) => f.split('/').some((part) => SKIP_DIRS.has(part)))).toEqual([]);
  });
});

describe('outsideReferences (the detector itself)', () => {
  const lines = (file: string, text: string) => outsideReferences(file, text).map((f) => f.line);
  const up = (n: number) => '../'.repeat(n);

  it('flags test data read from a sibling shared folder', () => {
    const found = outsideReferences('test/e2e/ingest.test.ts', `const MiB = 1;\nconst T = '${SHARED}/testdata';\n`);
    expect(found).toEqual([expect.objectContaining({ file: 'test/e2e/ingest.test.ts', line: 2 })]);
    expect(lines('README.md', `Design: \`${SHARED}/ARCHITECTURE.md\``)).toEqual([1]);
  });

  it('flags a markdown link that climbs out of the repository', () => {
    expect(outsideReferences('README.md', 'See [x](../../outside.md).')).toEqual([
      expect.objectContaining({ line: 1, reason: expect.stringContaining('climbs above the repository root') }),
    ]);
    expect(lines('README.md', '[x](../outside.md)')).toEqual([1]);
    expect(lines('docs/a.md', '[x](../../outside.md)')).toEqual([1]);
    expect(lines('docs/a.md', '[x](../README.md) and [y](./domain.md)')).toEqual([]);
  });

  it('flags relative paths too deep for the file that holds them, and absolute /work paths', () => {
    expect(lines('test/e2e/x.test.ts', `readFileSync('${up(3)}x.bin')`)).toEqual([1]);
    expect(lines('test/e2e/x.test.ts', `join(process.cwd(), '${up(3)}data', 'a.bin')`)).toEqual([1]);
    expect(lines('scripts/x.sh', `cat ${up(2)}etc/x.conf`)).toEqual([1]);
    expect(lines('scripts/x.sh', `DATA=${WORK}main/.local`)).toEqual([1]);
    expect(lines('docs/x.md', `file://${WORK}x`)).toEqual([1]);
  });

  it('leaves references that stay inside alone', () => {
    const inside = [
      `import { x } from '${up(2)}libs/core/index.js';`,
      `import { y } from '${up(3)}libs/custody/index.js';`,
      "const API = fileURLToPath(new URL('../apps/api/main.js', import.meta.url));",
      'node node_modules/jest/bin/jest.js',
      'cd "$(dirname "$0")/.."',
      "for (const f of ['../x', 'a/../../x']) {}",
      'https://example.org/work/notes and 1.10–1.31 and wait…',
    ];
    expect(outsideReferences('test/integration/database/x.test.ts', inside.join('\n'))).toEqual([]);
    expect(lines('README.md', 'names with `..` or absolute paths are refused; cd .. and ../..')).toEqual([]);
    expect(lines('libs/x/y.ts', `const evil = '${up(4)}etc/passwd'; // ${ALLOW}`)).toEqual([]);
  });
});

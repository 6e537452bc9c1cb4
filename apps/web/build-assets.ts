import { cpSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileStyles } from './styles.js';

/**
 * Run after tsc (npm run build): puts the web application's templates, browser scripts and
 * compiled stylesheet beside its compiled server in dist/, which is all the Docker image keeps.
 */
const out = dirname(fileURLToPath(import.meta.url));
// Compiled to dist/apps/web/build-assets.js: the sources are three levels up, in the repository's apps/web.
const source = resolve(out, '..', '..', '..', 'apps', 'web');
cpSync(join(source, 'templates'), join(out, 'templates'), { recursive: true });
cpSync(join(source, 'assets'), join(out, 'assets'), { recursive: true, filter: (f) => !f.endsWith('.scss') });
writeFileSync(join(out, 'assets', 'app.css'), await compileStyles(join(source, 'assets', 'app.scss')));

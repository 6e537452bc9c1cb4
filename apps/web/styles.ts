import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The stylesheet: GOV.UK Frontend and MoJ Frontend compiled from their Sass with our settings
 * (system fonts, no webfonts). The build writes it next to the compiled server (build-assets.ts);
 * running from source (tests, development) compiles it once at start-up instead.
 */
export async function appStylesheet(assetsDir: string): Promise<string> {
  const built = join(assetsDir, 'app.css');
  if (existsSync(built)) return readFileSync(built, 'utf8');
  return compileStyles(join(assetsDir, 'app.scss'));
}

export async function compileStyles(scssFile: string): Promise<string> {
  const sass = await import('sass');
  // MoJ's Sass forwards `node_modules/govuk-frontend/...`: the load path is the folder holding node_modules.
  const packages = dirname(dirname(dirname(require.resolve('govuk-frontend/package.json'))));
  const result = sass.compile(scssFile, { loadPaths: [packages, join(packages, 'node_modules')], style: 'compressed', logger: sass.Logger.silent });
  return result.css;
}

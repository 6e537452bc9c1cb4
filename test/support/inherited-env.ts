/**
 * This process's environment (the suite's settings, as scripts/test.sh exported them) with
 * `overrides` on top, for a child that needs the whole configuration; undefined removes a setting.
 */
export function inheritedEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';

describe('nest-cli.json', () => {
  it('lists every app under apps/ and every library under libs/, each at its own folder', () => {
    const projects = JSON.parse(readFileSync('nest-cli.json', 'utf8')).projects as Record<string, { type: string; root: string }>;
    const folders = (dir: string) => readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => `${dir}/${e.name}`);
    const listed = (type: string) => Object.values(projects).filter((p) => p.type === type).map((p) => p.root).sort();
    expect(listed('application')).toEqual(folders('apps').sort());
    expect(listed('library')).toEqual(folders('libs').sort());
  });
});

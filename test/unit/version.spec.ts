import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { SERVICE_VERSION } from '../../apps/api/version.js';

describe('SERVICE_VERSION', () => {
  it('equals package.json version', () => {
    expect(SERVICE_VERSION).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });
});

import { describe, expect, it } from '@jest/globals';
import argon2 from 'argon2';
// eslint-disable-next-line no-restricted-imports -- the native module itself is what is checked here
import sharp from 'sharp';

// The native modules load and work under the Node.js the project pins (npm test runs on it).
describe('native modules on the pinned Node.js', () => {
  it('argon2 hashes and verifies', async () => {
    const hash = await argon2.hash('correct horse battery staple', { type: argon2.argon2id });
    expect(await argon2.verify(hash, 'correct horse battery staple')).toBe(true);
    expect(await argon2.verify(hash, 'wrong')).toBe(false);
  });

  it('sharp makes and reads an image', async () => {
    const png = await sharp({ create: { width: 3, height: 2, channels: 3, background: '#123456' } }).png().toBuffer();
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 3, height: 2 });
  });
});

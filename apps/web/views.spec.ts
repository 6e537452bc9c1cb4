import { describe, expect, it } from '@jest/globals';
import { fileSize, londonTime } from './views.js';

describe('londonTime', () => {
  it('shows UK local time and says GMT or BST, whatever the server zone', () => {
    expect(londonTime('2026-01-15T12:00:00Z')).toBe('15 January 2026 at 12:00:00 GMT');
    expect(londonTime('2026-07-15T12:00:00Z')).toBe('15 July 2026 at 13:00:00 BST');
    expect(londonTime('2026-07-15T23:30:00Z', 'date')).toBe('16 July 2026');
  });

  it('leaves missing values empty and unreadable ones as they are', () => {
    expect(londonTime(null)).toBe('');
    expect(londonTime('not a date')).toBe('not a date');
  });
});

describe('fileSize', () => {
  it.each([
    [0, '0 bytes'],
    [999, '999 bytes'],
    [1000, '1.0 kB'],
    [4_500_000, '4.5 MB'],
    [214_748_364_800, '214.7 GB'],
  ])('%d bytes reads %s', (bytes, text) => expect(fileSize(bytes)).toBe(text));
});

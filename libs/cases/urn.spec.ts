import { describe, expect, it } from '@jest/globals';
import { displayUrn, parseUrn } from './urn.js';

describe('parseUrn', () => {
  it.each([
    ['01/AB/12345/23', '01AB1234523', '01/AB/12345/23'],
    ['01AB1234523', '01AB1234523', '01/AB/12345/23'],
    ['01 ab 12345 23', '01AB1234523', '01/AB/12345/23'],
    ['  42/ZZ/1234567/99 ', '42ZZ123456799', '42/ZZ/1234567/99'],
    ['42zz123456799', '42ZZ123456799', '42/ZZ/1234567/99'],
    ['01 / AB / 12345 / 23', '01AB1234523', '01/AB/12345/23'],
  ])('accepts %s', (input, normalised, display) => {
    expect(parseUrn(input)).toEqual({ normalised, display });
  });

  it.each([
    '',
    '01/AB/123456/23', // six-digit serial
    '1/AB/12345/23',
    '01/A1/12345/23',
    '01-AB-12345-23',
    '01AB123452', // too short
    '01/AB/12345/2023',
    '01AB12345623', // 12 characters: neither 5- nor 7-digit serial
    "01/AB/12345/23'; DROP TABLE cases;--",
    '0'.repeat(1000),
  ])('rejects %j with INVALID_URN and an example', (input) => {
    expect(() => parseUrn(input)).toThrow(expect.objectContaining({ code: 'INVALID_URN', status: 400, message: expect.stringContaining('01/AB/12345/23') }));
  });

  it('displays a normalised URN with slashes', () => {
    expect(displayUrn('01AB1234523')).toBe('01/AB/12345/23');
  });
});

import { describe, expect, it } from '@jest/globals';
import { parseExhibitReference } from './exhibit-reference.js';

describe('parseExhibitReference', () => {
  it.each([
    ['JS/1', { reference: 'JS/1', parent: undefined, alias: 'JS_1' }],
    ['js/12', { reference: 'JS/12', parent: undefined, alias: 'JS_12' }],
    ['JS/1/2', { reference: 'JS/1/2', parent: 'JS/1', alias: 'JS_1_2' }],
    [' abc / 3 / 1 / 7 ', { reference: 'ABC/3/1/7', parent: 'ABC/3/1', alias: 'ABC_3_1_7' }],
  ])('accepts %s', (input, expected) => {
    expect(parseExhibitReference(input)).toEqual(expected);
  });

  it.each(['', 'JS', 'JS/0', 'JS/01', 'J5/1', 'JS_1', 'ABCDE/1', 'JS/1/2/3/4/5', 'JS/123456', '../1', 'JS/1/'])(
    'rejects %j with INVALID_EXHIBIT_REFERENCE',
    (input) => {
      expect(() => parseExhibitReference(input)).toThrow(expect.objectContaining({ code: 'INVALID_EXHIBIT_REFERENCE', status: 400 }));
    },
  );
});

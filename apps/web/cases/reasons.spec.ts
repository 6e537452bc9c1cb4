import { describe, expect, it } from '@jest/globals';
import { reasonProblems } from './reasons.js';

describe('reasonProblems (what the form must catch before the API can judge a reason)', () => {
  it('accepts a code and words a header can carry', () => {
    expect(reasonProblems('supervision', 'Weekly supervision of Op Lantern, café CCTV')).toEqual([]);
  });

  it('asks for a code the API knows and some text', () => {
    expect(reasonProblems(undefined, '').map((p) => p.field)).toEqual(['code', 'text']);
    expect(reasonProblems('curiosity', 'Looking at the file for the review').map((p) => p.field)).toEqual(['code']);
  });

  it('refuses text a header cannot carry (line breaks, characters beyond Latin-1)', () => {
    expect(reasonProblems('investigation', 'first line\nsecond line').map((p) => p.field)).toEqual(['text']);
    expect(reasonProblems('investigation', 'Reviewing the footage 📹').map((p) => p.field)).toEqual(['text']);
  });
});

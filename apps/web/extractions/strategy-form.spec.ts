import { describe, expect, it } from '@jest/globals';
import { formFromStrategy, strategyFromForm } from './strategy-form.js';

describe('strategy form', () => {
  it('reads one item a line, date ranges as "from to to reason" and tools as "name; version; purpose"', () => {
    const record = strategyFromForm({
      investigativeQuestions: 'Who sent the message?\r\n\r\n  Where was the phone on 2 March?  ',
      attribution: ' Seized on arrest ',
      scope: 'targeted',
      reasonNotExamined: '   ',
      dataCategories: 'messages\nimages\n',
      dateRanges: '2026-03-01 to 2026-03-03 went to the station\n2026-04-01',
      searchTerms: 'meet',
      tools: 'Cellebrite Physical Analyzer; 7.70.0.12\nAXIOM; 8.1; carving',
      proportionality: 'Three days only.',
    });
    expect(record).toEqual({
      investigativeQuestions: ['Who sent the message?', 'Where was the phone on 2 March?'],
      attribution: 'Seized on arrest',
      scope: 'targeted',
      reasonNotExamined: undefined,
      dataCategories: ['messages', 'images'],
      dateRanges: [
        { from: '2026-03-01', to: '2026-03-03', reason: 'went to the station' },
        { from: '2026-04-01', to: '2026-04-01', reason: undefined },
      ],
      searchTerms: ['meet'],
      volume: undefined,
      proportionality: 'Three days only.',
      tools: [
        { name: 'Cellebrite Physical Analyzer', version: '7.70.0.12', purpose: undefined },
        { name: 'AXIOM', version: '8.1', purpose: 'carving' },
      ],
      agreedBy: undefined,
    });
  });

  it('shows a stored version in the form so that saving it unchanged records the same record', () => {
    const record = strategyFromForm({
      investigativeQuestions: 'Q1\nQ2',
      attribution: 'A',
      scope: 'none',
      reasonNotExamined: 'Not needed: confession',
      dateRanges: '2026-03-01 to 2026-03-03 offence',
      tools: 'T; 1; p',
      proportionality: 'P',
      agreedBy: 'DS Smith',
    });
    expect(strategyFromForm(formFromStrategy(record))).toEqual(record);
  });
});

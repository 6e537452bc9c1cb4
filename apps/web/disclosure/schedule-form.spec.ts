import { describe, expect, it } from '@jest/globals';
import { ApiError } from '../api-client.js';
import { entriesFromForm, scheduleErrors } from './schedule-form.js';

describe('schedule form', () => {
  const body = {
    entryCount: '3',
    'e0-itemNumber': '1',
    'e0-description': ' Notes, 3 March ',
    'e0-location': 'Box 4',
    'e0-cpsDecision': '',
    'e1-itemNumber': '2',
    'e1-description': 'Left off',
    'e1-location': 'Box 4',
    'e1-remove': 'yes',
    'e2-itemNumber': '3',
    'e2-description': 'Statement',
    'e2-location': '',
    'new-description': 'New item',
    'new-location': 'Box 5',
    'new-cpsDecision': 'CND',
  };

  it('carries items with their numbers, leaves off those marked, trims, drops empty columns and adds the new item unnumbered', () => {
    expect(entriesFromForm('MG6C', body)).toEqual({
      entries: [
        { itemNumber: 1, fields: { description: 'Notes, 3 March', location: 'Box 4' } },
        { itemNumber: 3, fields: { description: 'Statement' } },
        { fields: { description: 'New item', location: 'Box 5', cpsDecision: 'CND' } },
      ],
      prefixes: ['e0', 'e2', 'new'],
    });
  });

  it('adds nothing when the new item is left empty, and ignores fields of other schedules', () => {
    expect(entriesFromForm('MG6D', { entryCount: '0', 'new-location': 'Box 5' })).toEqual({ entries: [], prefixes: [] });
  });

  it("puts the API's refusal on the entry and column it names, counted among the entries sent", () => {
    const { prefixes } = entriesFromForm('MG6C', body);
    const refused = new ApiError(400, 'SCHEDULE_INVALID', 'Entry 2: Location must be filled in');
    expect(scheduleErrors('MG6C', refused, prefixes)).toEqual([{ field: 'e2-location', text: 'Entry 2: Location must be filled in' }]);
    const empty = new ApiError(400, 'SCHEDULE_INVALID', 'An MG6D with no entries must be certified nil (nilCertification)');
    expect(scheduleErrors('MG6D', empty, [])).toEqual([{ field: 'new-description', text: empty.message }]);
  });
});

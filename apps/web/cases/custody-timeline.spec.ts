import { describe, expect, it } from '@jest/globals';
import { custodyTimeline, type CaseEvent } from './custody-timeline.js';

const event = (leafIndex: number, objectId: string, type = 'exhibit.consulted'): CaseEvent => ({
  event: {
    id: `e${leafIndex}`,
    leafIndex,
    type,
    operation: 'consultation',
    occurredAt: `2026-11-30T10:0${leafIndex}:00Z`,
    actor: { id: '0b2f3c4d-aaaa-bbbb-cccc-000000000001', role: 'investigator' },
    object: { type: 'exhibit', id: objectId },
    justification: null,
    outcome: 'success',
  },
  hash: 'ab'.repeat(32),
});

describe('custodyTimeline', () => {
  it('lists the events newest first, each linking to its in-browser check', () => {
    const items = custodyTimeline([event(1, 'x'), event(2, 'y', 'evidence_file.sealed')], undefined, 'case-1');
    expect(items.map((i) => i.leafIndex)).toEqual([2, 1]);
    expect(items[0].label.text).toBe('evidence file sealed');
    expect(items[0].checkUrl).toBe('/cases/case-1/events/2/check');
  });

  it('keeps only the events about the given objects', () => {
    expect(custodyTimeline([event(1, 'x'), event(2, 'y'), event(3, 'z')], new Set(['x', 'z']), 'c').map((i) => i.leafIndex)).toEqual([3, 1]);
  });
});

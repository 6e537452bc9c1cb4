/** A custody event as GET /cases/:id/events gives it: the event exactly as hashed, and its chain hash. */
export interface CaseEvent {
  event: {
    id: string;
    leafIndex: number;
    type: string;
    operation: string;
    occurredAt: string;
    actor: { id: string; role: string | null } | null;
    object: { type: string; id: string } | null;
    justification: { code: string; text: string } | null;
    outcome: string;
  };
  hash: string;
}

/**
 * MoJ timeline items for a case's events (newest first), optionally only those about the given
 * objects (an exhibit and its files). Each links to the page that checks it in the browser.
 */
export function custodyTimeline(events: CaseEvent[], objectIds: Set<string> | undefined, caseId: string) {
  return events
    .filter((e) => !objectIds || (e.event.object && objectIds.has(e.event.object.id)))
    .reverse()
    .map(({ event }) => ({
      label: { text: event.type.replace(/[._]/g, ' ') },
      byline: { text: event.actor ? `${event.actor.role ?? 'user'} ${event.actor.id.slice(0, 8)}` : 'the service' },
      datetime: { timestamp: event.occurredAt, type: 'datetime' },
      leafIndex: event.leafIndex,
      outcome: event.outcome,
      justification: event.justification,
      checkUrl: `/cases/${encodeURIComponent(caseId)}/events/${event.leafIndex}/check`,
    }));
}

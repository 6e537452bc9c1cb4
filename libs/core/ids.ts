const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a syntactically valid UUID. Ids that are not are answered like unknown ids (404). */
export function isUuid(id: unknown): id is string {
  return typeof id === 'string' && UUID.test(id);
}

/**
 * Thin helpers over TypeORM's raw query(), which answers SELECT with the rows but UPDATE/DELETE
 * with `[rows, affectedCount]`. Repositories use these so callers get plain rows either way.
 */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

function split(result: unknown): { rows: Record<string, unknown>[]; affected?: number } {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return { rows: result[0], affected: result[1] };
  }
  return { rows: (result as Record<string, unknown>[]) ?? [] };
}

export async function rows<T = Record<string, unknown>>(q: Queryable, sql: string, params: unknown[] = []): Promise<T[]> {
  return split(await q.query(sql, params)).rows as T[];
}

export async function one<T = Record<string, unknown>>(q: Queryable, sql: string, params: unknown[] = []): Promise<T | undefined> {
  return (await rows<T>(q, sql, params))[0];
}

/** Rows changed by an UPDATE/DELETE (or returned by a statement with RETURNING). */
export async function affected(q: Queryable, sql: string, params: unknown[] = []): Promise<number> {
  const r = split(await q.query(sql, params));
  return r.affected ?? r.rows.length;
}

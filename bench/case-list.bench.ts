import { loadConfig } from '../libs/config/index.js';
import { recordCustodyEvent } from '../libs/custody/index.js';
import { createDataSource, runMigrations } from '../libs/database/index.js';
import { IdentityService } from '../libs/identity/index.js';
import { loadPath, signIn, signInToWeb, startBenchApi, startBenchWeb } from './bench-api.js';
import type { Benchmark, Figure } from './harness.js';

/**
 * Case list latency at 10k cases / 200k exhibits: p50 and p99 of `GET /api/v1/cases` (first page
 * of 50, and a text search) for a user who is a member of every case, under concurrent load from
 * autocannon against the API running as its own process. Baseline: `GET /health/live` on the same
 * server with the same load (the framework's floor), so the ratio is what our query, access
 * check and s.62 logging add. Then the web application's "My cases" page (HTML, 25 cases, through
 * the API) against the API's JSON for the same page: what server rendering adds (issue #16:
 * render time at most 1.5 times the JSON's).
 */
export const caseList: Benchmark = {
  name: 'case-list',
  description: 'GET /api/v1/cases at 10k cases / 200k exhibits: p50/p99 under load vs the framework floor',
  smoke: { cases: '60', 'exhibits-per-case': '2', seconds: '1', connections: '2' },
  async run(ctx) {
    const cases = Number(ctx.args.get('cases') ?? 10_000);
    const perCase = Number(ctx.args.get('exhibits-per-case') ?? 20);
    const seconds = Number(ctx.args.get('seconds') ?? 10);
    const connections = Number(ctx.args.get('connections') ?? 10);
    const config = loadConfig();
    const ds = createDataSource(config);
    await ds.initialize();
    let stop = () => {};
    try {
      await runMigrations(ds);
      const password = 'bench-password-123';
      const { user } = await new IdentityService(ds).ensureAdmin('bench-investigator', password);
      await ds.query(`UPDATE users SET role = 'investigator' WHERE id = $1`, [user.id]);
      const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM cases`);
      if (n < cases) {
        ctx.log(`seeding ${cases} cases and ${cases * perCase} exhibits`);
        const t0 = Date.now();
        // Seeding is a collection like any other: the database refuses a case, its exhibits and
        // members without a custody event of that case in the same transaction.
        await ds.transaction(async (tx) => {
        const made: { id: string }[] = await tx.query(
          `INSERT INTO cases (urn, title, operation_name, offence_summary, status, created_by, created_at)
           SELECT lpad((g % 100)::text, 2, '0') || 'BN' || lpad(g::text, 7, '0') || '26',
                  'Case ' || g || ' ' || (ARRAY['burglary', 'assault', 'fraud', 'robbery', 'arson'])[1 + g % 5],
                  'Op ' || g, 'Seeded for the case-list benchmark', (ARRAY['open', 'charged', 'closed'])[1 + g % 3], $1,
                  now() - make_interval(mins => g)
             FROM generate_series($2::int + 1, $3::int) g RETURNING id`,
          [user.id, n, cases],
        );
        for (const c of made) await recordCustodyEvent(tx, { type: 'bench.seeded', operation: 'collection', caseId: c.id, details: { exhibits: perCase } });
        await tx.query(`INSERT INTO case_members (case_id, user_id, case_role, added_by) SELECT id, $1, 'officer_in_case', $1 FROM cases ON CONFLICT DO NOTHING`, [user.id]);
        await tx.query(
          `INSERT INTO exhibits (case_id, reference, source_type, description, producer, created_by)
           SELECT c.id, 'BN/' || s, 'cctv', 'Seeded exhibit ' || s, 'B N', $1
             FROM cases c CROSS JOIN generate_series(1, $2::int) s
            WHERE NOT EXISTS (SELECT 1 FROM exhibits e WHERE e.case_id = c.id)`,
          [user.id, perCase],
        );
        });
        await ds.query(`ANALYZE`);
        ctx.log(`seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      }

      const started = await startBenchApi();
      stop = started.stop;
      const base = started.base;
      const accessToken = await signIn(base, 'bench-investigator', password);
      const check = (await (await fetch(`${base}/api/v1/cases?limit=50`, { headers: { authorization: `Bearer ${accessToken}` } })).json()) as { total: number; items: unknown[] };
      if (check.total < cases || check.items.length !== 50) throw new Error(`unexpected list answer: total ${check.total}, ${check.items.length} items`);

      const load = (path: string) => loadPath(ctx, base + path, { connections, seconds, headers: { authorization: `Bearer ${accessToken}` } });
      const floor = await load('/health/live');
      const list = await load('/api/v1/cases?limit=50');
      const search = await load('/api/v1/cases?limit=50&q=burglary');
      const fig = (name: string, ours: number, base: number): Figure => ({ figure: name, unit: 'ms', ours, baseline: base, ratio: base / Math.max(ours, 0.001) });

      const web = await startBenchWeb(base);
      const stopApi = stop;
      stop = () => {
        web.stop();
        stopApi();
      };
      const cookie = await signInToWeb(web.base, 'bench-investigator', password);
      // The page the web application shows first: 25 cases, last changed first.
      const json = await load('/api/v1/cases?limit=25&sort=updatedAt&order=desc');
      const html = await loadPath(ctx, `${web.base}/cases`, { connections, seconds, headers: { cookie } });
      const page = (name: string, ours: number, base: number): Figure => {
        const ratio = ours / Math.max(base, 0.001);
        return { figure: name, unit: 'ms', ours, baseline: base, ratio, target: 'ratio <= 1.5', pass: ratio <= 1.5 };
      };
      return [
        page(`web case list page p50 vs the API's JSON (${cases} cases)`, html.latency.p50, json.latency.p50),
        page(`web case list page p99 vs the API's JSON (${cases} cases)`, html.latency.p99, json.latency.p99),
        fig(`case list p50 (${cases} cases, ${connections} conns)`, list.latency.p50, floor.latency.p50),
        fig(`case list p99 (${cases} cases, ${connections} conns)`, list.latency.p99, floor.latency.p99),
        fig('case search p50', search.latency.p50, floor.latency.p50),
        fig('case search p99', search.latency.p99, floor.latency.p99),
        { figure: 'case list throughput', unit: 'req/s', ours: list.requests.average, baseline: floor.requests.average, ratio: list.requests.average / floor.requests.average },
      ];
    } finally {
      stop();
      await ds.destroy();
    }
  },
};

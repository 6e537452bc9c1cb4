import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ApiHarness, freshUrn, JUSTIFY, type TestUser } from '../support/api-harness.js';

/**
 * Every route of the OpenAPI document, driven with hostile values of each parameter's type (path,
 * query, header) and of its JSON body: nothing may answer 5xx, and every refusal is the stable
 * `{code, message}` shape. Runs are bounded (seeded, a few dozen per route) so the file stays
 * well under a minute; a failure prints the seed and the shrunk request to replay.
 */

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema?: { type?: string; enum?: unknown[] };
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}
interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  enum?: unknown[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
}

const NUL = '\u0000';
/** Strings that have broken parsers, casts and terminals somewhere. */
const HOSTILE_STRINGS = [
  '', ' ', NUL, `a${NUL}b`, '%00', '\u001b[31mred\u0007', 'invoice\u202efdp.exe', '\u2066x\u2069', '\ud800', '\uffff', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '../../etc/passwd', '..', '/', '\\', "'; DROP TABLE cases; --", '" OR 1=1 --', '$1', '%', '_', '*', '{}', '[]', 'null', 'true',
  '-1', '0', '1e309', '9'.repeat(40), 'NaN', 'Infinity', '0x1f', '2026-13-45', '2026-02-30', '0000-01-01', '9999-12-31T25:61:61Z',
  '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF', '{00000000-0000-4000-8000-000000000000}',
  'x'.repeat(5000), 'OFFICIAL-SENSITIVE', 'SECRET', 'JS/1/1/1/1/1/1/1/1', '01/AB/12345/23',
  Buffer.from(JSON.stringify(['not-a-date', '00000000-0000-4000-8000-000000000000'])).toString('base64url'),
  Buffer.from(JSON.stringify([`a${NUL}`, '00000000-0000-4000-8000-000000000000'])).toString('base64url'),
  Buffer.from(JSON.stringify([12, '00000000-0000-4000-8000-000000000000'])).toString('base64url'),
];
const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);
const hostileNumber = fc.oneof(
  fc.constantFrom(-1, 0, 1, 2 ** 31, 2 ** 53, 1e308, -1e308, 0.5, Number.MAX_SAFE_INTEGER + 2),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, [NUL], { [NUL]: 1 }, { a: { b: { c: [1, 'x'] } } }) },
);

/** A value for a parameter: usually hostile for its type, sometimes a good one so deeper code runs. */
function valueFor(schema: JsonSchema | undefined, good: unknown[]): fc.Arbitrary<unknown> {
  const typed = schema?.type === 'integer' || schema?.type === 'number' ? hostileNumber : hostileString;
  const choices = [...good, ...(schema?.enum ?? [])];
  return choices.length ? fc.oneof({ weight: 2, arbitrary: typed }, { weight: 1, arbitrary: hostileValue }, { weight: 2, arbitrary: fc.constantFrom(...choices) }) : fc.oneof({ weight: 3, arbitrary: typed }, { weight: 1, arbitrary: hostileValue });
}

/** A JSON body for the schema: its properties with hostile or good values, sometimes extra keys or the wrong shape. */
function bodyFor(schema: JsonSchema | undefined, good: Record<string, unknown[]>): fc.Arbitrary<unknown> {
  const props = Object.entries(schema?.properties ?? {});
  const object = fc.record(Object.fromEntries(props.map(([k, s]) => [k, valueFor(s, good[k] ?? [])])), { requiredKeys: [] });
  return fc.oneof(
    { weight: 6, arbitrary: object },
    { weight: 1, arbitrary: fc.tuple(object, fc.string({ maxLength: 8 }), hostileValue).map(([o, k, v]) => ({ ...o, [k || NUL]: v })) },
    { weight: 1, arbitrary: hostileValue },
    { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
  );
}

describe('hostile input: no route answers 5xx, every refusal is {code, message}', () => {
  const h = new ApiHarness();
  let oic: TestUser;
  let admin: TestUser;
  let doc: { paths: Record<string, Record<string, Operation>> };
  const good: Record<string, unknown[]> = {};

  beforeAll(async () => {
    await h.start();
    oic = await h.user('oic', 'investigator');
    admin = await h.user('admin', 'administrator');
    const spare = await h.user('spare', 'investigator');
    const c = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: 'Hostile input case' } });
    const x = await h.call('POST', `/api/v1/cases/${c.body.id}/exhibits`, {
      token: oic.token,
      body: { reference: 'JS/1', sourceType: 'cctv', description: 'Shop CCTV export', producer: 'J Smith' },
    });
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    const up = await h.call('POST', '/api/v1/uploads', {
      token: oic.token,
      headers: { 'tus-resumable': '1.0.0', 'upload-length': '10', 'upload-metadata': `caseId ${b64(c.body.id as string)},exhibitId ${b64(x.body.id as string)},filename ${b64('a.bin')}` },
    });
    Object.assign(good, {
      caseId: [c.body.id], exhibitId: [x.body.id], userId: [spare.id], uploadId: [up.headers.get('location')!.split('/').pop()],
      treeSize: ['1'], urn: [freshUrn()], title: ['A title'], reference: ['JS/2'], sourceType: ['cctv'], description: ['A description'],
      producer: ['J Smith'], caseRole: ['reviewer'], createdFrom: ['2026-01-01'], reviewDate: ['2027-01-01'], sort: ['title'], username: [oic.username],
    });
    doc = (await h.call('GET', '/api/docs-json')).body as unknown as typeof doc;
  });
  afterAll(() => h.stop());

  it('reads the routes from the OpenAPI document', () => {
    expect(Object.keys(doc.paths).length).toBeGreaterThan(30);
  });

  const problems: unknown[] = [];
  it('survives hostile values on every route', async () => {
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));
    for (const { path, method, op } of routes) {
      const params = op.parameters ?? [];
      const pathNames = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const schema = Object.values(op.requestBody?.content ?? {})[0]?.schema;
      const request = fc.record({
        path: fc.tuple(...pathNames.map((n) => valueFor(undefined, good[n] ?? [])).concat(fc.constant(''))),
        query: fc.record(Object.fromEntries(params.filter((p) => p.in === 'query').map((p) => [p.name, valueFor(p.schema, good[p.name] ?? [])])), { requiredKeys: [] }),
        justify: fc.boolean(),
        body: schema ? bodyFor(schema, good) : fc.constant(undefined),
        malformed: fc.constantFrom(undefined, undefined, undefined, '{"title": ', '{"a":1}}', '\u0000', 'null', '[', '{"__proto__": {"x": 1}}'),
        admin: fc.boolean(),
      });
      // Password checks hash with argon2id and sign-in locks accounts: fewer runs there.
      const numRuns = /auth\/login|me\/password|users$/.test(path) ? 6 : 25;
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          let url = path;
          pathNames.forEach((n, i) => (url = url.replace(`{${n}}`, encodeURIComponent(String(r.path[i])))));
          const qs = new URLSearchParams(Object.entries(r.query).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : String(JSON.stringify(v))])).toString();
          const hasBody = method !== 'GET' && method !== 'HEAD' && (r.body !== undefined || r.malformed !== undefined);
          const res = await h.call(method, url + (qs ? `?${qs}` : ''), {
            token: r.admin ? admin.token : oic.token,
            headers: { ...(r.justify ? JUSTIFY : {}), ...(hasBody ? { 'content-type': 'application/json' } : {}), ...(path.startsWith('/api/v1/uploads') ? { 'tus-resumable': '1.0.0' } : {}) },
            rawBody: hasBody ? (r.malformed ?? JSON.stringify(r.body)) : undefined,
          });
          const shapeOk = res.status < 400 || method === 'HEAD' || (typeof res.body.code === 'string' && typeof res.body.message === 'string');
          if (res.status >= 500 || !shapeOk) {
            problems.push({ method, url: url.slice(0, 200), qs: qs.slice(0, 200), body: hasBody ? String(r.malformed ?? JSON.stringify(r.body)).slice(0, 200) : undefined, status: res.status, text: res.text.slice(0, 200) });
            return false;
          }
          if (r.malformed && hasBody && res.status === 400 && r.malformed !== 'null' && !r.malformed.startsWith('{"__proto__')) {
            // Not JSON at all: the one code for it (unless something ahead of the body refused first).
            if (!['MALFORMED_JSON', 'UNAUTHENTICATED', 'TOKEN_INVALID', 'INVALID_JUSTIFICATION', 'JUSTIFICATION_REQUIRED', 'INVALID_TEXT'].includes(String(res.body.code))) {
              problems.push({ method, url, malformed: r.malformed, code: res.body.code });
              return false;
            }
          }
          return true;
        }),
        { numRuns, seed: 20261130, endOnFailure: true },
      ).catch(() => undefined);
    }
    expect(problems).toEqual([]);
  });

  it('answers malformed JSON with MALFORMED_JSON, and a NUL with INVALID_TEXT', async () => {
    const bad = await h.call('POST', '/api/v1/cases', { token: oic.token, rawBody: '{"urn": ', headers: { 'content-type': 'application/json' } });
    expect([bad.status, bad.body.code]).toEqual([400, 'MALFORMED_JSON']);
    const nul = await h.call('POST', '/api/v1/cases', { token: oic.token, body: { urn: freshUrn(), title: `a${NUL}b` } });
    expect([nul.status, nul.body.code]).toEqual([400, 'INVALID_TEXT']);
    const q = await h.call('GET', '/api/v1/cases?q=%00', { token: oic.token });
    expect([q.status, q.body.code]).toEqual([400, 'INVALID_TEXT']);
  });

  it.each([
    ['GET', '/api/v1/cases?createdFrom=2026-13-45', undefined, 'VALIDATION_FAILED'],
    ['GET', '/api/v1/cases?createdTo=2026-02-30', undefined, 'VALIDATION_FAILED'],
    ['POST', '/api/v1/cases', { urn: '01/TT/99999/26', title: 'x', reviewDate: '2026-02-30' }, 'VALIDATION_FAILED'],
    ['GET', `/api/v1/cases?cursor=${Buffer.from(JSON.stringify(['not-a-date', '00000000-0000-4000-8000-000000000000'])).toString('base64url')}`, undefined, 'INVALID_CURSOR'],
    ['DELETE', '/api/v1/me/tokens/not-a-uuid', undefined, 'API_TOKEN_NOT_FOUND'],
  ])('%s %s %j -> %s', async (method, path, body, code) => {
    const res = await h.call(method, path, { token: oic.token, body });
    expect(res.status).toBeLessThan(500);
    expect(res.body.code).toBe(code);
  });

  it('refuses a well-signed token for a user that does not exist', async () => {
    const { SignJWT } = await import('jose');
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sid: '00000000-0000-4000-8000-000000000000' })
      .setProtectedHeader({ alg: 'HS256' }).setSubject('00000000-0000-4000-8000-00000000dead').setIssuer('dems').setAudience('dems-api')
      .setIssuedAt(now).setExpirationTime(now + 60)
      .sign(new TextEncoder().encode(h.config.AUTH_JWT_SECRET));
    const res = await h.call('GET', '/api/v1/me', { token });
    expect(res.status).toBe(401);
  });
});

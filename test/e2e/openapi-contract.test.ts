import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { ApiHarness } from '../support/api-harness.js';

describe('the OpenAPI document is a contract', () => {
  const h = new ApiHarness();
  let doc: string;
  beforeAll(async () => {
    await h.start();
    const res = await h.call('GET', '/api/docs-json');
    expect(res.status).toBe(200);
    doc = res.text;
  });
  afterAll(() => h.stop());

  it('passes redocly lint with the recommended rules', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: doc, absoluteRef: 'openapi.json', config });
    const found = problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);
    // The one expected warning: the OIDC sign-in answers only with a redirect to the provider.
    expect(found).toEqual([
      'warn operation-2xx-response #/paths/~1api~1v1~1auth~1oidc~1login/get/responses: Operation must have at least one `2XX` response.',
    ]);
  });

  it('documents the error body, public operations and a server', () => {
    const d = JSON.parse(doc) as {
      servers: { url: string }[];
      components: { schemas: Record<string, { required?: string[] }> };
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>;
    };
    expect(d.servers).toEqual([{ url: h.config.PUBLIC_URL.replace(/\/+$/, '') }]);
    expect(d.components.schemas.Error.required).toEqual(['code', 'message']);
    expect(d.paths['/api/v1/auth/login'].post.security).toEqual([]);
    expect(d.paths['/api/v1/cases'].get.security).toBeUndefined(); // the document-wide bearer requirement
    expect(d.paths['/api/v1/cases/{caseId}'].get.responses['404'].content?.['application/json'].schema.$ref).toBe('#/components/schemas/Error');
  });
});

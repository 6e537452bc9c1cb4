import { describe, expect, it } from '@jest/globals';
import { rateClassOf } from './rate-class.js';

describe('rateClassOf', () => {
  it.each([
    ['GET', '/api/v1/cases', false, 'read'],
    ['head', '/api/v1/uploads/:uploadId', false, 'read'],
    ['OPTIONS', '/api/v1/uploads', true, 'read'],
    ['POST', '/api/v1/cases', false, 'write'],
    ['DELETE', '/api/v1/uploads/:uploadId', false, 'write'],
    ['POST', '/api/v1/auth/login', true, 'auth'],
    ['POST', '/api/v1/auth/refresh', true, 'write'],
    ['GET', '/api/v1/ledger/checkpoint', true, 'read'],
    ['POST', '/api/v1/cases/:caseId/fixity', false, 'expensive'],
    ['post', '/api/v1/uploads', false, 'upload'],
    ['PATCH', '/api/v1/uploads/:uploadId', false, null],
    ['GET', '/health/ready', true, null],
    ['POST', undefined, false, 'write'],
  ] as const)('%s %s (public: %s) is %s', (method, route, isPublic, expected) => {
    expect(rateClassOf(method, route, isPublic)).toBe(expected);
  });
});

import { describe, expect, it } from '@jest/globals';
import { ApiError } from './api-client.js';
import { apiFormErrors } from './api-form-errors.js';

describe('apiFormErrors', () => {
  const fields = ['urn', 'title', 'operationName'];

  it('puts each zod issue of a VALIDATION_FAILED on the field it names, with the field\'s words', () => {
    const e = new ApiError(400, 'VALIDATION_FAILED', 'title: too long; operationName: bad', {
      issues: [
        { path: 'title', message: 'must be at most 200 characters' },
        { path: 'operationName', message: 'must not hold control characters' },
      ],
    });
    expect(apiFormErrors(e, fields)).toEqual([
      { field: 'title', text: 'Title must be at most 200 characters' },
      { field: 'operationName', text: 'Operation name must not hold control characters' },
    ]);
  });

  it('an issue about a field the form has not (or the body as a whole) goes to its first field', () => {
    const e = new ApiError(400, 'VALIDATION_FAILED', 'x', { issues: [{ path: 'retrieval.timeZone', message: 'is wrong' }, { path: '', message: 'is empty' }] });
    expect(apiFormErrors(e, fields).map((p) => p.field)).toEqual(['urn', 'urn']);
  });

  it('a known code goes to its field with the API\'s message; an unknown one to the first field', () => {
    expect(apiFormErrors(new ApiError(409, 'URN_UNAVAILABLE', 'URN 01/AB/12345/23 cannot be used'), fields, { URN_UNAVAILABLE: 'urn' })).toEqual([{ field: 'urn', text: 'URN 01/AB/12345/23 cannot be used' }]);
    expect(apiFormErrors(new ApiError(422, 'SOMETHING_NEW', 'No'), ['title'])).toEqual([{ field: 'title', text: 'No' }]);
  });

  it.each([
    ['a refusal of access', new ApiError(403, 'ROLE_NOT_PERMITTED', 'No')],
    ['a signed-out session', new ApiError(401, 'UNAUTHENTICATED', 'Sign in')],
    ['a failure of the service', new ApiError(502, 'API_UNAVAILABLE', 'Down')],
    ['anything that is not an API answer', new Error('boom')],
  ])('rethrows %s for the error page', (_, e) => {
    expect(() => apiFormErrors(e, fields)).toThrow(e);
  });
});

import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../io/http-types.ts';
import {
  apiMessageOf,
  describeOperation,
  dottedPathToPointer,
  kazooApiError,
  validationFields,
} from './errors.ts';

function response(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponse {
  return { status, headers, body, text: body === undefined ? '' : JSON.stringify(body) };
}

const identity = (t: string): string => t;

describe('dottedPathToPointer', () => {
  it.each([
    ['servers.0.options.inbound_format', '/servers/0/options/inbound_format'],
    [
      'servers.0.DIDs.+14155551234.caller_id.cid_name',
      '/servers/0/DIDs/+14155551234/caller_id/cid_name',
    ],
    ['servers.1.auth', '/servers/1/auth'],
    ['a%2Eb.c', '/a.b/c'],
    ['x/y.z~w', '/x~1y/z~0w'],
    ['', ''],
  ])('%s → %s', (path, pointer) => {
    expect(dottedPathToPointer(path)).toBe(pointer);
  });
});

describe('validationFields', () => {
  it('maps the reference example of §3.3 to pointers and phrases', () => {
    const data = {
      'servers.0.options.inbound_format': {
        enum: {
          message: 'Value not found in enumerated list of values',
          target: ['e164', 'npan', '1npan', 'username', 'strip_plus'],
          value: 'foo',
        },
      },
      'servers.0.options.caller_id.cid_name': {
        maxLength: {
          message: 'String must not be more than 35 characters',
          target: 35,
          cause: 'A',
          value: 'A',
        },
      },
      'servers.1.auth': { required: { message: 'Field is required but missing', value: 'auth' } },
      'servers.0.options.delay': {
        type: { message: 'Value did not match type(s): integer', target: 'integer', value: 'abc' },
      },
      'servers.0.options.progress_timeout': {
        minimum: { message: 'Value must be at least 1', target: 1, value: 0 },
      },
      'x.y': { strange: { message: 'Something odd' } },
      ignored: 'not an object',
    };
    expect(validationFields(data)).toEqual({
      '/servers/0/options/inbound_format':
        'must be one of e164, npan, 1npan, username, strip_plus (got "foo")',
      '/servers/0/options/caller_id/cid_name': 'must not be longer than 35 characters',
      '/servers/1/auth': 'is required',
      '/servers/0/options/delay': 'must be of type integer (got "abc")',
      '/servers/0/options/progress_timeout': 'must be at least 1 (got 0)',
      '/x/y': 'Something odd',
    });
  });
});

describe('apiMessageOf', () => {
  it.each([
    [
      { message: 'forbidden', data: { message: 'unauthorized to use +14155551234' } },
      'forbidden: unauthorized to use +14155551234',
    ],
    [
      { message: 'invalid_credentials', data: { message: 'invalid credentials' } },
      'invalid credentials',
    ],
    [{ message: 'bad identifier', data: ['x'] }, 'bad identifier'],
    [undefined, 'HTTP 412'],
  ])('%j → %s', (body, expected) => {
    expect(apiMessageOf(response(412, body))).toBe(expected);
  });
});

describe('kazooApiError', () => {
  const update = {
    verb: 'update',
    target: 'kz',
    account: 'acc1',
    id: 'doc1',
    revision: '3-abc',
  } as const;

  it('turns a 400 into a message naming the fields and pointers in fields', () => {
    const err = kazooApiError(
      response(400, {
        error: '400',
        message: 'validation error',
        request_id: 'rq-9',
        data: {
          'servers.0.options.inbound_format': { enum: { target: ['e164', 'npan'], value: 'foo' } },
        },
      }),
      update,
      identity,
    );
    expect(err.code).toBe('API');
    expect(err.message).toBe(
      'Cannot update kazoo/connectivity doc1 in account acc1: the server rejected it (validation error): servers.0.options.inbound_format must be one of e164, npan (got "foo")',
    );
    expect(err.fields).toEqual({
      '/servers/0/options/inbound_format': 'must be one of e164, npan (got "foo")',
    });
    expect(err.requestId).toBe('rq-9');
    expect(err.status).toBe(400);
  });

  it('quotes at most three fields in the message', () => {
    const data = Object.fromEntries(
      [0, 1, 2, 3, 4].map((i) => [`servers.${i}.auth`, { required: { value: 'auth' } }]),
    );
    const err = kazooApiError(
      response(400, { message: 'validation error', data }),
      update,
      identity,
    );
    expect(err.message).toMatch(/servers\.2\.auth is required; and 2 more$/);
    expect(Object.keys(err.fields)).toHaveLength(5);
  });

  it.each([
    [
      412,
      undefined,
      'CONFLICT',
      'it changed on the server since it was read (revision 3-abc); re-run plan',
    ],
    [
      409,
      { message: 'datastore_conflict', data: { message: 'conflicting documents' } },
      'CONFLICT',
      'it changed on the server',
    ],
    [
      403,
      { message: 'forbidden', data: { message: 'unauthorized to use +14155551234' } },
      'API',
      'the server refused it (forbidden: unauthorized to use +14155551234)',
    ],
    [
      401,
      { message: 'invalid credentials', data: {} },
      'AUTH',
      'the server rejected the credentials',
    ],
    [
      429,
      { message: 'too_many_requests', data: { message: 'too many requests' } },
      'API',
      'rate limiting',
    ],
    [
      503,
      { message: 'datastore_unreachable', data: { message: 'datastore timeout' } },
      'API',
      'the server failed (HTTP 503: datastore_unreachable: datastore timeout)',
    ],
    [418, {}, 'API', 'the server answered HTTP 418'],
  ])('maps %d to %s', (status, body, code, text) => {
    const err = kazooApiError(
      response(status, body, { 'x-request-id': 'hdr-id' }),
      update,
      identity,
    );
    expect(err.code).toBe(code);
    expect(err.message).toContain(text);
    expect(err.message.startsWith('Cannot update kazoo/connectivity doc1 in account acc1: ')).toBe(
      true,
    );
    expect(err.requestId).toBe('hdr-id');
  });

  it('runs the message and the API text through the redactor', () => {
    const err = kazooApiError(
      response(404, { message: 'bad identifier', data: { message: 'no key SECRETKEY' } }),
      update,
      (t) => t.replaceAll('SECRETKEY', '***'),
    );
    expect(err.message).not.toContain('SECRETKEY');
    expect(err.apiMessage).toBe('bad identifier: no key ***');
  });
});

describe('describeOperation', () => {
  it.each([
    [
      { verb: 'list', target: 't', account: 'a' },
      'Cannot list kazoo/connectivity documents in account a',
    ],
    [
      { verb: 'create', target: 't', account: 'a', name: 'main' },
      'Cannot create kazoo/connectivity "main" in account a',
    ],
    [{ verb: 'sign in to', target: 'kazoo-prod' }, 'Cannot sign in to kazoo-prod'],
  ] as const)('%j', (op, text) => {
    expect(describeOperation(op)).toBe(text);
  });
});

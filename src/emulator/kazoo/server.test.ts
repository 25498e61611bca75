/**
 * Conformance of the Kazoo emulator with reference/kazoo-api.md §9, over real
 * loopback HTTP. Each block pins the facts of one section.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_KAZOO, startKazooEmulator, type KazooEmulator, type SeedAccount } from './server.ts';
import { apiAuth, call, md5Credentials, type CallOptions } from './test-client.ts';

const A: SeedAccount = {
  id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1',
  name: 'Acme',
  realm: 'acme.sip.example.net',
  api_key: 'a'.repeat(64),
  username: 'Admin',
  password: 'secret',
};
const B: SeedAccount = {
  id: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2',
  name: 'Other',
  realm: 'other.sip.example.net',
  api_key: 'b'.repeat(64),
};
const CHILD: SeedAccount = {
  id: 'cccccccccccccccccccccccccccccc03',
  name: 'Child',
  realm: 'child.sip.example.net',
  parent_id: A.id,
};
const EMPTY: SeedAccount = {
  id: 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeee4',
  name: 'Empty',
  realm: 'empty.sip.example.net',
  parent_id: A.id,
};

const HEX32 = /^[0-9a-f]{32}$/;
const REV = (n: number): RegExp => new RegExp(`^${n}-[0-9a-f]{32}$`);

let emu: KazooEmulator;
let token: string;
const coll = `/accounts/${A.id}/connectivity`;
const api = (method: string, path: string, options: CallOptions = {}) =>
  call(emu.url, method, path, { token, ...options });
const put = async (data: unknown) => {
  const r = await api('PUT', coll, { body: { data } });
  expect(r.status, r.text).toBe(201);
  return r.json.data as { id: string } & Record<string, unknown>;
};

beforeAll(async () => {
  emu = await startKazooEmulator({
    accounts: [A, B, CHILD, EMPTY],
    seed: {
      docs: {
        [A.id]: [
          { _id: 'device0000000000000000000000001', pvt_type: 'device', name: 'a phone' },
          {
            _id: 'legacy00000000000000000000000001',
            servers: [{ auth: { auth_method: 'IP' }, options: { inbound_format: 'e.164' } }],
          },
        ],
      },
    },
  });
  token = await apiAuth(emu.url, A.api_key ?? '');
});
afterAll(() => emu.close());

describe('envelope (§3.1, §3.2)', () => {
  it('has the 4.3 success keys and echoes X-Request-ID in body and header', async () => {
    const r = await api('GET', coll, { headers: { 'x-request-id': 'req-123' } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    expect(r.headers['x-request-id']).toBe('req-123');
    expect(Object.keys(r.json).sort()).toEqual(
      [
        'auth_token',
        'data',
        'node',
        'page_size',
        'request_id',
        'status',
        'timestamp',
        'version',
      ].sort(),
    );
    expect(r.json).toMatchObject({
      status: 'success',
      request_id: 'req-123',
      auth_token: token,
      version: '4.3.142',
    });
    expect(r.json.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(r.json.node).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('generates a 32-hex request id when none is sent', async () => {
    const r = await api('GET', coll);
    expect(r.json.request_id).toMatch(HEX32);
    expect(r.headers['x-request-id']).toBe(r.json.request_id);
  });
});

describe('authentication (§5)', () => {
  it('PUT /api_auth answers 201 with the token in the envelope and account data', async () => {
    const r = await call(emu.url, 'PUT', '/api_auth', { body: { data: { api_key: A.api_key } } });
    expect(r.status).toBe(201);
    expect(r.json.status).toBe('success');
    expect(r.json.auth_token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(r.json.data).toMatchObject({ account_id: A.id, account_name: 'Acme' });
    expect(r.json.data).not.toHaveProperty('owner_id');
  });

  it.each([
    ['too short', 'x'.repeat(10), 'minLength', 64],
    ['empty', '', 'minLength', 64],
    ['too long', 'x'.repeat(65), 'maxLength', 64],
  ])(
    'PUT /api_auth with a %s key is a 400 validation error',
    async (_name, key, validator, target) => {
      const r = await call(emu.url, 'PUT', '/api_auth', { body: { data: { api_key: key } } });
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ status: 'error', error: '400', message: 'validation error' });
      expect(r.json.data.api_key[validator]).toMatchObject({ target, value: key });
    },
  );

  it('PUT /api_auth with an unknown 64-char key is 404 "bad identifier" with the key as data (§5.3)', async () => {
    const key = 'z'.repeat(64);
    const r = await call(emu.url, 'PUT', '/api_auth', { body: { data: { api_key: key } } });
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ error: '404', message: 'bad identifier', data: [key] });
  });

  it.each([
    ['account_name', { account_name: 'acme' }],
    ['account_realm', { account_realm: A.realm }],
    ['no account hint', {}],
  ])('PUT /user_auth with md5 credentials and %s → 201', async (_name, hint) => {
    const credentials = md5Credentials('admin', 'secret');
    const r = await call(emu.url, 'PUT', '/user_auth', {
      body: { data: { credentials, method: 'md5', ...hint } },
    });
    expect(r.status, r.text).toBe(201);
    expect(r.json.data).toMatchObject({ account_id: A.id });
    expect(r.json.data.owner_id).toMatch(HEX32);
    const use = await call(emu.url, 'GET', coll, { token: r.json.auth_token });
    expect(use.status).toBe(200);
  });

  it('PUT /user_auth with wrong credentials → 401 invalid_credentials', async () => {
    const credentials = md5Credentials('admin', 'wrong');
    const r = await call(emu.url, 'PUT', '/user_auth', {
      body: { data: { credentials, account_name: 'Acme' } },
    });
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({
      message: 'invalid_credentials',
      data: { message: 'invalid credentials' },
    });
  });

  it('a missing token is 401 invalid_credentials, with 4.3\'s "auth_token":"undefined"', async () => {
    const r = await call(emu.url, 'GET', coll);
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({
      status: 'error',
      error: '401',
      message: 'invalid_credentials',
      data: { message: 'invalid credentials' },
      auth_token: 'undefined',
      version: '4.3.142',
    });
  });

  it('an unknown token is 401 "invalid credentials" with empty data', async () => {
    const r = await call(emu.url, 'GET', coll, { token: 'nope' });
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ message: 'invalid credentials', data: {}, auth_token: 'nope' });
    expect(r.json.data).toEqual({});
  });

  it('accepts Authorization: Bearer', async () => {
    const r = await call(emu.url, 'GET', coll, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
  });

  it('a token may act on its own account and its descendants, not others (403 forbidden)', async () => {
    expect((await api('GET', `/accounts/${CHILD.id}/connectivity`)).status).toBe(200);
    const r = await api('GET', `/accounts/${B.id}/connectivity`);
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ message: 'forbidden', data: { message: 'forbidden' } });
  });

  it('an account id that is not 32 characters is 404 "bad identifier" (checked before auth)', async () => {
    const r = await call(emu.url, 'GET', '/accounts/short/connectivity');
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({
      message: 'bad identifier',
      data: { message: "invalid account_id 'short'" },
    });
  });

  it('an unknown 32-char account id is 404 bad_identifier with the account as cause', async () => {
    const missing = 'f'.repeat(32);
    const r = await api('GET', `/accounts/${missing}/connectivity`);
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({
      message: 'bad_identifier',
      data: { cause: missing, message: 'bad identifier' },
    });
  });

  it('expireTokens() makes the next use 401 with empty data', async () => {
    const own = await startKazooEmulator();
    try {
      const t = await apiAuth(own.url, DEMO_KAZOO.apiKey);
      const path = `/accounts/${DEMO_KAZOO.accountId}/connectivity`;
      expect((await call(own.url, 'GET', path, { token: t })).status).toBe(200);
      own.expireTokens();
      const r = await call(own.url, 'GET', path, { token: t });
      expect(r.status).toBe(401);
      expect(r.json.data).toEqual({});
    } finally {
      await own.close();
    }
  });

  it('tokens expire after tokenTtlS (fixed at issue time)', async () => {
    let clock = Date.UTC(2024, 0, 1);
    const own = await startKazooEmulator({ tokenTtlS: 60, now: () => clock });
    try {
      const t = await apiAuth(own.url, DEMO_KAZOO.apiKey);
      const path = `/accounts/${DEMO_KAZOO.accountId}/connectivity`;
      clock += 59_000;
      expect((await call(own.url, 'GET', path, { token: t })).status).toBe(200);
      clock += 2_000;
      const r = await call(own.url, 'GET', path, { token: t });
      expect(r.status).toBe(401);
      expect(r.json.message).toBe('invalid credentials');
    } finally {
      await own.close();
    }
  });
});

describe('routes and verbs (§1.1)', () => {
  it.each([
    ['POST', coll],
    ['DELETE', coll],
    ['PATCH', coll],
    ['PUT', `${coll}/0123456789abcdef0123456789abcdef`],
    ['HEAD', coll],
    ['GET', '/api_auth'],
    ['POST', '/user_auth'],
  ])('%s %s → 405 invalid_method', async (method, path) => {
    const r = await api(method, path);
    expect(r.status).toBe(405);
    if (method !== 'HEAD') {
      expect(r.json).toMatchObject({
        error: '405',
        message: 'invalid_method',
        data: { message: 'method not allowed' },
      });
    }
  });
});

describe('create: PUT /connectivity (§1.4)', () => {
  it('an empty body creates the defaulted doc: 201, Location, 32-hex id, rev 1-, realm forced, no ETag', async () => {
    const r = await api('PUT', coll, { raw: '' });
    expect(r.status).toBe(201);
    const id = r.json.data.id as string;
    expect(id).toMatch(HEX32);
    expect(r.headers['location']).toBe(`/v2/accounts/${A.id}/connectivity/${id}`);
    expect(r.headers['etag']).toBeUndefined();
    expect(r.json.revision).toMatch(REV(1));
    expect(r.json.data).toEqual({ servers: [], account: { auth_realm: A.realm }, id });
  });

  it('honours data.id, then 409 datastore_conflict when it is taken', async () => {
    const id = '1d000000000000000000000000000001';
    expect((await put({ id, name: 'x' })).id).toBe(id);
    const r = await api('PUT', coll, { body: { data: { id } } });
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({
      message: 'datastore_conflict',
      data: { message: 'conflicting documents' },
    });
  });

  it('409 also when the id belongs to a soft-deleted doc or a doc of another type', async () => {
    const id = '1d000000000000000000000000000002';
    await put({ id });
    expect((await api('DELETE', `${coll}/${id}`)).status).toBe(200);
    expect((await api('PUT', coll, { body: { data: { id } } })).status).toBe(409);
    expect(
      (await api('PUT', coll, { body: { data: { id: 'device0000000000000000000000001' } } }))
        .status,
    ).toBe(409);
  });

  it('writes defaults, keeps unknown keys, strips private keys, forces the realm', async () => {
    const doc = await put({
      name: 'PBX',
      _secret: 'x',
      pvt_type: 'device',
      custom: { nested: true },
      account: { auth_realm: 'evil.example.com', trunks: 2 },
      servers: [
        {
          server_name: 'legacy ui key',
          auth: {},
          options: { codecs: ['PCMU'] },
          DIDs: { '+14155550100': {} },
        },
        { auth: { auth_method: 'IP', ip: '192.0.2.1' } },
      ],
    });
    expect(doc).toEqual({
      id: doc.id,
      name: 'PBX',
      custom: { nested: true },
      account: { auth_realm: A.realm, trunks: 2 },
      servers: [
        {
          server_name: 'legacy ui key',
          auth: { auth_method: 'password' },
          options: {
            codecs: ['PCMU'],
            delay: 0,
            enabled: true,
            force_outbound: false,
            hunt_non_reconcilable: false,
            inbound_format: 'npan',
            media_handling: 'bypass',
          },
          DIDs: { '+14155550100': { force_outbound: false } },
        },
        // No `options` object is created when absent (§2.3).
        { auth: { auth_method: 'IP', ip: '192.0.2.1' } },
      ],
    });
    const stored = emu.dump().docs?.[A.id]?.find((d) => d['_id'] === doc.id);
    expect(stored).toMatchObject({
      pvt_type: 'sys_info',
      pvt_account_id: A.id,
      pvt_vsn: '1',
      pvt_alphanum_name: 'pbx',
    });
    expect(stored).not.toHaveProperty('_secret');
  });

  it.each([
    ['port "5060" → 5060', { port: '5060' }, 'port', 5060],
    ['enabled "true" → true', { enabled: 'true' }, 'enabled', true],
    ['force_outbound "false" → false', { force_outbound: 'false' }, 'force_outbound', false],
  ])('coerces %s (§2.4)', async (_name, options, key, expected) => {
    const doc = await put({ servers: [{ auth: { auth_method: 'IP' }, options }] });
    expect((doc['servers'] as { options: Record<string, unknown> }[])[0]?.options[key]).toBe(
      expected,
    );
  });

  it.each([
    ['enabled', 'yes', 'boolean'],
    ['delay', 'abc', 'integer'],
    ['port', '50.5', 'integer'],
  ])('does not coerce %s %j: 400 type error', async (key, value, type) => {
    const r = await api('PUT', coll, {
      body: { data: { servers: [{ auth: {}, options: { [key]: value } }] } },
    });
    expect(r.status).toBe(400);
    expect(r.json.data).toEqual({
      [`servers.0.options.${key}`]: {
        type: { message: `Value did not match type(s): ${type}`, target: type, value },
      },
    });
  });
});

describe('validation errors (§3.3)', () => {
  it('match the documented example exactly', async () => {
    const target = await put({});
    const longName = 'A'.repeat(40);
    const r = await api('POST', `${coll}/${target.id}`, {
      body: {
        data: {
          servers: [
            {
              auth: { auth_method: 'password' },
              options: { inbound_format: 'foo', caller_id: { cid_name: longName } },
            },
            { name: 'no auth' },
          ],
        },
      },
    });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({
      status: 'error',
      error: '400',
      message: 'validation error',
      auth_token: token,
    });
    expect(r.json.data).toEqual({
      'servers.0.options.inbound_format': {
        enum: {
          message: 'Value not found in enumerated list of values',
          target: ['e164', 'npan', '1npan', 'username'],
          value: 'foo',
        },
      },
      'servers.0.options.caller_id.cid_name': {
        maxLength: {
          message: 'String must not be more than 35 characters',
          target: 35,
          cause: longName,
          value: longName,
        },
      },
      'servers.1.auth': { required: { message: 'Field is required but missing', value: 'auth' } },
    });
  });

  it('key DID paths raw and minLength details as documented', async () => {
    const r = await api('PUT', coll, {
      body: {
        data: {
          servers: [{ auth: {}, DIDs: { '+14155550100': { caller_id: { cid_name: '' } } } }],
        },
      },
    });
    expect(r.status).toBe(400);
    expect(r.json.data).toEqual({
      'servers.0.DIDs.+14155550100.caller_id.cid_name': {
        minLength: {
          message: 'String must be at least 1 characters',
          target: 1,
          cause: '',
          value: '',
        },
      },
    });
  });

  it('malformed JSON → 400 with data.json.invalid', async () => {
    const r = await api('PUT', coll, { raw: '{"data": {' });
    expect(r.status).toBe(400);
    expect(r.json.message).toBe('validation error');
    expect(r.json.data.json.invalid).toMatchObject({ target: 'body' });
    expect(r.json.data.json.invalid.message).toMatch(/around \d+/);
  });

  it('a non-empty body without "data" → 400 keyed under data', async () => {
    const r = await api('PUT', coll, { body: { name: 'forgot the envelope' } });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({
      message: 'validation error',
      data: { data: { required: { value: 'data' } } },
    });
  });
});

describe('read: GET /connectivity/{id} (§1.5, §4)', () => {
  it('returns public fields + id, revision and a quoted ETag', async () => {
    const created = await put({ name: 'read me' });
    const r = await api('GET', `${coll}/${created.id}`);
    expect(r.status).toBe(200);
    expect(r.json.data).toEqual(created);
    expect(r.json.revision).toMatch(REV(1));
    expect(r.headers['etag']).toBe(`"${r.json.revision}"`);
  });

  it.each([
    ['missing', 'deadbeefdeadbeefdeadbeefdeadbeef'],
    ['of another pvt_type', 'device0000000000000000000000001'],
  ])('a doc that is %s is 404 bad_identifier', async (_name, id) => {
    const r = await api('GET', `${coll}/${id}`);
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({
      message: 'bad_identifier',
      data: { cause: id, message: 'bad identifier' },
    });
  });
});

describe('replace: POST /connectivity/{id} (§1.6)', () => {
  it('replaces every public field, ignores body _rev and id, bumps the revision', async () => {
    const created = await put({
      name: 'old',
      custom: 1,
      servers: [{ auth: { auth_method: 'IP' } }],
    });
    const r = await api('POST', `${coll}/${created.id}`, {
      body: { data: { name: 'new', id: 'ignored', _rev: '99-x' } },
    });
    expect(r.status).toBe(200);
    expect(r.json.revision).toMatch(REV(2));
    expect(r.json.data).toEqual({
      id: created.id,
      name: 'new',
      servers: [],
      account: { auth_realm: A.realm },
    });
    expect(r.headers['etag']).toBeUndefined();
  });

  it('validates before the existence check: invalid → 400, valid → 404', async () => {
    const missing = `${coll}/00000000000000000000000000000bad`;
    expect((await api('POST', missing, { body: { data: { servers: [{}] } } })).status).toBe(400);
    const r = await api('POST', missing, { body: { data: {} } });
    expect(r.status).toBe(404);
    expect(r.json.data).toEqual({
      cause: '00000000000000000000000000000bad',
      message: 'bad identifier',
    });
  });
});

describe('merge: PATCH /connectivity/{id} (§1.7)', () => {
  const stored = { custom: { a: 1, b: { c: 2, d: 3 }, list: [1, 2] }, keep: 'me', gone: 'soon' };
  it.each([
    ['key only in the request is taken', { added: 'x' }, { added: 'x', keep: 'me' }],
    [
      'nulls inside a new object are dropped',
      { fresh: { x: 1, y: null, z: { w: null } } },
      { fresh: { x: 1, z: {} } },
    ],
    ['key only in the stored doc is kept', { other: 1 }, { keep: 'me', gone: 'soon' }],
    [
      'objects deep-merge',
      { custom: { b: { c: 20 } } },
      { custom: { a: 1, b: { c: 20, d: 3 }, list: [1, 2] } },
    ],
    ['{} replaces an object', { custom: { b: {} } }, { custom: { a: 1, b: {}, list: [1, 2] } }],
    [
      'arrays are replaced wholesale',
      { custom: { list: [9] } },
      { custom: { a: 1, b: { c: 2, d: 3 }, list: [9] } },
    ],
    ['a scalar replaces an object', { custom: 'flat' }, { custom: 'flat' }],
    [
      'null deletes the key',
      { gone: null, custom: { a: null } },
      { custom: { b: { c: 2, d: 3 }, list: [1, 2] } },
    ],
  ])('%s', async (_name, patch, expected) => {
    const created = await put(stored);
    const r = await api('PATCH', `${coll}/${created.id}`, { body: { data: patch } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.revision).toMatch(REV(2));
    expect(r.json.data).toMatchObject(expected);
    const again = await api('GET', `${coll}/${created.id}`);
    expect(again.json.data).toEqual(r.json.data);
    if (patch && 'gone' in patch) expect(r.json.data).not.toHaveProperty('gone');
    if ('custom' in patch && (patch.custom as Record<string, unknown>)['a'] === null) {
      expect(r.json.data.custom).not.toHaveProperty('a');
    }
  });

  it('keeps fields it does not mention (unlike POST) and still forces the realm', async () => {
    const created = await put({ name: 'n', servers: [{ auth: { auth_method: 'IP' } }] });
    const r = await api('PATCH', `${coll}/${created.id}`, {
      body: { data: { account: { auth_realm: 'evil' } } },
    });
    expect(r.json.data).toMatchObject({ name: 'n', account: { auth_realm: A.realm } });
    expect(r.json.data.servers).toHaveLength(1);
  });

  it('validates the merged doc: legacy data fails a PATCH that never touched it', async () => {
    const r = await api('PATCH', `${coll}/legacy00000000000000000000000001`, {
      body: { data: { name: 'x' } },
    });
    expect(r.status).toBe(400);
    expect(Object.keys(r.json.data)).toEqual(['servers.0.options.inbound_format']);
  });

  it('on a missing id: an invalid body → 400, a valid one → 404', async () => {
    const missing = `${coll}/0000000000000000000000000000dead`;
    expect((await api('PATCH', missing, { body: { data: { servers: [{}] } } })).status).toBe(400);
    expect((await api('PATCH', missing, { body: { data: { name: 'x' } } })).status).toBe(404);
  });
});

describe('soft delete: DELETE /connectivity/{id} (§1.8)', () => {
  it('answers with the pre-delete rev and _read_only.deleted; later access is 404; listing excludes it', async () => {
    const created = await put({ name: 'doomed' });
    const path = `${coll}/${created.id}`;
    const rev = (await api('GET', path)).json.revision as string;
    const r = await api('DELETE', path);
    expect(r.status).toBe(200);
    expect(r.json.revision).toBe(rev);
    expect(r.json.data).toEqual({ ...created, _read_only: { deleted: true } });
    const stored = emu.dump().docs?.[A.id]?.find((d) => d['_id'] === created.id);
    expect(stored).toMatchObject({ pvt_deleted: true });
    expect(String(stored?.['_rev'])).toMatch(REV(2));
    for (const method of ['GET', 'POST', 'PATCH', 'DELETE']) {
      const after = await api(
        method,
        path,
        method === 'GET' || method === 'DELETE' ? {} : { body: { data: {} } },
      );
      expect(after.status, method).toBe(404);
      expect(after.json).toMatchObject({
        message: 'bad_identifier',
        data: { cause: created.id, message: 'bad identifier' },
      });
    }
    const list = await api('GET', `${coll}?paginate=false`);
    expect(list.json.data).not.toContain(created.id);
  });

  it('should_soft_delete=false removes the doc so its id can be reused', async () => {
    const created = await put({});
    expect((await api('DELETE', `${coll}/${created.id}?should_soft_delete=false`)).status).toBe(
      200,
    );
    expect((await api('PUT', coll, { body: { data: { id: created.id } } })).status).toBe(201);
  });
});

describe('revisions and conditional requests (§4)', () => {
  it('bumps the revision on every write including the soft delete', async () => {
    const created = await api('PUT', coll, { body: { data: {} } });
    const path = `${coll}/${created.json.data.id}`;
    expect(created.json.revision).toMatch(REV(1));
    expect((await api('POST', path, { body: { data: {} } })).json.revision).toMatch(REV(2));
    expect((await api('PATCH', path, { body: { data: { x: 1 } } })).json.revision).toMatch(REV(3));
    expect((await api('DELETE', path)).json.revision).toMatch(REV(3));
    const stored = emu.dump().docs?.[A.id]?.find((d) => d['_id'] === created.json.data.id);
    expect(String(stored?.['_rev'])).toMatch(REV(4));
  });

  it.each([
    ['GET', undefined],
    ['POST', { data: {} }],
    ['PATCH', { data: { y: 1 } }],
    ['DELETE', undefined],
  ])(
    '%s with a stale If-Match → 412 with an empty body; the current one or * passes',
    async (method, body) => {
      const created = await put({});
      const path = `${coll}/${created.id}`;
      const stale = await api(method, path, {
        body,
        headers: { 'if-match': '"1-00000000000000000000000000000000"' },
      });
      expect(stale.status).toBe(412);
      expect(stale.text).toBe('');
      const weak = await api(method, path, {
        body,
        headers: { 'if-match': `W/"${(await api('GET', path)).json.revision}"` },
      });
      expect(weak.status).toBe(412);
      if (method !== 'DELETE')
        expect((await api(method, path, { body, headers: { 'if-match': '*' } })).status).toBe(200);
      const rev = (await api('GET', path)).json.revision as string;
      expect((await api(method, path, { body, headers: { 'if-match': `"${rev}"` } })).status).toBe(
        200,
      );
    },
  );

  it('If-Match on PUT (create) → 412', async () => {
    const r = await api('PUT', coll, { body: { data: {} }, headers: { 'if-match': '"1-abc"' } });
    expect(r.status).toBe(412);
    expect(r.text).toBe('');
  });

  it('If-None-Match with the current rev → 304 on GET', async () => {
    const created = await put({});
    const path = `${coll}/${created.id}`;
    const rev = (await api('GET', path)).json.revision as string;
    const r = await api('GET', path, { headers: { 'if-none-match': `"${rev}"` } });
    expect(r.status).toBe(304);
    expect(r.text).toBe('');
    expect((await api('GET', path, { headers: { 'if-none-match': '"0-x"' } })).status).toBe(200);
  });
});

describe('listing: GET /connectivity (§1.3, §6.3)', () => {
  const listPath = `/accounts/${EMPTY.id}/connectivity`;
  let ids: string[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 5; i++) {
      const r = await api('PUT', listPath, { body: { data: { name: `n${i}` } } });
      ids.push(r.json.data.id as string);
    }
    ids = ids.sort();
  });

  it('returns ids ascending, with no revision', async () => {
    const r = await api('GET', listPath);
    expect(r.json.data).toEqual(ids);
    expect(r.json.page_size).toBe(5);
    expect(r.json).not.toHaveProperty('revision');
    expect(r.json).not.toHaveProperty('next_start_key');
    expect(r.json).not.toHaveProperty('start_key');
  });

  it('pages with page_size and an opaque next_start_key, echoing start_key', async () => {
    const seen: string[] = [];
    let startKey: string | undefined;
    let pages = 0;
    do {
      const q = `?page_size=2${startKey ? `&start_key=${encodeURIComponent(startKey)}` : ''}`;
      const r = await api('GET', `${listPath}${q}`);
      expect(r.status).toBe(200);
      if (startKey) expect(r.json.start_key).toBe(startKey);
      else expect(r.json).not.toHaveProperty('start_key');
      expect(r.json.page_size).toBe(r.json.data.length);
      seen.push(...(r.json.data as string[]));
      startKey = r.json.next_start_key as string | undefined;
      if (startKey) expect(ids).not.toContain(startKey);
      pages += 1;
    } while (startKey);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
  });

  it('paginate=false returns everything without paging keys', async () => {
    const r = await api('GET', `${listPath}?paginate=false&page_size=1`);
    expect(r.json.data).toEqual(ids);
    for (const key of ['page_size', 'next_start_key', 'start_key', 'revision'])
      expect(r.json).not.toHaveProperty(key);
  });

  it('lists only sys_info docs (not other types)', async () => {
    const r = await api('GET', `${coll}?paginate=false`);
    expect(r.json.data).not.toContain('device0000000000000000000000001');
    expect(r.json.data).toContain('legacy00000000000000000000000001');
  });
});

describe('DID ownership (§3.4)', () => {
  it("403 for a DID owned by another account; own and descendants' numbers pass; unknown numbers pass", async () => {
    emu.setNumberOwner('+14155550111', B.id);
    emu.setNumberOwner('+14155550122', CHILD.id);
    const server = (dids: string[]) => ({
      servers: [
        { auth: { auth_method: 'IP' }, DIDs: Object.fromEntries(dids.map((d) => [d, {}])) },
      ],
    });
    const r = await api('PUT', coll, { body: { data: server(['+14155550111', '+14155550199']) } });
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({
      message: 'forbidden',
      data: { message: 'unauthorized to use +14155550111' },
    });
    expect(
      (await api('PUT', coll, { body: { data: server(['+14155550122', '+14155550199']) } })).status,
    ).toBe(201);
    // POST to a missing id: ownership runs after the failed load, so 403 replaces 404 (§9).
    const missing = `${coll}/0000000000000000000000000000beef`;
    expect((await api('POST', missing, { body: { data: server(['+14155550111']) } })).status).toBe(
      403,
    );
    expect((await api('PATCH', missing, { body: { data: server(['+14155550111']) } })).status).toBe(
      403,
    );
  });
});

describe('version 5 (master) envelope (§3.1)', () => {
  let v5: KazooEmulator;
  beforeAll(async () => {
    v5 = await startKazooEmulator({ version: '5' });
  });
  afterAll(() => v5.close());
  const path = `/accounts/${DEMO_KAZOO.accountId}/connectivity`;

  it('adds tokens and version when authenticated', async () => {
    const t = await apiAuth(v5.url, DEMO_KAZOO.apiKey);
    const r = await call(v5.url, 'GET', path, { token: t });
    expect(r.json.version).toMatch(/^5\./);
    expect(r.json.tokens).toEqual({ consumed: 1, remaining: expect.any(Number) });
  });

  it('leaves out version and auth_token on an unauthenticated error', async () => {
    const r = await call(v5.url, 'GET', path);
    expect(r.status).toBe(401);
    expect(r.json).not.toHaveProperty('version');
    expect(r.json).not.toHaveProperty('auth_token');
    expect(r.json).toHaveProperty('tokens');
  });

  it('validates with the 5 schema by default', () => {
    expect(v5.schema).toBe('5');
  });
});

describe('misc', () => {
  it('unknown paths are 404', async () => {
    expect((await api('GET', '/nope')).status).toBe(404);
  });

  it('refuses non-loopback hosts', async () => {
    await expect(startKazooEmulator({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });

  it('counts requests', async () => {
    const before = emu.requestCount();
    await api('GET', coll);
    expect(emu.requestCount()).toBe(before + 1);
  });

  it('verb tunnelling: POST with ?verb=DELETE deletes', async () => {
    const created = await put({});
    const r = await api('POST', `${coll}/${created.id}?verb=DELETE`);
    expect(r.status).toBe(200);
    expect(r.json.data._read_only).toEqual({ deleted: true });
  });

  it('starts with the DEMO account when none is given', async () => {
    const own = await startKazooEmulator();
    try {
      expect(own.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v2$/);
      expect(own.dump().accounts).toEqual([
        expect.objectContaining({
          id: DEMO_KAZOO.accountId,
          name: 'demo',
          realm: DEMO_KAZOO.realm,
        }),
      ]);
      const credentials = md5Credentials(DEMO_KAZOO.username, DEMO_KAZOO.password);
      const r = await call(own.url, 'PUT', '/user_auth', {
        body: { data: { credentials, account_name: 'demo' } },
      });
      expect(r.status).toBe(201);
    } finally {
      await own.close();
    }
  });
});

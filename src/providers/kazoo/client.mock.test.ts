/**
 * KazooClient logic that needs exact control of each answer (single-flight
 * re-auth, own-write detection after a lost answer), on an undici MockAgent.
 * Behaviour against a full server lives in client.test.ts (the emulator).
 */
import { createHash } from 'node:crypto';
import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, HttpError } from '../../core/errors.ts';
import type { TargetConfig } from '../../core/model.ts';
import { SecretSet } from '../../io/redact.ts';
import { KazooClient, LISTING_PAGE_SIZE, containsSent } from './client.ts';

const ORIGIN = 'http://kazoo.test:8000';
const ACC = 'a'.repeat(32);
const API_KEY = 'k'.repeat(64);
const LIST = `/v2/accounts/${ACC}/connectivity`;
/** A listing asks for LISTING_PAGE_SIZE ids per page. */
const LISTING = `${LIST}?page_size=${LISTING_PAGE_SIZE}`;

function target(auth: Record<string, string> = { api_key: API_KEY }): TargetConfig {
  return {
    name: 'kazoo-test',
    type: 'kazoo',
    url: `${ORIGIN}/v2`,
    auth,
    concurrency: 4,
    timeout_ms: 5_000,
    source: { file: 'connops.yaml', line: 1, col: 1 },
  };
}

let agent: MockAgent;
let secrets: SecretSet;

function client(auth?: Record<string, string>): KazooClient {
  const c = new KazooClient(target(auth), {
    dispatcher: agent,
    secrets,
    sleep: () => Promise.resolve(),
    random: () => 0,
  });
  return c;
}

function pool(): ReturnType<MockAgent['get']> {
  return agent.get(ORIGIN);
}

function authOk(token: string): void {
  pool()
    .intercept({
      path: '/v2/api_auth',
      method: 'PUT',
      body: JSON.stringify({ data: { api_key: API_KEY } }),
    })
    .reply(201, { auth_token: token, data: { account_id: ACC }, status: 'success' });
}

function doc(id: string, revision: string, data: Record<string, unknown>): object {
  return { data: { ...data, id }, revision, status: 'success', request_id: 'rq' };
}

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  secrets = new SecretSet();
});

afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
});

describe('KazooClient auth', () => {
  it('signs in with the api key and sends the token as X-Auth-Token', async () => {
    authOk('tok-1');
    pool()
      .intercept({ path: LISTING, method: 'GET', headers: { 'x-auth-token': 'tok-1' } })
      .reply(200, { data: ['b', 'a'], status: 'success' });
    const c = client();
    expect(await c.listIds(ACC)).toEqual(['a', 'b']);
    expect(c.accountId).toBe(ACC);
  });

  it('signs in with md5("lowercased username:password") through user_auth', async () => {
    const credentials = createHash('md5').update('admin:s3cret-pass').digest('hex');
    pool()
      .intercept({
        path: '/v2/user_auth',
        method: 'PUT',
        body: JSON.stringify({
          data: { credentials, method: 'md5', account_realm: 'acme.sip.example' },
        }),
      })
      .reply(201, { auth_token: 'tok-u', data: { account_id: ACC } });
    await client({
      username: 'Admin',
      password: 's3cret-pass',
      account_realm: 'acme.sip.example',
    }).signIn();
    expect(secrets.has(credentials)).toBe(true);
  });

  it('re-authenticates once for concurrent 401s and repeats each call', async () => {
    authOk('old');
    pool()
      .intercept({ path: `${LIST}/d1`, method: 'GET', headers: { 'x-auth-token': 'old' } })
      .reply(401, { message: 'invalid credentials', data: {} })
      .times(3);
    authOk('new');
    pool()
      .intercept({ path: `${LIST}/d1`, method: 'GET', headers: { 'x-auth-token': 'new' } })
      .reply(200, doc('d1', '1-x', { name: 'n' }))
      .times(3);
    const c = client();
    await c.signIn();
    const docs = await Promise.all([c.get(ACC, 'd1'), c.get(ACC, 'd1'), c.get(ACC, 'd1')]);
    expect(docs.map((d) => d?.revision)).toEqual(['1-x', '1-x', '1-x']);
  });

  it('gives up with an AUTH error when the fresh token is refused too', async () => {
    authOk('t1');
    pool()
      .intercept({ path: LISTING, method: 'GET' })
      .reply(401, { message: 'invalid credentials', data: {} });
    authOk('t2');
    pool()
      .intercept({ path: LISTING, method: 'GET' })
      .reply(401, { message: 'invalid credentials', data: {} });
    const err = await client()
      .listIds(ACC)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('AUTH');
    expect((err as ApiError).message).toMatch(
      /^Cannot list kazoo\/connectivity documents in account a+: the server rejected the credentials/,
    );
  });

  it('says an unknown api key was not recognised, without quoting it', async () => {
    pool()
      .intercept({ path: '/v2/api_auth', method: 'PUT' })
      .reply(404, { error: '404', message: 'bad identifier', data: [API_KEY], status: 'error' });
    const err = (await client()
      .signIn()
      .catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe('AUTH');
    expect(err.message).toBe(
      'Cannot sign in to kazoo-test: the api_key was not recognised (PUT /api_auth answered 404 bad identifier)',
    );
    expect(JSON.stringify({ m: err.message, a: err.apiMessage, f: err.fields })).not.toContain(
      API_KEY,
    );
  });

  it('rejects a target without usable auth settings', () => {
    expect(() => client({ username: 'u' })).toThrow(
      /auth needs either api_key, or username and password/,
    );
  });
});

describe('KazooClient writes', () => {
  it('accepts a PATCH 412 that is its own earlier attempt (one revision on, holding the change)', async () => {
    authOk('t');
    pool()
      .intercept({ path: `${LIST}/d1`, method: 'PATCH', headers: { 'if-match': '"3-aaa"' } })
      .reply(412, '');
    pool()
      .intercept({ path: `${LIST}/d1`, method: 'GET' })
      .reply(200, doc('d1', '4-bbb', { name: 'n', servers: [{ auth: { auth_method: 'IP' } }] }));
    const live = await client().patch(ACC, 'd1', '3-aaa', { name: 'n' });
    expect(live).toEqual({
      id: 'd1',
      revision: '4-bbb',
      body: { name: 'n', servers: [{ auth: { auth_method: 'IP' } }] },
    });
  });

  it('reports a real conflict with both revisions', async () => {
    authOk('t');
    pool()
      .intercept({ path: `${LIST}/d1`, method: 'PATCH' })
      .reply(412, '');
    pool()
      .intercept({ path: `${LIST}/d1`, method: 'GET' })
      .reply(200, doc('d1', '5-ccc', { name: 'someone else' }));
    const err = (await client()
      .patch(ACC, 'd1', '3-aaa', { name: 'n' })
      .catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe('CONFLICT');
    expect(err.message).toBe(
      `Cannot update kazoo/connectivity d1 in account ${ACC}: it changed on the server since it was read (revision 3-aaa → 5-ccc); re-run plan`,
    );
  });

  it('finds the document an id-less create made when the answer was lost', async () => {
    authOk('t');
    pool()
      .intercept({ path: LISTING, method: 'GET' })
      .reply(200, { data: ['old'] });
    pool()
      .intercept({ path: LIST, method: 'PUT' })
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    pool()
      .intercept({ path: LISTING, method: 'GET' })
      .reply(200, { data: ['old', 'new1', 'new2'] });
    pool()
      .intercept({ path: `${LIST}/new1`, method: 'GET' })
      .reply(200, doc('new1', '1-a', { name: 'other' }));
    pool()
      .intercept({ path: `${LIST}/new2`, method: 'GET' })
      .reply(200, doc('new2', '1-b', { name: 'main' }));
    const live = await client().create(ACC, { name: 'main' });
    expect(live.id).toBe('new2');
  });

  it('does not repeat an id-less create and says it was not created', async () => {
    authOk('t');
    pool().intercept({ path: LISTING, method: 'GET' }).reply(200, { data: [] }).times(2);
    pool()
      .intercept({ path: LIST, method: 'PUT' })
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const err = (await client()
      .create(ACC, { name: 'main' })
      .catch((e: unknown) => e)) as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(err.message).toBe(
      `Cannot reach kazoo-test (PUT /accounts/${ACC}/connectivity): connection reset by the server (not retried: the server may already have processed it); no new document named "main" appeared in account ${ACC}, so it was not created; re-run to try again`,
    );
  });

  it('treats a 409 on a create with an id as success when the stored doc is the one sent', async () => {
    authOk('t');
    pool()
      .intercept({
        path: LIST,
        method: 'PUT',
        body: JSON.stringify({ data: { name: 'x', id: 'fixed' } }),
      })
      .reply(409, {
        message: 'datastore_conflict',
        data: { message: 'conflicting documents' },
      });
    pool()
      .intercept({ path: `${LIST}/fixed`, method: 'GET' })
      .reply(200, doc('fixed', '1-z', { name: 'x', servers: [], account: { auth_realm: 'r' } }));
    expect((await client().create(ACC, { name: 'x' }, 'fixed')).revision).toBe('1-z');
  });

  it('counts a DELETE of a document already gone as success', async () => {
    authOk('t');
    pool()
      .intercept({ path: `${LIST}/gone`, method: 'DELETE', headers: { 'if-match': '"2-q"' } })
      .reply(404, {
        message: 'bad identifier',
        data: { cause: 'gone', message: 'bad identifier' },
      });
    await expect(client().delete(ACC, 'gone', '2-q')).resolves.toBeUndefined();
  });
});

describe('containsSent', () => {
  it.each([
    [{ a: 1 }, { a: 1, b: 2 }, true],
    [{ a: { port: '5060' } }, { a: { port: 5060 } }, true],
    [{ a: 'true' }, { a: true }, true],
    [{ a: [1, 2] }, { a: [1, 2] }, true],
    [{ a: [1, 2] }, { a: [1] }, false],
    [{ a: null }, { b: 1 }, true],
    [{ a: null }, { a: 1 }, false],
    [{ account: { auth_realm: 'mine' } }, { account: { auth_realm: 'forced' } }, true],
    [{ a: { b: 1 } }, { a: 'x' }, false],
    [{ a: 1 }, { a: 2 }, false],
  ])('%j ⊆ %j is %s', (sent, live, expected) => {
    expect(containsSent(sent, live)).toBe(expected);
  });
});

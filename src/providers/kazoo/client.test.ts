/**
 * KazooClient and the kazoo session against the real Kazoo emulator over
 * loopback HTTP: auth both ways, token refresh, pagination, guarded writes,
 * error mapping and every kind of injected fault.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, ConnopsError, HttpError } from '../../core/errors.ts';
import type { JsonObject } from '../../core/json.ts';
import type { TargetConfig } from '../../core/model.ts';
import type { RequestEvent } from '../../io/http-types.ts';
import { SecretSet } from '../../io/redact.ts';
import type { FaultConfig } from '../../emulator/faults.ts';
import { DEMO_KAZOO, startKazooEmulator } from '../../emulator/kazoo/server.ts';
import type { KazooEmulator } from '../../emulator/kazoo/server.ts';
import { KazooClient, LISTING_PAGE_SIZE } from './client.ts';
import type { KazooDeps } from './client.ts';
import { createKazooSession } from './session.ts';

const ACC = DEMO_KAZOO.accountId;
const OTHER = {
  id: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2',
  name: 'Other',
  realm: 'other.sip.example.net',
};

interface Harness {
  readonly emu: KazooEmulator;
  readonly client: KazooClient;
  readonly events: RequestEvent[];
  readonly sleeps: number[];
  readonly errors: string[];
}

const running: Array<{ close(): Promise<void> }> = [];
/** Every error message seen by a test, checked for secrets afterwards. */
let seenErrors: string[] = [];

function targetFor(url: string, auth: Record<string, string>, concurrency = 4): TargetConfig {
  return {
    name: 'kazoo-test',
    type: 'kazoo',
    url,
    auth,
    concurrency,
    timeout_ms: 5_000,
    source: { file: 'connops.yaml', line: 1, col: 1 },
  };
}

const API_KEY_AUTH = { api_key: DEMO_KAZOO.apiKey };

async function start(
  options: {
    faults?: FaultConfig;
    auth?: Record<string, string>;
    deps?: Partial<KazooDeps>;
    concurrency?: number;
  } = {},
): Promise<Harness> {
  const emu = await startKazooEmulator({
    port: 0,
    ...(options.faults ? { faults: options.faults } : {}),
  });
  running.push(emu);
  const events: RequestEvent[] = [];
  const sleeps: number[] = [];
  const client = new KazooClient(
    targetFor(emu.url, options.auth ?? API_KEY_AUTH, options.concurrency),
    {
      onRequest: (e) => events.push(e),
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
      random: () => 0.5,
      secrets: new SecretSet(),
      ...options.deps,
    },
  );
  running.push(client);
  return { emu, client, events, sleeps, errors: seenErrors };
}

/** Runs `fn`, expecting it to throw; records the message for the secret check. */
async function failure(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    seenErrors.push(err.message);
    if (err instanceof ApiError) seenErrors.push(err.apiMessage, ...Object.values(err.fields));
    return err;
  }
  throw new Error('expected a failure');
}

function storedDocs(emu: KazooEmulator, account = ACC): JsonObject[] {
  return (emu.dump().docs?.[account] ?? []).filter((d) => d['pvt_deleted'] !== true);
}

const SERVER: JsonObject = {
  auth: { auth_method: 'IP', ip: '192.0.2.10' },
  options: { inbound_format: 'e164' },
  DIDs: { '+14155550100': {} },
};

beforeEach(() => {
  seenErrors = [];
});

afterEach(async () => {
  while (running.length > 0) await running.pop()?.close();
  for (const message of seenErrors) {
    expect(message).not.toContain(DEMO_KAZOO.apiKey);
    expect(message).not.toContain(DEMO_KAZOO.password);
  }
});

describe('authentication', () => {
  it.each([
    ['api_key', API_KEY_AUTH, '/api_auth'],
    [
      'username + account_name',
      { username: 'DEMO', password: DEMO_KAZOO.password, account_name: DEMO_KAZOO.accountName },
      '/user_auth',
    ],
    [
      'username + account_realm',
      {
        username: DEMO_KAZOO.username,
        password: DEMO_KAZOO.password,
        account_realm: DEMO_KAZOO.realm,
      },
      '/user_auth',
    ],
  ])('signs in with %s', async (_label, auth, path) => {
    const { client, events } = await start({ auth });
    expect(await client.listIds(ACC)).toEqual([]);
    expect(client.accountId).toBe(ACC);
    expect(events.map((e) => [e.method, e.path, e.status])).toEqual([
      ['PUT', path, 201],
      ['GET', `/accounts/${ACC}/connectivity`, 200],
    ]);
  });

  it('reports a wrong password as AUTH without quoting it', async () => {
    const { client } = await start({
      auth: { username: 'demo', password: `${DEMO_KAZOO.password}-wrong`, account_name: 'demo' },
    });
    const err = (await failure(() => client.listIds(ACC))) as ApiError;
    expect(err.code).toBe('AUTH');
    expect(err.message).toBe(
      'Cannot sign in to kazoo-test: the username, password or account was not accepted (PUT /user_auth answered 401)',
    );
    expect(err.message).not.toContain('-wrong');
  });

  it('says an unknown api key was not recognised (404 bad identifier, §5.3)', async () => {
    const unknown = 'f'.repeat(64);
    const { client } = await start({ auth: { api_key: unknown } });
    const err = (await failure(() => client.signIn())) as ApiError;
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain('the api_key was not recognised');
    expect(`${err.message} ${err.apiMessage}`).not.toContain(unknown);
  });

  it('says a malformed api key is malformed', async () => {
    const { client } = await start({ auth: { api_key: 'short-key' } });
    const err = (await failure(() => client.signIn())) as ApiError;
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain('malformed');
    expect(err.message).not.toContain('short-key');
  });

  it('refreshes an expired token and repeats the call (tokenExpiresAfter)', async () => {
    const { client, events } = await start({ faults: { tokenExpiresAfter: 2 } });
    for (let i = 0; i < 5; i += 1) expect(await client.listIds(ACC)).toEqual([]);
    const auths = events.filter((e) => e.path === '/api_auth').length;
    expect(auths).toBe(3);
    expect(events.filter((e) => e.status === 401)).toHaveLength(2);
  });

  it('signs in once for many concurrent requests meeting an expired token', async () => {
    const { emu, client, events } = await start({ concurrency: 8 });
    await client.signIn();
    emu.expireTokens();
    const all = await Promise.all(Array.from({ length: 12 }, () => client.listIds(ACC)));
    expect(all.every((ids) => ids.length === 0)).toBe(true);
    expect(events.filter((e) => e.path === '/api_auth')).toHaveLength(2);
  });
});

describe('reads and writes', () => {
  it('lists ids across several pages and every document', async () => {
    const { emu, client, events } = await start({ deps: { pageSize: 3 } });
    const ids = Array.from({ length: 8 }, (_, i) => `doc${String(i).padStart(29, '0')}`);
    for (const id of ids) await client.create(ACC, { name: `n-${id}` }, id);
    events.length = 0;
    expect(await client.listIds(ACC)).toEqual(ids);
    expect(events.filter((e) => e.path === `/accounts/${ACC}/connectivity`)).toHaveLength(3);
    const docs = await client.list(ACC);
    expect(docs.map((d) => [d.id, d.body['name']])).toEqual(ids.map((id) => [id, `n-${id}`]));
    expect(docs.every((d) => /^1-[0-9a-f]{32}$/.test(d.revision ?? ''))).toBe(true);
    expect(storedDocs(emu)).toHaveLength(8);
  });

  it('lists a large account in one page by default (Kazoo pages by 50 unless asked)', async () => {
    const { emu, client, events } = await start();
    const ids = Array.from({ length: 120 }, (_, i) => `big${String(i).padStart(29, '0')}`);
    emu.seed({ docs: { [ACC]: ids.map((id) => ({ _id: id, name: `n-${id}` })) } });
    expect(await client.listIds(ACC)).toEqual(ids);
    // One listing request (at Kazoo's 50 it would take three pages, one after another).
    expect(events.filter((e) => e.path === `/accounts/${ACC}/connectivity`)).toHaveLength(1);
    expect(LISTING_PAGE_SIZE).toBeGreaterThanOrEqual(ids.length);
  });

  it('creates with and without an id, reads, patches with If-Match, conflicts and deletes', async () => {
    const { emu, client } = await start();
    const pinned = await client.create(
      ACC,
      { name: 'pinned', servers: [SERVER] },
      'c0ffee00000000000000000000000001',
    );
    expect(pinned.id).toBe('c0ffee00000000000000000000000001');
    expect(pinned.body).toMatchObject({
      name: 'pinned',
      account: { auth_realm: DEMO_KAZOO.realm },
    });
    expect(pinned.body['id']).toBeUndefined();

    const free = await client.create(ACC, { name: 'free' });
    expect(free.id).toMatch(/^[0-9a-f]{32}$/);
    expect(await client.get(ACC, free.id)).toEqual(free);
    expect(await client.get(ACC, 'ffffffffffffffffffffffffffffffff')).toBeUndefined();

    const patched = await client.patch(ACC, free.id, free.revision ?? '', { name: 'renamed' });
    expect(patched.body['name']).toBe('renamed');
    expect(patched.revision).toMatch(/^2-/);

    // Writing again with the revision read before the first PATCH is a conflict.
    const stale = (await failure(() =>
      client.patch(ACC, free.id, free.revision ?? '', { name: 'again' }),
    )) as ApiError;
    expect(stale.code).toBe('CONFLICT');
    expect(stale.message).toBe(
      `Cannot update kazoo/connectivity ${free.id} in account ${ACC}: it changed on the server since it was read (revision ${free.revision ?? ''} → ${patched.revision ?? ''}); re-run plan`,
    );
    const staleDelete = (await failure(() =>
      client.delete(ACC, free.id, free.revision ?? ''),
    )) as ApiError;
    expect(staleDelete.code).toBe('CONFLICT');

    const replaced = await client.replace(ACC, free.id, patched.revision ?? '', {
      name: 'replaced',
      servers: [],
    });
    expect(replaced.body['name']).toBe('replaced');

    await client.delete(ACC, free.id, replaced.revision ?? '');
    expect(await client.get(ACC, free.id)).toBeUndefined();
    // Already gone counts as deleted.
    await client.delete(ACC, free.id, replaced.revision ?? '');
    expect(storedDocs(emu).map((d) => d['_id'])).toEqual([pinned.id]);
  });

  it('reports a taken id as a conflict when the stored doc is not what was sent', async () => {
    const { client } = await start();
    await client.create(ACC, { name: 'first' }, 'abc00000000000000000000000000001');
    const err = (await failure(() =>
      client.create(ACC, { name: 'second' }, 'abc00000000000000000000000000001'),
    )) as ApiError;
    expect(err.code).toBe('CONFLICT');
    expect(err.message).toMatch(
      /^Cannot create kazoo\/connectivity abc0+1 in account [0-9a-f]+: a different document with this id already exists/,
    );
  });

  it('maps validation errors to pointers and a message in user terms', async () => {
    const { client } = await start();
    const created = await client.create(ACC, { name: 'ok', servers: [SERVER] });
    const bad = { servers: [{ ...SERVER, options: { inbound_format: 'foo' } }, { options: {} }] };
    const err = (await failure(() =>
      client.patch(ACC, created.id, created.revision ?? '', bad),
    )) as ApiError;
    expect(err.code).toBe('API');
    expect(err.status).toBe(400);
    expect(err.message).toMatch(
      new RegExp(
        `^Cannot update kazoo/connectivity ${created.id} in account ${ACC}: the server rejected it \\(validation error\\): .*servers\\.0\\.options\\.inbound_format must be one of e164, npan`,
      ),
    );
    expect(err.fields['/servers/0/options/inbound_format']).toMatch(
      /^must be one of .*\(got "foo"\)$/,
    );
    expect(err.fields['/servers/1/auth']).toBe('is required');
    expect(err.requestId).toMatch(/^[0-9a-f]{32}$/);

    const createErr = (await failure(() =>
      client.create(ACC, { name: 'bad', ...bad }),
    )) as ApiError;
    expect(createErr.message).toMatch(
      /^Cannot create kazoo\/connectivity "bad" in account [0-9a-f]+: the server rejected it \(validation error\)/,
    );
  });

  it("quotes Kazoo's 403 for a DID owned by another account", async () => {
    const { emu, client } = await start();
    emu.createAccount(OTHER);
    emu.setNumberOwner('+14155550100', OTHER.id);
    const err = (await failure(() =>
      client.create(ACC, { name: 'stolen', servers: [SERVER] }),
    )) as ApiError;
    expect(err.status).toBe(403);
    expect(err.message).toContain(
      'the server refused it (forbidden: unauthorized to use +14155550100)',
    );
  });

  it('says which target it cannot reach', async () => {
    const { emu, client } = await start({ deps: { maxRetries: 1 } });
    await emu.close();
    const err = await failure(() => client.listIds(ACC));
    expect(err).toBeInstanceOf(HttpError);
    expect(err.message).toMatch(
      /^Cannot reach kazoo-test \(PUT \/api_auth\): connection refused by http:\/\/127\.0\.0\.1:\d+ \(is the server running\?\) after 2 attempts$/,
    );
  });
});

describe('faults', () => {
  it.each([
    [
      '429 with Retry-After',
      { action: 'status', status: 429, retryAfterS: 1, times: 2 },
      [1000, 1000],
    ],
    ['429 without Retry-After', { action: 'status', status: 429, times: 2 }, [100, 200]],
    ['500', { action: 'status', status: 500, times: 2 }, [100, 200]],
    ['502', { action: 'status', status: 502, times: 1 }, [100]],
    ['503', { action: 'status', status: 503, times: 3 }, [100, 200, 400]],
    ['reset', { action: 'reset', times: 2 }, [100, 200]],
    ['drop', { action: 'drop', times: 2 }, [100, 200]],
  ] as const)('retries a read through %s', async (_label, rule, delays) => {
    const { client, sleeps } = await start({
      faults: { script: [{ method: 'GET', path: '/connectivity', ...rule }] },
    });
    expect(await client.listIds(ACC)).toEqual([]);
    expect(sleeps).toEqual(delays);
  });

  it('reports rate limiting clearly once the retries are used up', async () => {
    const { client } = await start({
      faults: { script: [{ method: 'GET', action: 'status', status: 429, times: 10 }] },
      deps: { maxRetries: 2 },
    });
    const err = (await failure(() => client.listIds(ACC))) as ApiError;
    expect(err.status).toBe(429);
    expect(err.message).toBe(
      `Cannot list kazoo/connectivity documents in account ${ACC}: the server is rate limiting requests (too many requests); try again later or lower the target's concurrency`,
    );
  });

  it('does not repeat a 503 on an id-less create, and finds nothing created', async () => {
    const { emu, client } = await start({
      faults: { script: [{ method: 'PUT', path: '/connectivity', action: 'status', status: 503 }] },
    });
    const err = (await failure(() => client.create(ACC, { name: 'main' }))) as ApiError;
    expect(err.message).toContain('the server failed (HTTP 503');
    expect(err.message).toContain('no new document named "main" appeared');
    expect(storedDocs(emu)).toEqual([]);
  });

  it('finds an id-less create whose answer was dropped, without creating twice', async () => {
    const { emu, client } = await start({
      faults: { script: [{ method: 'PUT', path: '/connectivity', action: 'drop' }] },
    });
    const live = await client.create(ACC, { name: 'main', servers: [SERVER] });
    expect(live.body['name']).toBe('main');
    expect(storedDocs(emu).map((d) => d['_id'])).toEqual([live.id]);
  });

  it('reports an id-less create reset before it was processed as not created', async () => {
    const { emu, client } = await start({
      faults: { script: [{ method: 'PUT', path: '/connectivity', action: 'reset' }] },
    });
    const err = await failure(() => client.create(ACC, { name: 'main' }));
    expect(err).toBeInstanceOf(HttpError);
    expect(err.message).toContain('so it was not created; re-run to try again');
    expect(storedDocs(emu)).toEqual([]);
  });

  it('repeats a create with an id whose answer was dropped (409 → it is ours)', async () => {
    const { emu, client } = await start({
      faults: { script: [{ method: 'PUT', path: '/connectivity', action: 'drop' }] },
    });
    const live = await client.create(
      ACC,
      { name: 'pinned', servers: [SERVER] },
      'feed0000000000000000000000000001',
    );
    expect(live).toMatchObject({
      id: 'feed0000000000000000000000000001',
      revision: expect.stringMatching(/^1-/),
    });
    expect(storedDocs(emu)).toHaveLength(1);
  });

  it('accepts a PATCH whose first answer was dropped (the retry meets its own write)', async () => {
    const { emu, client } = await start();
    const doc = await client.create(ACC, { name: 'a', servers: [SERVER] });
    emu.faults.update({ script: [{ method: 'PATCH', action: 'drop' }] });
    const live = await client.patch(ACC, doc.id, doc.revision ?? '', { name: 'b' });
    expect(live.body['name']).toBe('b');
    expect(live.revision).toMatch(/^2-/);
  });

  it('accepts a DELETE whose first answer was dropped', async () => {
    const { emu, client } = await start();
    const doc = await client.create(ACC, { name: 'a' });
    emu.faults.update({ script: [{ method: 'DELETE', action: 'drop' }] });
    await client.delete(ACC, doc.id, doc.revision ?? '');
    expect(storedDocs(emu)).toEqual([]);
  });

  it('converges through random faults of every kind', async () => {
    const { emu, client, sleeps, events } = await start({
      faults: {
        seed: 42,
        rate429: 0.06,
        retryAfterS: 0,
        rate500: 0.06,
        rate503: 0.06,
        dropRate: 0.06,
        resetRate: 0.06,
      },
      deps: { maxRetries: 10 },
    });
    const ids = Array.from({ length: 12 }, (_, i) => `f${String(i).padStart(31, '0')}`);
    const created = await Promise.all(
      ids.map((id) => client.create(ACC, { name: `n${id}`, servers: [SERVER] }, id)),
    );
    const patched = await Promise.all(
      created.map((d) =>
        client.patch(ACC, d.id, d.revision ?? '', { name: `${String(d.body['name'])}-2` }),
      ),
    );
    const listed = await client.list(ACC);
    expect(listed.map((d) => [d.id, d.body['name'], d.revision])).toEqual(
      patched.map((d) => [d.id, `n${d.id}-2`, d.revision]),
    );
    await Promise.all(
      patched.filter((_, i) => i % 2 === 0).map((d) => client.delete(ACC, d.id, d.revision ?? '')),
    );
    emu.faults.update({});
    // The faults did happen and were retried; dropped or reset answers show as status 0.
    expect(sleeps.length).toBeGreaterThan(0);
    expect(events.some((e) => e.status === 0)).toBe(true);
    expect(
      storedDocs(emu)
        .map((d) => d['_id'])
        .sort(),
    ).toEqual(ids.filter((_, i) => i % 2 === 1));
  });
});

describe('createKazooSession', () => {
  it('implements the provider session on the client', async () => {
    const emu = await startKazooEmulator({ port: 0 });
    running.push(emu);
    const session = createKazooSession(targetFor(emu.url, API_KEY_AUTH), {
      sleep: () => Promise.resolve(),
    });
    running.push(session);
    const created = await session.create(
      ACC,
      { name: 's', servers: [SERVER] },
      '5e55000000000000000000000000000a',
    );
    const updated = await session.update(ACC, created, { method: 'PATCH', body: { name: 't' } });
    expect(updated.body['name']).toBe('t');
    expect(await session.list(ACC)).toEqual([updated]);
    expect(await session.get(ACC, created.id)).toEqual(updated);
    const conflict = await failure(() =>
      session.update(ACC, created, { method: 'PATCH', body: { name: 'u' } }),
    );
    expect((conflict as ConnopsError).code).toBe('CONFLICT');
    await session.delete(ACC, updated);
    expect(await session.list(ACC)).toEqual([]);
    await expect(session.update(ACC, { id: 'x' }, { method: 'PATCH', body: {} })).rejects.toThrow(
      /revision is unknown/,
    );
    // Deletes go through delete(), with the object's revision.
    await expect(
      session.update(ACC, { id: 'x', revision: '1-a' }, { method: 'DELETE', body: null }),
    ).rejects.toThrow(/with DELETE/);
  });

  it('refuses a target without auth settings', () => {
    expect(() => createKazooSession(targetFor('http://127.0.0.1:1/v2', {}), {})).toThrow(
      ConnopsError,
    );
  });
});

/**
 * The Kazoo emulator against what the vendor source does where the seed tables
 * are silent (reference/kazoo-api.md §3.3, §6.2, §14): the schema minimums and
 * `strip_plus`, answered in jesse's error format, and verb tunnelling from the
 * request data for every method. Real loopback HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKazooEmulator, type KazooEmulator, type SeedAccount } from './server.ts';
import { apiAuth, call, type CallOptions } from './test-client.ts';

const A: SeedAccount = {
  id: 'f1de11f1de11f1de11f1de11f1de1101',
  name: 'Fidelity',
  realm: 'fidelity.sip.example.net',
  api_key: 'f'.repeat(64),
};
const ipServer = { auth: { auth_method: 'ip', ip: '192.0.2.10' } };

/** One emulator per version, each with its own token. */
async function open(version: '4.3' | '5'): Promise<{
  emu: KazooEmulator;
  api: (method: string, path: string, options?: CallOptions) => ReturnType<typeof call>;
}> {
  const emu = await startKazooEmulator({ version, accounts: [A] });
  const token = await apiAuth(emu.url, A.api_key ?? '');
  return {
    emu,
    api: (method, path, options = {}) => call(emu.url, method, path, { token, ...options }),
  };
}

const coll = `/accounts/${A.id}/connectivity`;
let v43: Awaited<ReturnType<typeof open>>;
let v5: Awaited<ReturnType<typeof open>>;
beforeAll(async () => {
  [v43, v5] = await Promise.all([open('4.3'), open('5')]);
});
afterAll(async () => {
  await Promise.all([v43.emu.close(), v5.emu.close()]);
});

describe('schema minimums answered as jesse not_minimum (§3.3, §14)', () => {
  it.each(['4.3', '5'] as const)(
    '%s: trunks -1 and progress_timeout 0 → 400 "minimum"',
    async (v) => {
      const { api } = v === '4.3' ? v43 : v5;
      const r = await api('PUT', coll, {
        body: {
          data: {
            account: { trunks: -1 },
            servers: [{ ...ipServer, options: { progress_timeout: 0 } }],
          },
        },
      });
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ status: 'error', error: '400', message: 'validation error' });
      // kz_json_schema.erl@dcf86cbc:441-460: key "minimum", message "Value must be at least <min>".
      expect(r.json.data).toEqual({
        'account.trunks': {
          minimum: { message: 'Value must be at least 0', target: 0, value: -1 },
        },
        'servers.0.options.progress_timeout': {
          minimum: { message: 'Value must be at least 1', target: 1, value: 0 },
        },
      });
    },
  );

  it('the boundary values are stored', async () => {
    const r = await v43.api('PUT', coll, {
      body: {
        data: {
          account: { trunks: 0 },
          servers: [{ ...ipServer, options: { progress_timeout: 1 } }],
        },
      },
    });
    expect(r.status, r.text).toBe(201);
  });
});

describe('inbound_format strip_plus: master only (§2.5, §14)', () => {
  const body = { data: { servers: [{ ...ipServer, options: { inbound_format: 'strip_plus' } }] } };

  it('"5" stores it', async () => {
    const r = await v5.api('PUT', coll, { body });
    expect(r.status, r.text).toBe(201);
    expect(r.json.data.servers[0].options.inbound_format).toBe('strip_plus');
  });

  it('"4.3" answers 400 enum with its four values', async () => {
    const r = await v43.api('PUT', coll, { body });
    expect(r.status).toBe(400);
    expect(r.json.data).toEqual({
      'servers.0.options.inbound_format': {
        enum: {
          message: 'Value not found in enumerated list of values',
          target: ['e164', 'npan', '1npan', 'username'],
          value: 'strip_plus',
        },
      },
    });
  });
});

describe('verb tunnelling from the request data, for every method (§6.2, §14)', () => {
  const create = async (): Promise<{ id: string; rev: string }> => {
    const r = await v43.api('PUT', coll, {
      body: { data: { name: 'before', servers: [ipServer] } },
    });
    expect(r.status, r.text).toBe(201);
    return { id: String(r.json.data.id), rev: String(r.json.revision) };
  };

  it('a PATCH whose data holds "verb": "GET" is a read: 200, nothing written', async () => {
    const { id, rev } = await create();
    const r = await v43.api('PATCH', `${coll}/${id}`, {
      body: { data: { name: 'after', verb: 'GET' } },
    });
    // What connops would see: a success answer to its PATCH…
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('success');
    // …carrying the unchanged document at the unchanged revision.
    expect(r.json.revision).toBe(rev);
    expect(r.json.data.name).toBe('before');
    expect(r.json.data).not.toHaveProperty('verb');
    const again = await v43.api('GET', `${coll}/${id}`);
    expect(again.json.data.name).toBe('before');
    expect(again.json.revision).toBe(rev);
  });

  it('a POST whose data holds "verb": "delete" deletes the document', async () => {
    const { id } = await create();
    const r = await v43.api('POST', `${coll}/${id}`, {
      body: { data: { name: 'after', servers: [ipServer], verb: 'delete' } },
    });
    expect(r.status).toBe(200);
    expect(r.json.data._read_only).toEqual({ deleted: true });
    expect((await v43.api('GET', `${coll}/${id}`)).status).toBe(404);
  });

  it('data wins over the query string and the envelope', async () => {
    const { id, rev } = await create();
    const r = await v43.api('POST', `${coll}/${id}?verb=DELETE`, {
      body: { verb: 'DELETE', data: { verb: 'GET' } },
    });
    expect(r.status).toBe(200);
    expect(r.json.revision).toBe(rev);
    expect((await v43.api('GET', `${coll}/${id}`)).status).toBe(200);
  });

  it('a verb the route does not allow is 405 invalid_method', async () => {
    const { id } = await create();
    const r = await v43.api('PATCH', `${coll}/${id}`, { body: { data: { verb: 'PUT' } } });
    expect(r.status).toBe(405);
    expect(r.json.message).toBe('invalid_method');
  });

  it('a "verb" that is the request\'s own method is stored as a field', async () => {
    const { id } = await create();
    const r = await v43.api('PATCH', `${coll}/${id}`, { body: { data: { verb: 'patch' } } });
    expect(r.status).toBe(200);
    expect(r.json.data.verb).toBe('patch');
  });
});

/**
 * Conformance of the emulator's number manager with reference/kazoo-api.md §12
 * (and the vendor source cited in numbers.ts), over real loopback HTTP:
 * listing and paging, identify, fix, adding numbers (PUT, create_with_state),
 * reads and releases, and how connectivity writes change `used_by`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKazooEmulator, type KazooEmulator, type SeedAccount } from './server.ts';
import { apiAuth, call, type CallOptions } from './test-client.ts';
import { decodeStartKey } from './server.ts';

const A: SeedAccount = {
  id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1',
  name: 'Acme',
  realm: 'acme.sip.example.net',
  api_key: 'a'.repeat(64),
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

let emu: KazooEmulator;
let token: string;
const nums = `/accounts/${A.id}/phone_numbers`;
const conn = `/accounts/${A.id}/connectivity`;
const api = (method: string, path: string, options: CallOptions = {}) =>
  call(emu.url, method, path, { token, ...options });
const enc = (n: string) => encodeURIComponent(n);
const trunk = (dids: string[]) => ({
  servers: [
    {
      auth: { auth_method: 'IP', ip: '10.0.0.1' },
      DIDs: Object.fromEntries(dids.map((d) => [d, {}])),
    },
  ],
});
const usedBy = (n: string) => emu.number(n)?.used_by;

beforeAll(async () => {
  emu = await startKazooEmulator({ accounts: [A, B, CHILD] });
  token = await apiAuth(emu.url, A.api_key ?? '');
});
afterAll(() => emu.close());
beforeEach(() => {
  for (const n of Object.keys(emu.dump().numbers ?? {})) emu.setNumberOwner(n, undefined);
});

describe('GET /phone_numbers: the listing (§12)', () => {
  it('maps each of the account’s numbers to its properties, used_by only when set', async () => {
    emu.addNumber('+14155550102', { assigned_to: A.id, used_by: 'trunkstore' });
    emu.addNumber('+14155550101', { assigned_to: A.id, state: 'reserved' });
    emu.addNumber('+14155550199', { assigned_to: B.id });
    emu.addNumber('+14155550198', { assigned_to: CHILD.id });
    const r = await api('GET', nums);
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('success');
    expect(r.json.data.cascade_quantity).toBe(0);
    // Only numbers assigned to A itself: not B's, not even its sub-account's.
    expect(Object.keys(r.json.data.numbers)).toEqual(['+14155550101', '+14155550102']);
    const row = r.json.data.numbers['+14155550102'];
    expect(row).toMatchObject({
      assigned_to: A.id,
      state: 'in_service',
      used_by: 'trunkstore',
      features: [],
    });
    expect(row.created).toBeGreaterThan(63_000_000_000); // gregorian seconds
    expect(r.json.data.numbers['+14155550101']).not.toHaveProperty('used_by');
    expect(r.json.data.numbers['+14155550101'].state).toBe('reserved');
    expect(r.json.page_size).toBe(2);
    expect(r.json).not.toHaveProperty('next_start_key');
  });

  it('is empty (no revision) for an account without numbers', async () => {
    const r = await api('GET', nums);
    expect(r.json.data).toEqual({ cascade_quantity: 0, numbers: {} });
    expect(r.json).not.toHaveProperty('revision');
  });

  it('pages with page_size and an opaque next_start_key (start_key inclusive, echoed)', async () => {
    const all = Array.from({ length: 7 }, (_, i) => `+1415555020${i}`);
    for (const n of [...all].reverse()) emu.addNumber(n, { assigned_to: A.id });
    const seen: string[] = [];
    let startKey: string | undefined;
    let pages = 0;
    do {
      const q = `?page_size=3${startKey !== undefined ? `&start_key=${enc(startKey)}` : ''}`;
      const r = await api('GET', `${nums}${q}`);
      expect(r.status).toBe(200);
      const keys = Object.keys(r.json.data.numbers);
      expect(r.json.page_size).toBe(keys.length);
      if (startKey !== undefined) expect(r.json.start_key).toBe(startKey);
      else expect(r.json).not.toHaveProperty('start_key');
      seen.push(...keys);
      startKey = r.json.next_start_key as string | undefined;
      // Opaque (term_to_binary, base64url), and it names the first number of the next page.
      if (startKey !== undefined) {
        expect(startKey).not.toMatch(/^\+/);
        expect(all).toContain(decodeStartKey(startKey));
      }
      pages += 1;
    } while (startKey !== undefined && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(all);
  });

  it('takes a raw number as start_key too, and paginate=false returns all without paging keys', async () => {
    for (const n of ['+14155550301', '+14155550302', '+14155550303'])
      emu.addNumber(n, { assigned_to: A.id });
    const r = await api('GET', `${nums}?page_size=5&start_key=${enc('+14155550302')}`);
    expect(Object.keys(r.json.data.numbers)).toEqual(['+14155550302', '+14155550303']);
    const all = await api('GET', `${nums}?paginate=false&page_size=1`);
    expect(Object.keys(all.json.data.numbers)).toHaveLength(3);
    for (const key of ['page_size', 'next_start_key', 'start_key'])
      expect(all.json).not.toHaveProperty(key);
  });

  it('defaults to 50 per page and accepts 500', async () => {
    for (let i = 0; i < 120; i += 1)
      emu.addNumber(`+1415556${String(i).padStart(4, '0')}`, { assigned_to: A.id });
    const first = await api('GET', nums);
    expect(Object.keys(first.json.data.numbers)).toHaveLength(50);
    expect(first.json.next_start_key).toBeDefined();
    const big = await api('GET', `${nums}?page_size=500`);
    expect(Object.keys(big.json.data.numbers)).toHaveLength(120);
    expect(big.json).not.toHaveProperty('next_start_key');
  });

  it('needs a token, and one that may act on the account', async () => {
    expect((await call(emu.url, 'GET', nums)).status).toBe(401);
    const other = await apiAuth(emu.url, B.api_key ?? '');
    const r = await call(emu.url, 'GET', nums, { token: other });
    expect(r.status).toBe(403);
    expect(r.json.message).toBe('forbidden');
  });

  it('answers 405 for a verb the route does not allow', async () => {
    const r = await api('DELETE', nums);
    expect(r.status).toBe(405);
    expect(r.json.message).toBe('invalid_method');
  });
});

describe('GET /phone_numbers/{NUM}/identify (§12)', () => {
  it('names the owning account, whichever account the URL is under', async () => {
    emu.addNumber('+14155550401', { assigned_to: B.id });
    const r = await api('GET', `${nums}/${enc('+14155550401')}/identify`);
    expect(r.status).toBe(200);
    expect(r.json.data).toEqual({ account_id: B.id, number: '+14155550401' });
  });

  it.each(['in_service', 'reserved', 'port_in', 'port_out'] as const)(
    'accepts a number in state %s',
    async (state) => {
      emu.addNumber('+14155550402', { assigned_to: A.id, state });
      expect((await api('GET', `${nums}/${enc('+14155550402')}/identify`)).status).toBe(200);
    },
  );

  it('404 bad_identifier for a number the number manager does not have', async () => {
    const r = await api('GET', `${nums}/${enc('+14155550499')}/identify`);
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({
      message: 'bad_identifier',
      data: { message: 'bad identifier', not_found: 'The number could not be found' },
    });
  });

  it('400 not_in_service for an assigned number in another state; 400 for an unassigned one', async () => {
    emu.addNumber('+14155550403', { assigned_to: A.id, state: 'aging' });
    const r = await api('GET', `${nums}/${enc('+14155550403')}/identify`);
    expect(r.status).toBe(400);
    expect(r.json.data).toEqual({
      cause: 'not_in_service',
      account_id: A.id,
      number: '+14155550403',
    });
    emu.addNumber('+14155550404', { state: 'available' });
    const u = await api('GET', `${nums}/${enc('+14155550404')}/identify`);
    expect(u.status).toBe(400);
    expect(u.json.data).toBe('unassigned');
  });
});

describe('PUT /phone_numbers/{NUM}: adding a number (§12)', () => {
  it('adds it to the URL account, in_service by default (the code, not the doc’s "reserved"), 201', async () => {
    const r = await api('PUT', `${nums}/${enc('+14155550501')}`, {
      body: { data: { my_own_field: { a: 1 } } },
    });
    expect(r.status).toBe(201);
    expect(r.json.data).toMatchObject({
      id: '+14155550501',
      state: 'in_service',
      my_own_field: { a: 1 },
      _read_only: { state: 'in_service', carrier_module: 'local' },
    });
    expect(r.json.data).not.toHaveProperty('used_by');
    const list = await api('GET', nums);
    expect(list.json.data.numbers['+14155550501']).toMatchObject({
      assigned_to: A.id,
      state: 'in_service',
    });
  });

  it('takes create_with_state, an empty body, a sub-account URL and a 10-digit number', async () => {
    const r = await api('PUT', `${nums}/${enc('+14155550502')}`, {
      body: { data: { create_with_state: 'reserved' } },
    });
    expect(r.status).toBe(201);
    expect(r.json.data.state).toBe('reserved');
    expect(r.json.data).not.toHaveProperty('create_with_state');
    const child = await api('PUT', `/accounts/${CHILD.id}/phone_numbers/4155550503`);
    expect(child.status).toBe(201);
    expect(child.json.data.id).toBe('+14155550503');
    expect(emu.number('+14155550503')?.assigned_to).toBe(CHILD.id);
  });

  it('409 number_exists for a number that is in use; an available one is taken over', async () => {
    emu.addNumber('+14155550504', { assigned_to: B.id });
    const r = await api('PUT', `${nums}/${enc('+14155550504')}`);
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({
      error: '409',
      message: 'number_exists',
      data: {
        code: 409,
        error: 'number_exists',
        cause: '+14155550504',
        message: 'number +14155550504 already exists',
      },
    });
    expect(emu.number('+14155550504')?.assigned_to).toBe(B.id);
    emu.addNumber('+14155550505', { state: 'available' });
    const taken = await api('PUT', `${nums}/${enc('+14155550505')}`);
    expect(taken.status).toBe(201);
    expect(emu.number('+14155550505')).toMatchObject({ assigned_to: A.id, state: 'in_service' });
  });

  it('400 for a create_with_state outside the enum; 403 for one only an admin may pick', async () => {
    const bad = await api('PUT', `${nums}/${enc('+14155550506')}`, {
      body: { data: { create_with_state: 'live' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toBe('validation error');
    expect(bad.json.data.create_with_state.enum).toMatchObject({ value: 'live' });
    const admin = await api('PUT', `${nums}/${enc('+14155550506')}`, {
      body: { data: { create_with_state: 'available' } },
    });
    expect(admin.status).toBe(403);
    expect(admin.json.data).toMatchObject({ error: 'forbidden', cause: 'state_for_create' });
    expect(emu.number('+14155550506')).toBeUndefined();
  });

  it('404 not_reconcilable for something that is not a phone number', async () => {
    const r = await api('PUT', `${nums}/${enc('+141510010+15')}`);
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ message: 'not_reconcilable', data: { code: 404 } });
  });
});

describe('GET and DELETE /phone_numbers/{NUM}', () => {
  it('reads a number the token’s account may see; another account’s is 404', async () => {
    emu.addNumber('+14155550601', { assigned_to: CHILD.id, used_by: 'trunkstore' });
    emu.addNumber('+14155550602', { assigned_to: B.id });
    const r = await api('GET', `${nums}/${enc('+14155550601')}`);
    expect(r.status).toBe(200);
    expect(r.json.data).toMatchObject({
      id: '+14155550601',
      state: 'in_service',
      used_by: 'trunkstore',
      _read_only: { used_by: 'trunkstore' },
    });
    expect((await api('GET', `${nums}/${enc('+14155550602')}`)).status).toBe(404);
  });

  it('DELETE releases it (answer shows available) and it leaves the number manager; another’s is 403', async () => {
    emu.addNumber('+14155550603', { assigned_to: A.id, used_by: 'trunkstore' });
    emu.addNumber('+14155550604', { assigned_to: B.id });
    const r = await api('DELETE', `${nums}/${enc('+14155550603')}`);
    expect(r.status).toBe(200);
    expect(r.json.data).toMatchObject({ id: '+14155550603', state: 'available' });
    expect(emu.number('+14155550603')).toBeUndefined();
    const other = await api('DELETE', `${nums}/${enc('+14155550604')}`);
    expect(other.status).toBe(403);
    expect(emu.number('+14155550604')?.assigned_to).toBe(B.id);
    expect((await api('DELETE', `${nums}/${enc('+14155550699')}`)).status).toBe(404);
  });
});

describe('used_by after connectivity writes (§12, cb_connectivity track_assignment)', () => {
  const N1 = '+14155550701';
  const N2 = '+14155550702';
  const N3 = '+14155550703';
  beforeEach(() => {
    for (const n of [N1, N2, N3]) emu.addNumber(n, { assigned_to: A.id });
  });
  const create = async (dids: string[]) => {
    const r = await api('PUT', conn, { body: { data: trunk(dids) } });
    expect(r.status, r.text).toBe(201);
    return { id: r.json.data.id as string, rev: r.json.revision as string };
  };

  it('PUT (create) does not mark its numbers', async () => {
    await create([N1]);
    expect(usedBy(N1)).toBeUndefined();
  });

  it('POST marks numbers it adds and clears numbers it removes, leaving the rest', async () => {
    const doc = await create([N1]);
    const r1 = await api('POST', `${conn}/${doc.id}`, { body: { data: trunk([N1, N2]) } });
    expect(r1.status).toBe(200);
    // N1 was in the stored doc already, so it is not marked (the create did not mark it).
    expect([usedBy(N1), usedBy(N2)]).toEqual([undefined, 'trunkstore']);
    const r2 = await api('POST', `${conn}/${doc.id}`, { body: { data: trunk([N3]) } });
    expect(r2.status).toBe(200);
    expect([usedBy(N1), usedBy(N2), usedBy(N3)]).toEqual([undefined, undefined, 'trunkstore']);
  });

  it('PATCH does the same as POST', async () => {
    const doc = await create([]);
    await api('PATCH', `${conn}/${doc.id}`, { body: { data: trunk([N1, N2]) } });
    expect([usedBy(N1), usedBy(N2)]).toEqual(['trunkstore', 'trunkstore']);
    await api('PATCH', `${conn}/${doc.id}`, { body: { data: trunk([N2]) } });
    expect([usedBy(N1), usedBy(N2)]).toEqual([undefined, 'trunkstore']);
  });

  it('DELETE clears every number of the document', async () => {
    const doc = await create([]);
    await api('POST', `${conn}/${doc.id}`, { body: { data: trunk([N1, N2]) } });
    const r = await api('DELETE', `${conn}/${doc.id}`);
    expect(r.status).toBe(200);
    expect([usedBy(N1), usedBy(N2)]).toEqual([undefined, undefined]);
  });

  it('claim then release (a move) leaves the number routed but used_by cleared', async () => {
    const x = await create([]);
    await api('POST', `${conn}/${x.id}`, { body: { data: trunk([N1]) } });
    const y = await create([]);
    await api('PATCH', `${conn}/${y.id}`, { body: { data: trunk([N1]) } }); // claim: marked
    expect(usedBy(N1)).toBe('trunkstore');
    await api('PATCH', `${conn}/${x.id}`, { body: { data: trunk([]) } }); // release: cleared
    expect(usedBy(N1)).toBeUndefined();
  });

  it('one number released and claimed in the same write (raw key → normalised key) ends marked', async () => {
    // The 'undefined' group runs before 'trunkstore' (Erlang map key order), see numbers.ts.
    emu.seed({ docs: { [A.id]: [{ _id: 'rawkey', ...trunk(['4155550701']) }] } });
    emu.addNumber(N1, { assigned_to: A.id, used_by: 'trunkstore' });
    const r = await api('POST', `${conn}/rawkey`, { body: { data: trunk([N1]) } });
    expect(r.status, r.text).toBe(200);
    expect(usedBy(N1)).toBe('trunkstore');
  });

  it('a failed write (If-Match mismatch) changes nothing', async () => {
    const doc = await create([]);
    const r = await api('POST', `${conn}/${doc.id}`, {
      body: { data: trunk([N1]) },
      headers: { 'if-match': '"1-00000000000000000000000000000000"' },
    });
    expect(r.status).toBe(412);
    expect(usedBy(N1)).toBeUndefined();
  });

  it('marks only numbers the document’s account may use; unknown numbers are ignored', async () => {
    // A reseller token (A) writes into its sub-account's doc: N1 is A's own (the write is
    // allowed, the token may use it), but track_assignment runs with auth_by = CHILD, which
    // may not fetch it, so its used_by is left alone. N2 belongs to CHILD and is marked.
    emu.setNumberOwner(N2, CHILD.id);
    const childConn = `/accounts/${CHILD.id}/connectivity`;
    const created = await api('PUT', childConn, { body: { data: trunk([]) } });
    expect(created.status).toBe(201);
    const r = await api('POST', `${childConn}/${created.json.data.id}`, {
      body: { data: trunk([N1, N2, '+14155550799']) },
    });
    expect(r.status).toBe(200);
    expect([usedBy(N1), usedBy(N2)]).toEqual([undefined, 'trunkstore']);
    expect(emu.number('+14155550799')).toBeUndefined();
  });

  it('a write naming an unassigned (not available) number is refused 403, like another account’s', async () => {
    emu.addNumber(N2, { state: 'reserved' });
    const r = await api('PUT', conn, { body: { data: trunk([N2]) } });
    expect(r.status).toBe(403);
    expect(r.json.data.message).toBe(`unauthorized to use ${N2}`);
  });
});

describe('fix (§12)', () => {
  const N1 = '+14155550801';
  const N2 = '+14155550802';
  const N3 = '+14155550803';

  it('POST fix/{NUM} does not recompute used_by (it only copies the number doc)', async () => {
    emu.addNumber(N1, { assigned_to: A.id });
    const put = await api('PUT', conn, { body: { data: trunk([N1]) } });
    expect(put.status).toBe(201);
    const r = await api('POST', `${nums}/fix/${enc(N1)}`);
    expect(r.status).toBe(200);
    expect(r.json.data).toEqual({});
    expect(usedBy(N1)).toBeUndefined();
  });

  it('POST fix recomputes used_by for the account from its documents and answers with the listing', async () => {
    emu.addNumber(N1, { assigned_to: A.id }); // in a trunk, unmarked → trunkstore
    emu.addNumber(N2, { assigned_to: A.id, used_by: 'trunkstore' }); // in nothing → cleared
    emu.addNumber(N3, { assigned_to: A.id, used_by: 'callflow' }); // in trunk and callflow → left
    emu.addNumber('+14155550804', { assigned_to: B.id, used_by: 'trunkstore' });
    await api('PUT', conn, { body: { data: trunk([N1, N3]) } });
    emu.seed({ docs: { [A.id]: [{ _id: 'cf1', pvt_type: 'callflow', numbers: [N3] }] } });
    const r = await api('POST', `${nums}/fix`);
    expect(r.status).toBe(200);
    expect(r.json.data.numbers[N1].used_by).toBe('trunkstore');
    expect(r.json.data.numbers[N2]).not.toHaveProperty('used_by');
    expect(r.json.data.numbers[N3].used_by).toBe('callflow');
    expect(usedBy('+14155550804')).toBe('trunkstore');
  });

  it('POST fix ignores deleted documents and disabled servers', async () => {
    const N5 = '+14155550805';
    const N6 = '+14155550806';
    emu.addNumber(N5, { assigned_to: A.id, used_by: 'trunkstore' });
    emu.addNumber(N6, { assigned_to: A.id, used_by: 'trunkstore' });
    emu.seed({
      docs: {
        [A.id]: [
          { _id: 'gone', pvt_deleted: true, ...trunk([N5]) },
          { _id: 'off', servers: [{ enabled: false, DIDs: { [N6]: {} } }] },
        ],
      },
    });
    await api('POST', `${nums}/fix`);
    expect([usedBy(N5), usedBy(N6)]).toEqual([undefined, undefined]);
  });
});

/**
 * KazooClient.listNumbers against the Kazoo emulator's number manager over
 * loopback (reference/kazoo-api.md §12): every page, the fields that matter
 * (assigned_to, state, used_by), typed errors, and answers it must not
 * misread (from a small loopback stub).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../core/errors.ts';
import type { TargetConfig } from '../../core/model.ts';
import type { RequestEvent } from '../../io/http-types.ts';
import { SecretSet } from '../../io/redact.ts';
import type { FaultConfig } from '../../emulator/faults.ts';
import { DEMO_KAZOO, startKazooEmulator, type KazooEmulator } from '../../emulator/kazoo/server.ts';
import { call } from '../../emulator/kazoo/test-client.ts';
import { KazooClient, LISTING_PAGE_SIZE, type KazooDeps } from './client.ts';

const ACC = DEMO_KAZOO.accountId;
const OTHER = {
  id: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2',
  name: 'Other',
  realm: 'other.sip.example.net',
};
const running: Array<{ close(): Promise<void> }> = [];

function targetFor(url: string): TargetConfig {
  return {
    name: 'kazoo-test',
    type: 'kazoo',
    url,
    auth: { api_key: DEMO_KAZOO.apiKey },
    concurrency: 4,
    timeout_ms: 5_000,
    source: { file: 'connops.yaml', line: 1, col: 1 },
  };
}

function clientFor(url: string, events: RequestEvent[], deps: Partial<KazooDeps> = {}) {
  const client = new KazooClient(targetFor(url), {
    onRequest: (e) => events.push(e),
    sleep: () => Promise.resolve(),
    random: () => 0.5,
    secrets: new SecretSet(),
    ...deps,
  });
  running.push(client);
  return client;
}

async function start(options: { faults?: FaultConfig; deps?: Partial<KazooDeps> } = {}) {
  const emu: KazooEmulator = await startKazooEmulator({
    ...(options.faults ? { faults: options.faults } : {}),
  });
  running.push(emu);
  emu.createAccount(OTHER);
  const events: RequestEvent[] = [];
  return { emu, events, client: clientFor(emu.url, events, options.deps) };
}

afterEach(async () => {
  while (running.length > 0) await running.pop()?.close();
});

const numberPath = `/accounts/${ACC}/phone_numbers`;

describe('KazooClient.listNumbers', () => {
  it('reads every page (one request each) with assigned_to, state and used_by', async () => {
    const { emu, client, events } = await start({ deps: { pageSize: 3 } });
    const all = Array.from({ length: 8 }, (_, i) => `+1415555010${i}`);
    for (const n of all) emu.addNumber(n, { assigned_to: ACC });
    emu.addNumber(all[1] ?? '', { assigned_to: ACC, state: 'reserved', used_by: 'trunkstore' });
    emu.addNumber('+14155550199', { assigned_to: OTHER.id });
    events.length = 0;
    const numbers = await client.listNumbers(ACC);
    expect(numbers.map((n) => n.number)).toEqual(all);
    expect(numbers[0]).toEqual({ number: all[0], assignedTo: ACC, state: 'in_service' });
    expect(numbers[1]).toEqual({
      number: all[1],
      assignedTo: ACC,
      state: 'reserved',
      usedBy: 'trunkstore',
    });
    expect(events.filter((e) => e.path === numberPath)).toHaveLength(3);
  });

  it('asks for 500 per page: 1,100 numbers take three requests, not 22', async () => {
    const { emu, client, events } = await start();
    for (let i = 0; i < 1100; i += 1)
      emu.addNumber(`+1415556${String(i).padStart(4, '0')}`, { assigned_to: ACC });
    events.length = 0;
    expect(await client.listNumbers(ACC)).toHaveLength(1100);
    expect(LISTING_PAGE_SIZE).toBe(500);
    expect(events.filter((e) => e.path === numberPath)).toHaveLength(3);
  });

  it('sees numbers added through the API and used_by set by a connectivity write', async () => {
    const { emu, client } = await start();
    expect(await client.listNumbers(ACC)).toEqual([]);
    // Kazoo's own route for adding a number (§12), as a user seeding a test server would.
    const token = emu.issueToken(ACC);
    const put = await call(emu.url, 'PUT', `${numberPath}/%2B14155550100`, {
      token,
      body: { data: { create_with_state: 'in_service' } },
    });
    expect(put.status).toBe(201);
    const created = await client.create(ACC, { name: 'trunk', servers: [] }, 'a'.repeat(32));
    await client.replace(ACC, created.id, created.revision ?? '', {
      name: 'trunk',
      servers: [{ auth: { auth_method: 'IP', ip: '192.0.2.1' }, DIDs: { '+14155550100': {} } }],
    });
    expect(await client.listNumbers(ACC)).toEqual([
      { number: '+14155550100', assignedTo: ACC, state: 'in_service', usedBy: 'trunkstore' },
    ]);
  });

  it('retries the listing through a 503', async () => {
    const { emu, client } = await start({
      faults: {
        script: [
          { method: 'GET', path: '/phone_numbers', action: 'status', status: 503, times: 2 },
        ],
      },
    });
    emu.addNumber('+14155550100', { assigned_to: ACC });
    expect((await client.listNumbers(ACC)).map((n) => n.number)).toEqual(['+14155550100']);
  });

  it('throws a typed error naming the account for a 403 and a 404', async () => {
    const { client } = await start();
    const forbidden = await client.listNumbers(OTHER.id).catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(ApiError);
    expect((forbidden as ApiError).status).toBe(403);
    expect((forbidden as ApiError).message).toBe(
      `Cannot list kazoo/phone_numbers in account ${OTHER.id}: the server refused it (forbidden)`,
    );
    const missing = await client.listNumbers('f'.repeat(32)).catch((e: unknown) => e);
    expect((missing as ApiError).status).toBe(404);
    expect((missing as ApiError).message).toMatch(
      /^Cannot list kazoo\/phone_numbers in account f{32}: it does not exist/,
    );
  });
});

describe('KazooClient.listNumbers against answers it must not misread', () => {
  async function stub(answer: (startKey: string | null) => unknown): Promise<string> {
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      res.setHeader('content-type', 'application/json');
      if (url.pathname === '/v2/api_auth') {
        res.statusCode = 201;
        res.end(
          JSON.stringify({ status: 'success', auth_token: 'tok', data: { account_id: ACC } }),
        );
        return;
      }
      res.end(JSON.stringify(answer(url.searchParams.get('start_key'))));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    running.push({
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
  }

  it.each([
    ['an array as data', { status: 'success', data: [] }, /no data\.numbers object/],
    [
      'no numbers key',
      { status: 'success', data: { cascade_quantity: 0 } },
      /no data\.numbers object/,
    ],
    [
      'an entry that is not an object',
      { status: 'success', data: { numbers: { '+14155550100': 'x' } } },
      /entry for \+14155550100 is not an object/,
    ],
  ])('refuses %s', async (_label, body, message) => {
    const client = clientFor(await stub(() => body), []);
    await expect(client.listNumbers(ACC)).rejects.toThrow(message);
  });

  it('refuses a listing that repeats its page key instead of looping', async () => {
    const client = clientFor(
      await stub(() => ({
        status: 'success',
        data: { numbers: { '+14155550100': { state: 'in_service' } } },
        next_start_key: 'same',
      })),
      [],
    );
    await expect(client.listNumbers(ACC)).rejects.toThrow(/repeated a page key/);
  });
});

describe('KazooClient.identifyNumber (the per-number ownership lookup, §12)', () => {
  it('names the owner, says whether it routes, and reads the state of one that does not', async () => {
    const { emu, client, events } = await start();
    emu.addNumber('+14155550100', { assigned_to: ACC });
    emu.addNumber('+14155550101', { assigned_to: OTHER.id });
    emu.addNumber('+14155550102', { assigned_to: ACC, state: 'aging' });
    emu.addNumber('+14155550103', { state: 'available' });
    events.length = 0;
    expect(await client.identifyNumber(ACC, '+14155550100')).toEqual({
      number: '+14155550100',
      known: true,
      assignedTo: ACC,
      routable: true,
    });
    expect(await client.identifyNumber(ACC, '+14155550101')).toEqual({
      number: '+14155550101',
      known: true,
      assignedTo: OTHER.id,
      routable: true,
    });
    expect(await client.identifyNumber(ACC, '+14155550102')).toEqual({
      number: '+14155550102',
      known: true,
      assignedTo: ACC,
      routable: false,
      state: 'aging',
    });
    expect(await client.identifyNumber(ACC, '+14155550103')).toEqual({
      number: '+14155550103',
      known: true,
      routable: false,
    });
    expect(await client.identifyNumber(ACC, '+14155550199')).toEqual({
      number: '+14155550199',
      known: false,
    });
    // One request per number; the one that does not route also reads its state.
    expect(events.filter((e) => e.path.includes('/phone_numbers/')).map((e) => e.path)).toEqual([
      `${numberPath}/%2B14155550100/identify`,
      `${numberPath}/%2B14155550101/identify`,
      `${numberPath}/%2B14155550102/identify`,
      `${numberPath}/%2B14155550102`,
      `${numberPath}/%2B14155550103/identify`,
      `${numberPath}/%2B14155550199/identify`,
    ]);
  });

  it('an answer without the owner is an error, not "owned by nobody"', async () => {
    const server: Server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v2/api_auth') {
        res.statusCode = 201;
        res.end(
          JSON.stringify({ status: 'success', auth_token: 'tok', data: { account_id: ACC } }),
        );
        return;
      }
      res.end(JSON.stringify({ status: 'success', data: { number: '+14155550100' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    running.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
    const client = clientFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`, []);
    await expect(client.identifyNumber(ACC, '+14155550100')).rejects.toThrow(/no data\.account_id/);
  });
});

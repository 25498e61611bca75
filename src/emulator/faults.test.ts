/**
 * Fault injection: the injector's decisions (unit) and each fault kind as a
 * client sees it over loopback HTTP against the Kazoo emulator. Timing asserts
 * are lower bounds only (the machine is shared).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { FaultInjector, parseFaultFlags, type FaultConfig } from './faults.ts';
import { DEMO_KAZOO, startKazooEmulator, type KazooEmulator } from './kazoo/server.ts';
import { apiAuth, call } from './kazoo/test-client.ts';

describe('FaultInjector', () => {
  it('consumes scripted rules in order, honouring times, method and path', () => {
    const f = new FaultInjector({
      script: [
        { method: 'PUT', path: '/connectivity', action: 'status', status: 503, times: 2 },
        { path: /api_auth$/, action: 'reset' },
        { action: 'drop' },
      ],
    });
    expect(f.pendingScript()).toBe(4);
    expect(f.decide('GET', '/v2/api_auth').action).toEqual({ kind: 'reset' });
    expect(f.decide('put', '/v2/accounts/x/connectivity').action).toEqual({
      kind: 'status',
      status: 503,
      retryAfterS: null,
    });
    expect(f.decide('GET', '/v2/accounts/x/connectivity').action).toEqual({ kind: 'drop' });
    expect(f.decide('PUT', '/v2/accounts/x/connectivity').action).toMatchObject({
      kind: 'status',
      status: 503,
    });
    expect(f.decide('PUT', '/v2/accounts/x/connectivity').action).toEqual({ kind: 'none' });
    expect(f.pendingScript()).toBe(0);
  });

  it('a delay rule adds to the latency and lets the request through', () => {
    const f = new FaultInjector({ latencyMs: 10, script: [{ action: 'delay', delayMs: 40 }] });
    expect(f.decide('GET', '/')).toMatchObject({ delayMs: 50, action: { kind: 'none' } });
    expect(f.decide('GET', '/')).toMatchObject({ delayMs: 10, action: { kind: 'none' } });
  });

  it.each<[string, FaultConfig, unknown]>([
    [
      'rate429 with default Retry-After',
      { rate429: 1 },
      { kind: 'status', status: 429, retryAfterS: 1 },
    ],
    [
      'rate429 with Retry-After 7',
      { rate429: 1, retryAfterS: 7 },
      { kind: 'status', status: 429, retryAfterS: 7 },
    ],
    [
      'rate429 without Retry-After',
      { rate429: 1, retryAfterS: null },
      { kind: 'status', status: 429, retryAfterS: null },
    ],
    ['rate500', { rate500: 1 }, { kind: 'status', status: 500, retryAfterS: null }],
    ['rate502', { rate502: 1 }, { kind: 'status', status: 502, retryAfterS: null }],
    ['rate503', { rate503: 1 }, { kind: 'status', status: 503, retryAfterS: null }],
    ['dropRate', { dropRate: 1 }, { kind: 'drop' }],
    ['resetRate', { resetRate: 1 }, { kind: 'reset' }],
    ['nothing', {}, { kind: 'none' }],
  ])('%s', (_name, config, expected) => {
    expect(new FaultInjector(config).decide('GET', '/x').action).toEqual(expected);
  });

  it('is deterministic for a seed and roughly follows the rate', () => {
    const run = () => {
      const f = new FaultInjector({ rate500: 0.3, seed: 42 });
      return Array.from({ length: 1000 }, () => f.decide('GET', '/x').action.kind);
    };
    const a = run();
    expect(run()).toEqual(a);
    const faults = a.filter((k) => k === 'status').length;
    expect(faults).toBeGreaterThan(200);
    expect(faults).toBeLessThan(400);
  });

  it('exclude keeps matching paths free of random faults', () => {
    const f = new FaultInjector({ rate503: 1, exclude: [/_auth$/] });
    expect(f.decide('PUT', '/v2/api_auth').action).toEqual({ kind: 'none' });
    expect(f.decide('GET', '/v2/accounts/x/connectivity').action).toMatchObject({ status: 503 });
  });

  it('update() replaces the configuration', () => {
    const f = new FaultInjector({ rate500: 1 });
    f.update({});
    expect(f.decide('GET', '/').action).toEqual({ kind: 'none' });
    expect(f.config).toEqual({});
  });
});

describe('parseFaultFlags', () => {
  it('maps every flag', () => {
    expect(
      parseFaultFlags({
        latency: '100',
        jitter: '20',
        'rate-429': '0.1',
        'retry-after': '3',
        'rate-500': '0.05',
        'rate-502': '0',
        'rate-503': '0.05',
        'drop-rate': '0.01',
        'reset-rate': '0.02',
        'token-expiry': '5',
        'fault-seed': '7',
        unrelated: 'x',
      }),
    ).toEqual({
      latencyMs: 100,
      jitterMs: 20,
      rate429: 0.1,
      retryAfterS: 3,
      rate500: 0.05,
      rate502: 0,
      rate503: 0.05,
      dropRate: 0.01,
      resetRate: 0.02,
      tokenExpiresAfter: 5,
      seed: 7,
    });
  });

  it('leaves absent flags out and reads retry-after "none" as null', () => {
    expect(parseFaultFlags({})).toEqual({});
    expect(parseFaultFlags({ 'retry-after': 'none', latency: undefined })).toEqual({
      retryAfterS: null,
    });
  });

  it.each([
    [{ latency: 'abc' }, /--latency "abc"/],
    [{ latency: '-1' }, /--latency/],
    [{ 'rate-429': '1.5' }, /--rate-429 "1.5": expected a probability/],
    [{ 'drop-rate': '' }, /--drop-rate/],
    [{ 'token-expiry': '2.5' }, /--token-expiry/],
    [{ 'token-expiry': '0' }, /--token-expiry/],
    [{ 'fault-seed': 'x' }, /--fault-seed/],
    [{ 'rate-500': '0.6', 'rate-503': '0.6' }, /add up to/],
  ])('rejects %j', (flags, message) => {
    expect(() => parseFaultFlags(flags)).toThrow(message);
  });
});

describe('faults over HTTP (Kazoo emulator)', () => {
  let emu: KazooEmulator;
  let token: string;
  const path = `/accounts/${DEMO_KAZOO.accountId}/connectivity`;

  beforeAll(async () => {
    emu = await startKazooEmulator();
    token = await apiAuth(emu.url, DEMO_KAZOO.apiKey);
  });
  afterAll(() => emu.close());
  beforeEach(() => emu.faults.update({}));

  it('latency delays every response (lower bound only)', async () => {
    emu.faults.update({ latencyMs: 120 });
    const start = performance.now();
    const r = await call(emu.url, 'GET', path, { token });
    expect(r.status).toBe(200);
    expect(performance.now() - start).toBeGreaterThanOrEqual(100);
  });

  it('429 with Retry-After in the Kazoo error envelope, without doing the work', async () => {
    emu.faults.update({ rate429: 1, retryAfterS: 2 });
    const before = emu.dump().docs?.[DEMO_KAZOO.accountId]?.length ?? 0;
    const r = await call(emu.url, 'PUT', path, { token, body: { data: {} } });
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBe('2');
    expect(r.json).toMatchObject({
      status: 'error',
      error: '429',
      message: 'too_many_requests',
      data: { message: 'too many requests' },
    });
    expect(emu.dump().docs?.[DEMO_KAZOO.accountId]?.length ?? 0).toBe(before);
  });

  it('429 without Retry-After when retryAfterS is null', async () => {
    emu.faults.update({ rate429: 1, retryAfterS: null });
    const r = await call(emu.url, 'GET', path, { token });
    expect(r.status).toBe(429);
    expect(r.headers['retry-after']).toBeUndefined();
  });

  it.each([
    [500, 'unspecified_fault'],
    [503, 'datastore_fault'],
  ])('injected %i uses the Kazoo error envelope (%s)', async (status, message) => {
    emu.faults.update({ script: [{ action: 'status', status }] });
    const r = await call(emu.url, 'GET', path, { token });
    expect(r.status).toBe(status);
    expect(r.json).toMatchObject({ status: 'error', error: String(status), message });
  });

  it('injected 502 looks like a proxy page', async () => {
    emu.faults.update({ rate502: 1 });
    const r = await call(emu.url, 'GET', path, { token });
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toMatch(/text\/html/);
  });

  it('drop: headers and part of the body arrive, then the socket dies; the write did happen', async () => {
    emu.faults.update({ script: [{ method: 'PUT', path: '/connectivity', action: 'drop' }] });
    const before = emu.dump().docs?.[DEMO_KAZOO.accountId]?.length ?? 0;
    const res = await request(`${emu.url}${path}`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { name: 'dropped' } }),
    });
    expect(res.statusCode).toBe(201);
    await expect(res.body.text()).rejects.toThrow();
    expect(emu.dump().docs?.[DEMO_KAZOO.accountId]?.length ?? 0).toBe(before + 1);
  });

  it('reset: the socket dies before any response and nothing is written', async () => {
    emu.faults.update({ resetRate: 1 });
    const before = emu.dump().docs?.[DEMO_KAZOO.accountId]?.length ?? 0;
    await expect(call(emu.url, 'PUT', path, { token, body: { data: {} } })).rejects.toThrow();
    emu.faults.update({});
    expect(emu.dump().docs?.[DEMO_KAZOO.accountId]?.length ?? 0).toBe(before);
  });

  it('scripted rules are consumed in order, then traffic is normal', async () => {
    emu.faults.update({
      script: [
        { action: 'status', status: 503 },
        { action: 'status', status: 429, retryAfterS: 1 },
      ],
    });
    expect((await call(emu.url, 'GET', path, { token })).status).toBe(503);
    const second = await call(emu.url, 'GET', path, { token });
    expect(second.status).toBe(429);
    expect(second.headers['retry-after']).toBe('1');
    expect((await call(emu.url, 'GET', path, { token })).status).toBe(200);
  });

  it('exclude keeps authentication reliable while the API routes fail', async () => {
    emu.faults.update({ rate503: 1, exclude: '/api_auth' });
    expect(
      (await call(emu.url, 'PUT', '/api_auth', { body: { data: { api_key: DEMO_KAZOO.apiKey } } }))
        .status,
    ).toBe(201);
    expect((await call(emu.url, 'GET', path, { token })).status).toBe(503);
  });

  it('tokenExpiresAfter: a token works N times, then 401 with empty data; a new token works', async () => {
    emu.faults.update({ tokenExpiresAfter: 2 });
    const t = await apiAuth(emu.url, DEMO_KAZOO.apiKey);
    expect((await call(emu.url, 'GET', path, { token: t })).status).toBe(200);
    expect((await call(emu.url, 'GET', path, { token: t })).status).toBe(200);
    const third = await call(emu.url, 'GET', path, { token: t });
    expect(third.status).toBe(401);
    expect(third.json).toMatchObject({ message: 'invalid credentials', data: {} });
    const fresh = await apiAuth(emu.url, DEMO_KAZOO.apiKey);
    expect((await call(emu.url, 'GET', path, { token: fresh })).status).toBe(200);
  });

  it('close() ends keep-alive connections promptly', async () => {
    const own = await startKazooEmulator();
    await call(own.url, 'GET', path);
    const start = performance.now();
    await own.close();
    expect(performance.now() - start).toBeLessThan(5_000);
  });
});

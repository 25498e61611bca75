/**
 * Conformance of the Cloudflare emulator to reference/cloudflare-api.md §11,
 * over real loopback HTTP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../core/json.ts';
import {
  DEMO_CLOUDFLARE,
  startCloudflareEmulator,
  type CloudflareEmulator,
  type CloudflareEmulatorOptions,
} from './server.ts';
import {
  AUTH_ERROR,
  DUPLICATE_NAME_ERROR,
  METHOD_NOT_ALLOWED,
  MISSING_SCOPE_ERROR,
  NO_ROUTE,
  RATE_LIMIT,
  SERVICE_NOT_FOUND,
  VALIDATION_ERROR,
} from './unverified.ts';

const TUNNEL = '0191dce4-9ab4-7fce-b660-8e5dec5172da';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RFC3339_Z = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

let emu: CloudflareEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function start(options: CloudflareEmulatorOptions = {}): Promise<CloudflareEmulator> {
  emu = await startCloudflareEmulator(options);
  return emu;
}

interface Reply {
  status: number;
  headers: Headers;
  body: JsonObject;
}

const AUTH = { authorization: `Bearer ${DEMO_CLOUDFLARE.token}` };

async function call(
  method: string,
  path: string,
  options: {
    body?: unknown;
    raw?: string;
    headers?: Record<string, string>;
    account?: string;
  } = {},
): Promise<Reply> {
  if (!emu) throw new Error('emulator not started');
  const account = options.account ?? emu.accountId;
  const url = path.startsWith('/client')
    ? `http://127.0.0.1:${emu.port}${path}`
    : `${emu.url}/accounts/${account}/connectivity/directory/services${path}`;
  const headers: Record<string, string> = { ...(options.headers ?? AUTH) };
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text === '' ? {} : (JSON.parse(text) as JsonObject),
  };
}

function http(name: string, extra: JsonObject = {}): JsonObject {
  return {
    name,
    type: 'http',
    host: { ipv4: '10.0.0.1', network: { tunnel_id: TUNNEL } },
    ...extra,
  };
}

function expectFailure(reply: Reply, status: number, code: number): void {
  expect(reply.status).toBe(status);
  expect(reply.body).toMatchObject({ success: false, messages: [], result: null });
  const errors = reply.body['errors'] as JsonObject[];
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ code });
  expect(typeof errors[0]?.['message']).toBe('string');
}

describe('demo credentials and startup', () => {
  it('has the documented shapes', () => {
    expect(DEMO_CLOUDFLARE.accountId).toMatch(/^[0-9a-f]{32}$/);
    expect(DEMO_CLOUDFLARE.token).toHaveLength(40);
    expect(DEMO_CLOUDFLARE.apiKey).toMatch(/^[0-9a-f]{37}$/);
    expect(DEMO_CLOUDFLARE.email).toBe('demo@connops.local');
  });

  it('binds 127.0.0.1 and serves /client/v4', async () => {
    const e = await start();
    expect(e.url).toBe(`http://127.0.0.1:${e.port}/client/v4`);
    expect(e.port).toBeGreaterThan(0);
  });

  it('refuses a non-loopback host', async () => {
    await expect(startCloudflareEmulator({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });

  it('close() ends keep-alive sockets promptly', async () => {
    const e = await start();
    await call('GET', '');
    const t0 = Date.now();
    await e.close();
    emu = undefined;
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('create (POST)', () => {
  it('answers 200 with the full envelope and echoes exactly what was sent', async () => {
    await start();
    const sent = http('web', { http_port: 8080 });
    const r = await call('POST', '', { body: sent });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ success: true, errors: [], messages: [] });
    const result = r.body['result'] as JsonObject;
    expect(result['service_id']).toMatch(UUID_V4);
    expect(result['created_at']).toMatch(RFC3339_Z);
    expect(result['updated_at']).toBe(result['created_at']);
    const { service_id: _id, created_at: _c, updated_at: _u, ...rest } = result;
    // No injected defaults: https_port and tls_settings stay absent (§4, §11).
    expect(rest).toEqual(sent);
  });

  it('keeps an explicit null, drops unknown and read-only keys', async () => {
    await start();
    const r = await call('POST', '', {
      body: {
        ...http('n', { tls_settings: null }),
        color: 'blue',
        service_id: 'x',
        created_at: 'y',
      },
    });
    const result = r.body['result'] as JsonObject;
    expect(result['tls_settings']).toBeNull();
    expect(result).not.toHaveProperty('color');
    expect(result['service_id']).not.toBe('x');
    expect(result['created_at']).not.toBe('y');
  });

  it('accepts all four host shapes, dual-stack included', async () => {
    await start();
    const hosts: JsonObject[] = [
      { ipv4: '10.0.0.1', network: { tunnel_id: TUNNEL } },
      { ipv6: 'fe80::1', network: { tunnel_id: TUNNEL } },
      { ipv4: '10.0.0.1', ipv6: 'fe80::1', network: { tunnel_id: TUNNEL } },
      {
        hostname: 'db.internal',
        resolver_network: { tunnel_id: TUNNEL, resolver_ips: ['10.0.0.53'] },
      },
    ];
    for (const [i, host] of hosts.entries()) {
      const r = await call('POST', '', {
        body: { name: `s${i}`, type: 'tcp', tcp_port: 5432, host },
      });
      expect(r.status).toBe(200);
      expect((r.body['result'] as JsonObject)['host']).toEqual(host);
    }
  });

  it('rejects a duplicate name with 5101 (default status 400)', async () => {
    await start();
    await call('POST', '', { body: http('dup') });
    expectFailure(await call('POST', '', { body: http('dup') }), DUPLICATE_NAME_ERROR.status, 5101);
  });

  it('makes the duplicate-name status configurable', async () => {
    await start({ duplicateNameStatus: 409 });
    await call('POST', '', { body: http('dup') });
    expectFailure(await call('POST', '', { body: http('dup') }), 409, 5101);
  });
});

describe('validation (400, one error)', () => {
  const bad: [string, unknown][] = [
    ['missing name', { type: 'http', host: { ipv4: '10.0.0.1', network: { tunnel_id: TUNNEL } } }],
    ['empty name', http('')],
    ['missing type', { name: 'a', host: { ipv4: '10.0.0.1', network: { tunnel_id: TUNNEL } } }],
    ['unknown type', { ...http('a'), type: 'udp' }],
    ['missing host', { name: 'a', type: 'http' }],
    ['host not an object', { ...http('a'), host: 'x' }],
    ['empty host', { ...http('a'), host: {} }],
    ['ip without network', { ...http('a'), host: { ipv4: '10.0.0.1' } }],
    ['network without address', { ...http('a'), host: { network: { tunnel_id: TUNNEL } } }],
    [
      'hostname with network',
      { ...http('a'), host: { hostname: 'x.internal', network: { tunnel_id: TUNNEL } } },
    ],
    [
      'mixed forms',
      {
        ...http('a'),
        host: {
          ipv4: '10.0.0.1',
          hostname: 'x',
          network: { tunnel_id: TUNNEL },
          resolver_network: { tunnel_id: TUNNEL },
        },
      },
    ],
    [
      'non-UUID tunnel_id',
      { ...http('a'), host: { ipv4: '10.0.0.1', network: { tunnel_id: 'tunnel-1' } } },
    ],
    ['missing tunnel_id', { ...http('a'), host: { ipv4: '10.0.0.1', network: {} } }],
    ['bad ipv4', { ...http('a'), host: { ipv4: '10.0.0.256', network: { tunnel_id: TUNNEL } } }],
    ['ipv6 in ipv4', { ...http('a'), host: { ipv4: '::1', network: { tunnel_id: TUNNEL } } }],
    [
      'bad resolver ip',
      {
        ...http('a'),
        host: { hostname: 'x', resolver_network: { tunnel_id: TUNNEL, resolver_ips: ['dns'] } },
      },
    ],
    ['port 0', http('a', { http_port: 0 })],
    ['port 1.5', http('a', { https_port: 1.5 })],
    ['port as string', http('a', { http_port: '80' })],
    ['port above 65535', http('a', { http_port: 70000 })],
    [
      'bad app_protocol',
      {
        name: 'a',
        type: 'tcp',
        tcp_port: 1,
        app_protocol: 'redis',
        host: { ipv4: '10.0.0.1', network: { tunnel_id: TUNNEL } },
      },
    ],
    ['tls_settings without mode', http('a', { tls_settings: {} })],
    ['tcp_port on http', http('a', { tcp_port: 22 })],
    [
      'http_port on tcp',
      {
        name: 'a',
        type: 'tcp',
        http_port: 80,
        host: { ipv4: '10.0.0.1', network: { tunnel_id: TUNNEL } },
      },
    ],
    ['array body', [http('a')]],
  ];

  it.each(bad)('%s', async (_label, body) => {
    await start();
    expectFailure(await call('POST', '', { body }), VALIDATION_ERROR.status, VALIDATION_ERROR.code);
  });

  it('invalid JSON', async () => {
    await start();
    expectFailure(
      await call('POST', '', { raw: '{"name":' }),
      VALIDATION_ERROR.status,
      VALIDATION_ERROR.code,
    );
  });

  it('accepts a foreign field sent as null (a PUT that changes type clears the old fields)', async () => {
    await start();
    const r = await call('POST', '', { body: { ...http('a', { tcp_port: null }) } });
    expect(r.status).toBe(200);
  });

  it('accepts an undocumented cert_verification_mode (the spec has no enum, §9.5)', async () => {
    await start();
    const r = await call('POST', '', {
      body: http('a', { tls_settings: { cert_verification_mode: 'strict' } }),
    });
    expect(r.status).toBe(200);
  });
});

describe('get, put, delete', () => {
  it('GET one returns what POST returned', async () => {
    await start();
    const created = (await call('POST', '', { body: http('web') })).body['result'] as JsonObject;
    const r = await call('GET', `/${String(created['service_id'])}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ success: true, errors: [], messages: [] });
    expect(r.body['result']).toEqual(created);
  });

  it.each([
    ['unknown id', '/5f0c8f3e-0000-4000-8000-000000000000'],
    ['malformed id', '/not-a-uuid'],
  ])('GET %s → 404', async (_label, path) => {
    await start();
    expectFailure(await call('GET', path), 404, SERVICE_NOT_FOUND.code);
  });

  it('PUT replaces the whole body, keeps service_id and created_at, bumps updated_at', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    await start({ now: () => t });
    const created = (
      await call('POST', '', { body: http('web', { http_port: 8080, https_port: 8443 }) })
    ).body['result'] as JsonObject;
    t += 5000;
    const id = String(created['service_id']);
    const replacement = {
      name: 'web2',
      type: 'tcp',
      tcp_port: 5432,
      host: { hostname: 'db.internal', resolver_network: { tunnel_id: TUNNEL } },
    };
    const r = await call('PUT', `/${id}`, { body: replacement });
    expect(r.status).toBe(200);
    const result = r.body['result'] as JsonObject;
    expect(result['service_id']).toBe(id);
    expect(result['created_at']).toBe('2026-01-01T00:00:00.000Z');
    expect(result['updated_at']).toBe('2026-01-01T00:00:05.000Z');
    const { service_id: _i, created_at: _c, updated_at: _u, ...rest } = result;
    // Full replacement: http_port/https_port are gone (PUT_SEMANTICS "replace").
    expect(rest).toEqual(replacement);
    expect((await call('GET', `/${id}`)).body['result']).toEqual(result);
  });

  it('updated_at moves even within one clock tick', async () => {
    await start({ now: () => 0 });
    const created = (await call('POST', '', { body: http('web') })).body['result'] as JsonObject;
    const put = (await call('PUT', `/${String(created['service_id'])}`, { body: http('web') }))
      .body['result'] as JsonObject;
    expect(Date.parse(String(put['updated_at']))).toBeGreaterThan(
      Date.parse(String(created['updated_at'])),
    );
  });

  it('putSemantics "keep-omitted" keeps omitted and null optional fields', async () => {
    await start({ putSemantics: 'keep-omitted' });
    const created = (await call('POST', '', { body: http('web', { http_port: 8080 }) })).body[
      'result'
    ] as JsonObject;
    const r = await call('PUT', `/${String(created['service_id'])}`, {
      body: http('web', { http_port: null }),
    });
    expect((r.body['result'] as JsonObject)['http_port']).toBe(8080);
  });

  it('PUT renaming onto another service’s name → 5101; renaming to itself is fine', async () => {
    await start();
    await call('POST', '', { body: http('a') });
    const b = (await call('POST', '', { body: http('b') })).body['result'] as JsonObject;
    const id = String(b['service_id']);
    expectFailure(await call('PUT', `/${id}`, { body: http('a') }), 400, 5101);
    expect((await call('PUT', `/${id}`, { body: http('b', { http_port: 81 }) })).status).toBe(200);
  });

  it('PUT validates like POST and 404s on an unknown id', async () => {
    await start();
    const b = (await call('POST', '', { body: http('b') })).body['result'] as JsonObject;
    expectFailure(
      await call('PUT', `/${String(b['service_id'])}`, { body: { name: 'b' } }),
      400,
      VALIDATION_ERROR.code,
    );
    expectFailure(
      await call('PUT', '/5f0c8f3e-0000-4000-8000-000000000000', { body: http('x') }),
      404,
      SERVICE_NOT_FOUND.code,
    );
  });

  it('DELETE answers 200 with result null; then GET and DELETE are 404', async () => {
    await start();
    const b = (await call('POST', '', { body: http('b') })).body['result'] as JsonObject;
    const path = `/${String(b['service_id'])}`;
    const r = await call('DELETE', path);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ success: true, errors: [], messages: [], result: null });
    expectFailure(await call('GET', path), 404, SERVICE_NOT_FOUND.code);
    expectFailure(await call('DELETE', path), 404, SERVICE_NOT_FOUND.code);
  });

  it('a deleted name can be created again', async () => {
    await start();
    const b = (await call('POST', '', { body: http('b') })).body['result'] as JsonObject;
    await call('DELETE', `/${String(b['service_id'])}`);
    expect((await call('POST', '', { body: http('b') })).status).toBe(200);
  });
});

describe('list', () => {
  async function createMany(n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const body =
        i % 2 === 0
          ? http(`svc-${i}`)
          : {
              name: `svc-${i}`,
              type: 'tcp',
              tcp_port: 5432,
              host: { ipv4: '10.0.0.2', network: { tunnel_id: TUNNEL } },
            };
      ids.push(
        String(((await call('POST', '', { body })).body['result'] as JsonObject)['service_id']),
      );
    }
    return ids;
  }

  it('defaults to page 1, per_page 1000, in creation order', async () => {
    await start();
    const ids = await createMany(3);
    const r = await call('GET', '');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ success: true, errors: [], messages: [] });
    expect((r.body['result'] as JsonObject[]).map((s) => s['service_id'])).toEqual(ids);
    expect(r.body['result_info']).toEqual({
      count: 3,
      page: 1,
      per_page: 1000,
      total_count: 3,
      total_pages: 1,
    });
  });

  it('an empty account lists [] with zero counts', async () => {
    await start();
    const r = await call('GET', '');
    expect(r.body['result']).toEqual([]);
    expect(r.body['result_info']).toEqual({
      count: 0,
      page: 1,
      per_page: 1000,
      total_count: 0,
      total_pages: 0,
    });
  });

  it('pages; a page past the end is an empty success', async () => {
    await start();
    const ids = await createMany(5);
    const pages: unknown[] = [];
    for (const page of [1, 2, 3]) {
      const r = await call('GET', `?per_page=2&page=${page}`);
      pages.push(...(r.body['result'] as JsonObject[]).map((s) => s['service_id']));
      expect(r.body['result_info']).toEqual({
        count: page === 3 ? 1 : 2,
        page,
        per_page: 2,
        total_count: 5,
        total_pages: 3,
      });
    }
    expect(pages).toEqual(ids);
    const past = await call('GET', '?per_page=2&page=4');
    expect(past.status).toBe(200);
    expect(past.body['result']).toEqual([]);
    expect(past.body['result_info']).toMatchObject({ count: 0, page: 4 });
  });

  it('keeps creation order after a PUT', async () => {
    await start();
    const ids = await createMany(3);
    await call('PUT', `/${ids[0] ?? ''}`, { body: http('svc-0', { http_port: 81 }) });
    const r = await call('GET', '');
    expect((r.body['result'] as JsonObject[]).map((s) => s['service_id'])).toEqual(ids);
  });

  it('filters by type', async () => {
    await start();
    await createMany(5);
    const r = await call('GET', '?type=tcp');
    expect((r.body['result'] as JsonObject[]).map((s) => s['name'])).toEqual(['svc-1', 'svc-3']);
    expect(r.body['result_info']).toMatchObject({ total_count: 2 });
  });

  it.each([['?per_page=1001'], ['?per_page=0'], ['?page=0'], ['?page=x'], ['?type=udp']])(
    '%s → 400',
    async (q) => {
      await start();
      expectFailure(await call('GET', q), 400, VALIDATION_ERROR.code);
    },
  );

  it('per_page=1000 is allowed', async () => {
    await start();
    expect((await call('GET', '?per_page=1000')).status).toBe(200);
  });
});

describe('auth', () => {
  it('no credentials → 403 10000 "Authentication error"', async () => {
    await start();
    const r = await call('GET', '', { headers: {} });
    expectFailure(r, 403, AUTH_ERROR.code);
    expect((r.body['errors'] as JsonObject[])[0]?.['message']).toBe('Authentication error');
  });

  it.each([
    ['a wrong token', { authorization: 'Bearer nope' }],
    ['a wrong key', { 'x-auth-email': DEMO_CLOUDFLARE.email, 'x-auth-key': 'nope' }],
    ['an email alone', { 'x-auth-email': DEMO_CLOUDFLARE.email }],
    ['basic auth', { authorization: 'Basic Zm9vOmJhcg==' }],
  ])('%s → 403 10000', async (_label, headers) => {
    await start();
    expectFailure(await call('GET', '', { headers }), 403, AUTH_ERROR.code);
  });

  it('accepts X-Auth-Email + X-Auth-Key', async () => {
    await start();
    const r = await call('GET', '', {
      headers: { 'x-auth-email': DEMO_CLOUDFLARE.email, 'x-auth-key': DEMO_CLOUDFLARE.apiKey },
    });
    expect(r.status).toBe(200);
  });

  it('accepts custom credentials', async () => {
    await start({ token: 't'.repeat(40) });
    expect(
      (await call('GET', '', { headers: { authorization: `Bearer ${'t'.repeat(40)}` } })).status,
    ).toBe(200);
    expectFailure(await call('GET', ''), 403, AUTH_ERROR.code);
  });

  it('a token without the scope → 403 10196', async () => {
    await start({ missingScopeTokens: ['scopeless-token'] });
    expectFailure(
      await call('GET', '', { headers: { authorization: 'Bearer scopeless-token' } }),
      403,
      MISSING_SCOPE_ERROR.code,
    );
    expectFailure(
      await call('POST', '', {
        body: http('a'),
        headers: { authorization: 'Bearer scopeless-token' },
      }),
      403,
      MISSING_SCOPE_ERROR.code,
    );
  });

  it('another account → 403', async () => {
    await start();
    expectFailure(await call('GET', '', { account: 'f'.repeat(32) }), 403, AUTH_ERROR.code);
  });
});

describe('routes and methods', () => {
  it.each([
    ['PATCH', ''],
    ['DELETE', ''],
    ['PUT', ''],
    ['POST', '/5f0c8f3e-0000-4000-8000-000000000000'],
    ['PATCH', '/5f0c8f3e-0000-4000-8000-000000000000'],
  ])('%s on "%s" → 405', async (method, path) => {
    await start();
    const r = await call(method, path, { body: {} });
    expectFailure(r, 405, METHOD_NOT_ALLOWED.code);
    expect(r.headers.get('allow')).toBeTruthy();
  });

  it('an unknown route → 404 7003', async () => {
    await start();
    expectFailure(await call('GET', '/client/v4/accounts/x/tunnels'), 404, NO_ROUTE.code);
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After and a failure envelope past the per-credential window', async () => {
    let t = 1_000_000;
    await start({ rateLimit: { requests: 3, windowS: 60 }, now: () => t });
    for (let i = 0; i < 3; i++) expect((await call('GET', '')).status).toBe(200);
    t += 10_000;
    const r = await call('GET', '');
    expectFailure(r, 429, RATE_LIMIT.code);
    expect(r.headers.get('retry-after')).toBe('50');
    // Another credential has its own window.
    const other = await call('GET', '', {
      headers: { 'x-auth-email': DEMO_CLOUDFLARE.email, 'x-auth-key': DEMO_CLOUDFLARE.apiKey },
    });
    expect(other.status).toBe(200);
    t += 50_000;
    expect((await call('GET', '')).status).toBe(200);
  });

  it('the code is configurable', async () => {
    await start({ rateLimit: { requests: 1, windowS: 60 }, rateLimitCode: 971 });
    await call('GET', '');
    expectFailure(await call('GET', ''), 429, 971);
  });
});

describe('faults', () => {
  it('scripted 503 and 429 come as failure envelopes (429 with Retry-After)', async () => {
    const e = await start({
      faults: {
        script: [
          { action: 'status', status: 503, path: '/services', method: 'GET' },
          { action: 'status', status: 429, retryAfterS: 7 },
        ],
      },
    });
    expectFailure(await call('GET', ''), 503, 10001);
    const limited = await call('GET', '');
    expectFailure(limited, 429, RATE_LIMIT.code);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect((await call('GET', '')).status).toBe(200);
    expect(e.requestCount()).toBe(3);
  });

  it('a reset aborts the request before anything is stored', async () => {
    const e = await start({ faults: { script: [{ action: 'reset', method: 'POST' }] } });
    await expect(call('POST', '', { body: http('a') })).rejects.toThrow();
    expect(e.dump().services).toEqual([]);
  });

  it('a drop cuts the response after the write landed', async () => {
    const e = await start({ faults: { script: [{ action: 'drop', method: 'POST' }] } });
    await expect(call('POST', '', { body: http('a') })).rejects.toThrow();
    expect(e.dump().services.map((s) => s['name'])).toEqual(['a']);
  });

  it('latency delays answers; faults can be changed at run time', async () => {
    const e = await start();
    e.faults.update({ latencyMs: 120 });
    const t0 = Date.now();
    await call('GET', '');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    e.faults.update({ rate500: 1, seed: 1 });
    expectFailure(await call('GET', ''), 500, 10001);
  });
});

describe('seed, dump and hooks', () => {
  it('loads seeded services unvalidated and dumps them as GET shows them', async () => {
    const seeded = {
      service_id: '11111111-1111-4111-8111-111111111111',
      created_at: '2025-01-01T00:00:00Z',
      ...http('twin'),
    };
    const e = await start({ seed: { services: [seeded, { ...http('twin') }] } });
    const dump = e.dump();
    expect(dump.accountId).toBe(DEMO_CLOUDFLARE.accountId);
    expect(dump.services).toHaveLength(2);
    expect(dump.services[0]).toEqual({ ...seeded, updated_at: '2025-01-01T00:00:00Z' });
    const r = await call('GET', `/${seeded.service_id}`);
    expect(r.body['result']).toEqual(dump.services[0]);
    // The dump is a copy.
    (dump.services[0] as JsonObject)['name'] = 'changed';
    expect(e.dump().services[0]?.['name']).toBe('twin');
  });

  it('beforeStore changes what is kept (simulating an API that drops a field)', async () => {
    const e = await start();
    e.hooks.beforeStore = (body) => {
      delete body['http_port'];
      return body;
    };
    const r = await call('POST', '', { body: http('a', { http_port: 8080 }) });
    expect(r.body['result']).not.toHaveProperty('http_port');
  });
});

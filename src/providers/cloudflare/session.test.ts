/**
 * The session against the Cloudflare emulator over loopback HTTP: CRUD, paging,
 * error mapping, create recovery, non-convergence detection and the budget.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../core/errors.ts';
import type { JsonObject } from '../../core/json.ts';
import type { TargetConfig } from '../../core/model.ts';
import type { RequestEvent } from '../../io/http-types.ts';
import {
  DEMO_CLOUDFLARE,
  startCloudflareEmulator,
  type CloudflareEmulator,
  type CloudflareEmulatorOptions,
} from '../../emulator/cloudflare/server.ts';
import { cloudflareConnectivityService as provider } from './provider.ts';
import { RequestBudget } from './client.ts';
import { createCloudflareSession } from './session.ts';
import type { ProviderSession } from '../types.ts';

const T = '0191dce4-9ab4-7fce-b660-8e5dec5172da';
const ACCOUNT = DEMO_CLOUDFLARE.accountId;
const ipHost = { ipv4: '10.0.0.1', network: { tunnel_id: T } };

let emu: CloudflareEmulator | undefined;
let session: ProviderSession | undefined;
afterEach(async () => {
  await session?.close();
  await emu?.close();
  session = undefined;
  emu = undefined;
});

function targetFor(
  e: CloudflareEmulator,
  auth: Record<string, string> = { token: DEMO_CLOUDFLARE.token },
): TargetConfig {
  return {
    name: 'cf',
    type: 'cloudflare',
    url: e.url,
    account_id: ACCOUNT,
    auth,
    concurrency: 4,
    timeout_ms: 5000,
    source: { file: 'connops.yaml', line: 1, col: 1 },
  };
}

const fast = { sleep: async (): Promise<void> => {}, random: (): number => 0 };

async function open(
  options: CloudflareEmulatorOptions = {},
  auth?: Record<string, string>,
  events?: RequestEvent[],
): Promise<{ e: CloudflareEmulator; s: ProviderSession }> {
  emu = await startCloudflareEmulator(options);
  session = provider.connect(targetFor(emu, auth), {
    ...fast,
    ...(events ? { onRequest: (ev) => events.push(ev) } : {}),
  });
  return { e: emu, s: session };
}

function http(name: string, extra: JsonObject = {}): JsonObject {
  return { name, type: 'http', host: ipHost, ...extra };
}

async function rejection(p: Promise<unknown>): Promise<ApiError> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('CRUD', () => {
  it('create → get → list → update → delete, with 404 = already gone', async () => {
    const { e, s } = await open();
    expect(await s.list(ACCOUNT)).toEqual([]);

    const created = await s.create(
      ACCOUNT,
      provider.buildCreate(http('web', { http_port: 8080 }), targetFor(e)),
    );
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.revision).toBe(created.body['updated_at']);
    expect(await s.get(ACCOUNT, created.id)).toEqual(created);
    expect((await s.list(ACCOUNT)).map((l) => l.id)).toEqual([created.id]);

    const desired = http('web', { https_port: 8443 });
    const request = provider.buildUpdate(
      provider.normalize(created.body, targetFor(e)),
      provider.normalize(desired, targetFor(e)),
      desired,
    );
    expect(request.body).toMatchObject({ http_port: null, https_port: 8443 });
    const updated = await s.update(ACCOUNT, created, request);
    expect(updated.id).toBe(created.id);
    expect(updated.revision).not.toBe(created.revision);
    expect(provider.normalize(updated.body, targetFor(e))).toEqual(
      provider.normalize(desired, targetFor(e)),
    );

    await s.delete(ACCOUNT, updated);
    expect(await s.get(ACCOUNT, created.id)).toBeUndefined();
    await expect(s.delete(ACCOUNT, updated)).resolves.toBeUndefined();
  });

  it('works with email + api_key', async () => {
    const { s } = await open({}, { email: DEMO_CLOUDFLARE.email, api_key: DEMO_CLOUDFLARE.apiKey });
    await s.create(ACCOUNT, http('a'));
    expect(await s.list(ACCOUNT)).toHaveLength(1);
  });

  it('lists every page with per_page=1000 and stops on the short page', async () => {
    const services = Array.from({ length: 2345 }, (_, i) => http(`svc-${i}`));
    const events: RequestEvent[] = [];
    const { s } = await open({ seed: { services } }, undefined, events);
    const all = await s.list(ACCOUNT);
    expect(all).toHaveLength(2345);
    expect(all.map((l) => l.body['name'])).toEqual(services.map((x) => x['name']));
    expect(events).toHaveLength(3);
  });

  it('an exact multiple of 1000 stops via total_pages without an extra empty page', async () => {
    const events: RequestEvent[] = [];
    const { s } = await open(
      { seed: { services: Array.from({ length: 1000 }, (_, i) => http(`s${i}`)) } },
      undefined,
      events,
    );
    expect(await s.list(ACCOUNT)).toHaveLength(1000);
    expect(events).toHaveLength(1);
  });
});

describe('errors', () => {
  it('duplicate name with the same settings (a concurrent create) → the service is adopted', async () => {
    const { s } = await open();
    const first = await s.create(ACCOUNT, http('dup'));
    const again = await s.create(ACCOUNT, http('dup'));
    expect(again.id).toBe(first.id);
    expect(again.adopted).toBe(true);
    expect(await s.list(ACCOUNT)).toHaveLength(1);
  });

  it('duplicate name with other settings → CONFLICT naming the service', async () => {
    const { s } = await open();
    await s.create(ACCOUNT, http('dup'));
    const err = await rejection(s.create(ACCOUNT, http('dup', { http_port: 8080 })));
    expect(err.code).toBe('CONFLICT');
    expect(err.message).toContain('"dup"');
    expect(err.message).toContain('different settings');
    expect(err.message).toContain('code 5101');
  });

  it('bad credentials → AUTH, without the token in the message', async () => {
    const secret = 'wrong-token-abcdefghijklmnopqrstuvwxyz';
    const { s } = await open({}, { token: secret });
    const err = await rejection(s.list(ACCOUNT));
    expect(err.code).toBe('AUTH');
    expect(err.status).toBe(403);
    expect(err.message).toContain('"Authentication error" (code 10000)');
    expect(err.message).not.toContain(secret);
    expect(JSON.stringify(err)).not.toContain(secret);
  });

  it('a token without the scope → AUTH naming the permission', async () => {
    const { s } = await open(
      { missingScopeTokens: ['scopeless-token-0123456789'] },
      { token: 'scopeless-token-0123456789' },
    );
    const err = await rejection(s.create(ACCOUNT, http('a')));
    expect(err.code).toBe('AUTH');
    expect(err.message).toContain('"Connectivity Directory: Admin"');
  });

  it('a validation failure quotes the API', async () => {
    const { s } = await open();
    const err = await rejection(
      s.create(ACCOUNT, { name: 'bad', type: 'http', host: { ipv4: '10.0.0.1' } }),
    );
    expect(err.code).toBe('API');
    expect(err.status).toBe(400);
    expect(err.message).toMatch(
      /^Cannot create cloudflare\/connectivity-service "bad" in account 023e105f…: Cloudflare answered 400: "host must be/,
    );
  });

  it('updating a service deleted since the plan → a clear 404 error', async () => {
    const { s } = await open();
    const live = await s.create(ACCOUNT, http('a'));
    await s.delete(ACCOUNT, live);
    const err = await rejection(
      s.update(ACCOUNT, live, { method: 'PUT', body: http('a', { http_port: 81 }) }),
    );
    expect(err.status).toBe(404);
    expect(err.message).toContain('no longer exists');
  });

  it('a 429 with Retry-After is retried by the HTTP layer', async () => {
    const { s } = await open({
      faults: { script: [{ action: 'status', status: 429, retryAfterS: 0, method: 'POST' }] },
    });
    const live = await s.create(ACCOUNT, http('a'));
    expect(live.body['name']).toBe('a');
  });

  it('a server-side rate limit longer than the client waits → LIMIT', async () => {
    const { s } = await open({ rateLimit: { requests: 1, windowS: 300 } });
    await s.list(ACCOUNT);
    const err = await rejection(s.list(ACCOUNT));
    expect(err.code).toBe('LIMIT');
    expect(err.message).toContain('retry after 300 s');
  });
});

describe('create is never retried blindly', () => {
  it('after a dropped answer, finds the service by name', async () => {
    const events: RequestEvent[] = [];
    const { e, s } = await open(
      { faults: { script: [{ action: 'drop', method: 'POST' }] } },
      undefined,
      events,
    );
    const live = await s.create(ACCOUNT, http('landed'));
    expect(live.body['name']).toBe('landed');
    expect(e.dump().services).toHaveLength(1);
    expect(events.filter((ev) => ev.method === 'POST')).toHaveLength(1);
  });

  it('after a 503 where nothing landed, reports the 503', async () => {
    const { e, s } = await open({
      faults: { script: [{ action: 'status', status: 503, method: 'POST' }] },
    });
    const err = await rejection(s.create(ACCOUNT, http('x')));
    expect(err.status).toBe(503);
    expect(e.dump().services).toHaveLength(0);
  });

  it('after a lost answer, a same-named service with other settings is a conflict', async () => {
    const { e, s } = await open({ faults: { script: [{ action: 'drop', method: 'POST' }] } });
    e.hooks.beforeStore = (body) => ({ ...body, http_port: 9999 });
    const err = await rejection(s.create(ACCOUNT, http('x')));
    expect(err.code).toBe('CONFLICT');
    expect(err.message).toContain('different settings');
  });
});

describe('non-convergence', () => {
  it('an API that drops a field on PUT is detected', async () => {
    const { e, s } = await open();
    const live = await s.create(ACCOUNT, http('web'));
    e.hooks.beforeStore = (body, method) => {
      if (method === 'PUT') delete body['https_port'];
      return body;
    };
    const err = await rejection(
      s.update(ACCOUNT, live, { method: 'PUT', body: http('web', { https_port: 8443 }) }),
    );
    expect(err.message).toContain('the API did not converge');
    expect(err.message).toContain('"https_port"');
  });

  it('a PUT that keeps omitted/null fields is detected', async () => {
    const { e, s } = await open({ putSemantics: 'keep-omitted' });
    const live = await s.create(ACCOUNT, http('web', { http_port: 8080 }));
    const desired = http('web');
    const request = provider.buildUpdate(
      provider.normalize(live.body, targetFor(e)),
      provider.normalize(desired, targetFor(e)),
      desired,
    );
    const err = await rejection(s.update(ACCOUNT, live, request));
    expect(err.message).toContain('did not converge');
  });
});

describe('request budget', () => {
  it('delays instead of failing once the window is full', async () => {
    let now = 0;
    const waits: number[] = [];
    const budget = new RequestBudget(
      2,
      1000,
      () => now,
      async (ms) => {
        waits.push(ms);
        now += ms;
      },
    );
    await budget.take();
    await budget.take();
    now = 100;
    await budget.take();
    expect(waits).toEqual([900]);
    // At t=1000 both t=0 requests left the window; only the third counts.
    expect(budget.used).toBe(1);
  });

  it('counts HTTP-layer retries', async () => {
    emu = await startCloudflareEmulator({
      faults: { script: [{ action: 'status', status: 503, method: 'GET' }] },
    });
    const s = createCloudflareSession(targetFor(emu), fast);
    session = s;
    await s.list(ACCOUNT);
    expect(s.client.budget.used).toBe(2);
  });

  it('a session honours a small budget against the emulator', async () => {
    emu = await startCloudflareEmulator();
    let now = 0;
    const slept: number[] = [];
    const s = createCloudflareSession(
      targetFor(emu),
      {
        sleep: async (ms) => {
          slept.push(ms);
          now += ms;
        },
      },
      { budget: { requests: 2, windowMs: 60_000 }, now: () => now },
    );
    session = s;
    for (let i = 0; i < 3; i++) await s.list(ACCOUNT);
    expect(slept).toEqual([60_000]);
  });
});

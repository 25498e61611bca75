/**
 * The Cloudflare emulator's answers at the edges a real client meets: the Ray
 * ID and rate-limit headers on every answer, and the failure envelope (never a
 * bare status or an emulator error) for oversized bodies and malformed paths,
 * after authentication. Real loopback HTTP.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_CLOUDFLARE, startCloudflareEmulator, type CloudflareEmulator } from './server.ts';
import {
  AUTH_ERROR,
  FOREIGN_ACCOUNT_ERROR,
  PAYLOAD_TOO_LARGE,
  RATE_LIMIT,
  SERVICE_NOT_FOUND,
} from './unverified.ts';

const RAY = /^[0-9a-f]{16}-[A-Z]{3}$/;
const AUTH = { authorization: `Bearer ${DEMO_CLOUDFLARE.token}` };
let emu: CloudflareEmulator;
let small: CloudflareEmulator;

beforeAll(async () => {
  [emu, small] = await Promise.all([
    startCloudflareEmulator(),
    startCloudflareEmulator({ maxBodyBytes: 1024 }),
  ]);
});
afterAll(async () => {
  await Promise.all([emu.close(), small.close()]);
});

async function send(
  on: CloudflareEmulator,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  rawPath: string,
  options: { headers?: Record<string, string>; body?: string } = {},
) {
  const res = await request(`http://127.0.0.1:${on.port}/client/v4${rawPath}`, {
    method,
    headers: { ...(options.headers ?? AUTH), 'content-type': 'application/json' },
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const text = await res.body.text();
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return { status: res.statusCode, headers, json: JSON.parse(text) as Record<string, unknown> };
}

const services = (on: CloudflareEmulator) =>
  `/accounts/${on.accountId}/connectivity/directory/services`;
const failure = (e: { code: number; message: string }) => ({
  success: false,
  errors: [{ code: e.code, message: e.message }],
  messages: [],
  result: null,
});

describe('headers on every answer', () => {
  it('a fresh cf-ray on successes, failures and injected faults', async () => {
    const a = await send(emu, 'GET', services(emu));
    const b = await send(emu, 'GET', services(emu));
    const denied = await send(emu, 'GET', services(emu), { headers: {} });
    emu.faults.update({ script: [{ method: 'GET', action: 'status', status: 503 }] });
    const fault = await send(emu, 'GET', services(emu));
    emu.faults.update({});
    for (const r of [a, b, denied, fault]) expect(r.headers['cf-ray']).toMatch(RAY);
    expect(new Set([a, b, denied, fault].map((r) => r.headers['cf-ray'])).size).toBe(4);
    expect([denied.status, fault.status]).toEqual([403, 503]);
  });

  it('Ratelimit and Ratelimit-Policy for an authenticated caller (DOCS format)', async () => {
    const own = await startCloudflareEmulator({ rateLimit: { requests: 3, windowS: 300 } });
    try {
      const path = services(own);
      const seen = [];
      for (let i = 0; i < 4; i++) seen.push(await send(own, 'GET', path));
      expect(seen.map((r) => r.headers['ratelimit']?.replace(/;t=\d+$/, ''))).toEqual([
        '"default";r=2',
        '"default";r=1',
        '"default";r=0',
        '"default";r=0',
      ]);
      for (const r of seen) {
        expect(r.headers['ratelimit']).toMatch(/;t=(300|299)$/);
        expect(r.headers['ratelimit-policy']).toBe('"default";q=3;w=300');
      }
      expect(seen[3]?.status).toBe(RATE_LIMIT.status);
      expect(seen[3]?.headers['retry-after']).toMatch(/^\d+$/);
      // The default policy is the documented 1,200 requests per 5 minutes.
      const r = await send(emu, 'GET', services(emu));
      expect(r.headers['ratelimit-policy']).toBe('"default";q=1200;w=300');
    } finally {
      await own.close();
    }
  });
});

describe('a body over the size limit (413 in the envelope, after authentication)', () => {
  const big = JSON.stringify({ name: 'x'.repeat(4096), type: 'http' });

  it('answers 413 with the failure envelope', async () => {
    const r = await send(small, 'POST', services(small), { body: big });
    expect(r.status).toBe(413);
    expect(r.json).toEqual(failure(PAYLOAD_TOO_LARGE));
    expect(r.headers['cf-ray']).toMatch(RAY);
    expect(r.headers['content-type']).toMatch(/application\/json/);
  });

  it('without credentials the answer is the authentication error', async () => {
    const r = await send(small, 'POST', services(small), { body: big, headers: {} });
    expect(r.status).toBe(AUTH_ERROR.status);
    expect(r.json).toEqual(failure(AUTH_ERROR));
  });

  it('the default limit is 5 MiB', async () => {
    const r = await send(emu, 'POST', services(emu), {
      body: JSON.stringify({ name: 'x'.repeat(5 * 1024 * 1024) }),
    });
    expect(r.status).toBe(413);
  });
});

describe('malformed percent-escapes in the path (envelope, after authentication)', () => {
  it('in the service id: 404 not found', async () => {
    for (const method of ['GET', 'PUT', 'DELETE'] as const) {
      const r = await send(emu, method, `${services(emu)}/%zz`, { body: '{}' });
      expect([method, r.status, r.json]).toEqual([method, 404, failure(SERVICE_NOT_FOUND)]);
      expect(r.headers['cf-ray']).toMatch(RAY);
    }
  });

  it('in the account id: the foreign-account answer', async () => {
    const r = await send(emu, 'GET', '/accounts/%E0%A4%A/connectivity/directory/services');
    expect(r.status).toBe(FOREIGN_ACCOUNT_ERROR.status);
    expect(r.json).toEqual(failure(FOREIGN_ACCOUNT_ERROR));
  });

  it('without credentials the answer is the authentication error', async () => {
    const r = await send(emu, 'GET', `${services(emu)}/%zz`, { headers: {} });
    expect(r.status).toBe(AUTH_ERROR.status);
    expect(r.json).toEqual(failure(AUTH_ERROR));
  });
});

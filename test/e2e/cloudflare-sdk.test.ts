/**
 * A client nobody here wrote against our Cloudflare emulator: the official
 * `cloudflare` TypeScript SDK (a dev dependency only; src/ never imports it),
 * over loopback. What the SDK sees, its error classes, statuses and values, is
 * what the emulator has to get right for any real client (reference/cloudflare-api.md §8).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Cloudflare from 'cloudflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEMO_CLOUDFLARE,
  startCloudflareEmulator,
  type CloudflareEmulator,
} from '../../src/emulator/cloudflare/server.ts';
import {
  AUTH_ERROR,
  SERVICE_NOT_FOUND,
  VALIDATION_ERROR,
} from '../../src/emulator/cloudflare/unverified.ts';

const TUNNEL = '0191dce4-9ab4-7fce-b660-8e5dec5172da';
const ipHost = { ipv4: '10.0.0.1', network: { tunnel_id: TUNNEL } };

let emu: CloudflareEmulator;
let cf: Cloudflare;
const account_id = DEMO_CLOUDFLARE.accountId;

beforeAll(async () => {
  emu = await startCloudflareEmulator();
  // maxRetries 0: the SDK retries POSTs blindly (one reason it is not connops' runtime);
  // here every answer should reach the assertions as the emulator sent it.
  cf = new Cloudflare({ apiToken: DEMO_CLOUDFLARE.token, baseURL: emu.url, maxRetries: 0 });
});
afterAll(() => emu.close());

const services = () => cf.connectivity.directory.services;

describe('the official cloudflare SDK against the emulator', () => {
  it('create → get → update → list (auto-paginated over several pages) → delete → get 404', async () => {
    const created = await services().create({
      account_id,
      name: 'sdk-web',
      type: 'http',
      host: ipHost,
      http_port: 8080,
    });
    expect(created.service_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created).toMatchObject({ name: 'sdk-web', type: 'http', host: ipHost, http_port: 8080 });
    expect(created.created_at).toBe(created.updated_at);

    const got = await services().get(created.service_id as string, { account_id });
    expect(got).toEqual(created);

    const updated = await services().update(created.service_id as string, {
      account_id,
      name: 'sdk-web',
      type: 'tcp',
      host: ipHost,
      tcp_port: 5432,
      app_protocol: 'postgresql',
    });
    expect(updated.service_id).toBe(created.service_id);
    expect(updated).toMatchObject({ type: 'tcp', tcp_port: 5432, app_protocol: 'postgresql' });
    expect(updated).not.toHaveProperty('http_port');
    expect(Date.parse(updated.updated_at as string)).toBeGreaterThan(
      Date.parse(created.updated_at as string),
    );

    for (let i = 0; i < 4; i++)
      await services().create({ account_id, name: `sdk-more-${i}`, type: 'http', host: ipHost });
    // per_page 2 over 5 services: pages of 2, 2 and 1, then the empty page that ends the iteration.
    const names: string[] = [];
    const pages: number[] = [];
    const first = await services().list({ account_id, per_page: 2 });
    for await (const page of first.iterPages()) {
      pages.push(page.result.length);
      names.push(...page.result.map((s) => s.name as string));
    }
    expect(pages).toEqual([2, 2, 1, 0]);
    const all: string[] = [];
    const before = emu.requestCount();
    for await (const s of services().list({ account_id, per_page: 2 })) all.push(s.name as string);
    // Auto-pagination asked for pages 1 to 4 (the fourth came back empty).
    expect(emu.requestCount() - before).toBe(4);
    expect(all).toEqual(names);
    expect(all).toEqual(['sdk-web', 'sdk-more-0', 'sdk-more-1', 'sdk-more-2', 'sdk-more-3']);

    // DELETE is typed `Promise<void>`, but the SDK hands back the parsed JSON body it
    // got: the success envelope with `result: null` (unverified.ts DELETE_RESULT).
    await expect(services().delete(created.service_id as string, { account_id })).resolves.toEqual({
      success: true,
      errors: [],
      messages: [],
      result: null,
    });
    const gone = await services()
      .get(created.service_id as string, { account_id })
      .catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(Cloudflare.NotFoundError);
    expect(gone).toMatchObject({ status: 404 });
    expect((gone as InstanceType<typeof Cloudflare.NotFoundError>).errors).toEqual([
      { code: SERVICE_NOT_FOUND.code, message: SERVICE_NOT_FOUND.message },
    ]);
  });

  it("an invalid body is a BadRequestError (400) carrying the emulator's error", async () => {
    const err = await services()
      .create({
        account_id,
        name: 'sdk-bad',
        type: 'http',
        // A host with no network: matches none of the four shapes (§2).
        host: { ipv4: '10.0.0.1' } as never,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Cloudflare.BadRequestError);
    expect(err).toMatchObject({ status: VALIDATION_ERROR.status });
    const errors = (err as InstanceType<typeof Cloudflare.BadRequestError>).errors;
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe(VALIDATION_ERROR.code);
    expect(errors[0]?.message).toMatch(/^host must be exactly one of/);
  });

  it('a duplicate name is a BadRequestError with code 5101', async () => {
    await services().create({ account_id, name: 'sdk-dup', type: 'http', host: ipHost });
    const err = await services()
      .create({ account_id, name: 'sdk-dup', type: 'http', host: ipHost })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Cloudflare.BadRequestError);
    expect((err as InstanceType<typeof Cloudflare.BadRequestError>).errors[0]?.code).toBe(5101);
  });

  it('a wrong token is a PermissionDeniedError (403, code 10000); the Ray ID reaches the SDK', async () => {
    const wrong = new Cloudflare({ apiToken: 'not-the-token', baseURL: emu.url, maxRetries: 0 });
    const err = await wrong.connectivity.directory.services
      .list({ account_id })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Cloudflare.PermissionDeniedError);
    const e = err as InstanceType<typeof Cloudflare.PermissionDeniedError>;
    expect(e.status).toBe(403);
    expect(e.errors).toEqual([{ code: AUTH_ERROR.code, message: AUTH_ERROR.message }]);
    expect(e.headers.get('cf-ray')).toMatch(/^[0-9a-f]{16}-[A-Z]{3}$/);
  });
});

it('src/ never imports the SDK (a dev dependency, not the runtime)', () => {
  const src = join(import.meta.dirname, '../../src');
  const offenders = readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .filter((f) =>
      /from ['"]cloudflare['"/]|import\(['"]cloudflare/.test(readFileSync(join(src, f), 'utf8')),
    );
  expect(offenders).toEqual([]);
});

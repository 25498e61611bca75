/**
 * bench/'s minimum request counts, checked without running the bench: a small
 * estate of the bench's own generator (Kazoo documents and more than one page of
 * Cloudflare services) is planned and applied in-process against both
 * emulators, counting every HTTP attempt as bench/scenario.ts does. A plan and
 * an apply must make exactly bench/minimum.ts's numbers, which include one
 * read-back per write (Kazoo PATCH + GET, Cloudflare PUT + GET) and one number
 * fix per Kazoo account whose DIDs the writes changed.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BENCH_API_KEY,
  BENCH_CLOUDFLARE,
  drifted,
  driftedService,
  driftMovesNumbers,
  generateEstate,
  type Estate,
} from '../bench/estate.ts';
import {
  numberReads,
  minimumApplyRequests,
  minimumPlanRequests,
  type EstateShape,
} from '../bench/minimum.ts';
import { assignNumbers } from '../src/emulator/examples.ts';
import { httpOverrides } from '../src/engine/project.ts';
import { memoryIO } from '../src/cli/io.ts';
import { run } from '../src/cli/main.ts';
import type { JsonObject } from '../src/core/json.ts';
import {
  startCloudflareEmulator,
  type CloudflareEmulator,
} from '../src/emulator/cloudflare/server.ts';
import { startKazooEmulator, type KazooEmulator } from '../src/emulator/kazoo/server.ts';

let estate: Estate;
let kazoo: KazooEmulator;
let cloudflare: CloudflareEmulator;
const dir = join(tmpdir(), `connops-bench-min-${process.pid}`);
const shape = (): EstateShape => ({
  kazooAccounts: estate.accounts.length,
  kazooDocs: estate.docs.length,
  // Without changes a plan routes no DID, so it reads no number page.
  kazooNumberReads: 0,
  services: estate.services.length,
});

beforeAll(async () => {
  // 1,500 services: two list pages of 1,000.
  estate = await generateEstate(dir, {
    accounts: 3,
    docs: 9,
    didsMin: 2,
    didsMax: 6,
    concurrency: 4,
    services: 1500,
  });
  kazoo = await startKazooEmulator({ accounts: [] });
  const docs: Record<string, JsonObject[]> = {};
  for (const d of estate.docs) (docs[d.account] ??= []).push({ ...d.live, _id: d.id });
  kazoo.seed({ accounts: [estate.reseller, ...estate.accounts], docs });
  assignNumbers(
    kazoo,
    estate.docs.map((d) => ({ account: d.account, body: d.live })),
  );
  cloudflare = await startCloudflareEmulator({
    accountId: BENCH_CLOUDFLARE.accountId,
    token: BENCH_CLOUDFLARE.token,
    seed: { services: estate.services },
  });
});
afterAll(async () => {
  httpOverrides.deps = {};
  await Promise.all([kazoo?.close(), cloudflare?.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** Runs the CLI in-process and counts HTTP attempts per "METHOD host-kind". */
async function counted(argv: string[]) {
  const seen: string[] = [];
  httpOverrides.deps = {
    onRequest: (e) => seen.push(`${e.method} ${e.target} ${e.path}`),
    sleep: async () => {},
  };
  const io = memoryIO({
    cwd: dir,
    env: {
      ...estate.env,
      KAZOO_URL: kazoo.url,
      KAZOO_API_KEY: BENCH_API_KEY,
      CLOUDFLARE_URL: cloudflare.url,
      CLOUDFLARE_TOKEN: BENCH_CLOUDFLARE.token,
      NO_COLOR: '1',
    },
  });
  const code = await run([...argv, '-c', estate.configPath], io);
  httpOverrides.deps = {};
  return { code, seen, out: io.out, err: io.err };
}

describe('bench minimum request counts', () => {
  it('the estate has Kazoo documents and more than one page of Cloudflare services', () => {
    expect(estate.docs.length).toBe(9);
    expect(estate.services.length).toBe(1500);
  });

  it('plan without changes makes exactly the minimum', async () => {
    const r = await counted(['plan']);
    expect(r.code, r.err).toBe(0);
    expect(r.seen.length).toBe(minimumPlanRequests(shape()));
    expect(r.seen.filter((s) => s.startsWith('GET cf-bench')).length).toBe(2);
  });

  it('apply of Kazoo and Cloudflare updates makes exactly the minimum: one read-back per write', async () => {
    const kazooDrift = [0, 4, 8];
    const serviceDrift = [0, 1, 2, 999, 1000, 1499];
    const docs: Record<string, JsonObject[]> = {};
    for (const i of kazooDrift) {
      const d = estate.docs[i] as Estate['docs'][number];
      (docs[d.account] ??= []).push({ ...drifted(d.live, i), _id: d.id });
    }
    kazoo.seed({ docs });
    cloudflare.seed({
      services: serviceDrift.map((i) => driftedService(estate.services[i] as JsonObject, i)),
    });
    const before = { kazoo: kazoo.requestCount(), cloudflare: cloudflare.requestCount() };
    const r = await counted(['apply', '--yes']);
    expect(r.code, r.err + r.out).toBe(0);
    // One number fix per account in which a drifted document lost a DID (apply claims it back).
    const claimed = new Map<string, number>();
    kazooDrift.forEach((i) => {
      const d = estate.docs[i] as Estate['docs'][number];
      if (driftMovesNumbers(d.live, i)) claimed.set(d.account, (claimed.get(d.account) ?? 0) + 1);
    });
    const numberAccounts = claimed.size;
    expect(numberAccounts).toBeGreaterThan(0);
    // The plan reads the number manager of exactly those accounts (where it routes a DID).
    const reads = numberReads(estate.docs, claimed);
    const want = minimumApplyRequests(
      { ...shape(), kazooNumberReads: reads },
      {
        kazoo: kazooDrift.length,
        cloudflare: serviceDrift.length,
        numberAccounts,
      },
    );
    expect(r.seen.length).toBe(want);
    // The servers saw the same number (no attempt hidden from the count).
    expect(
      kazoo.requestCount() - before.kazoo + cloudflare.requestCount() - before.cloudflare,
    ).toBe(want);
    expect(r.seen.filter((s) => s.includes('/phone_numbers/fix'))).toHaveLength(numberAccounts);
    // Per Cloudflare write: its PUT, then exactly one GET of that service.
    const puts = r.seen.filter((s) => s.startsWith('PUT cf-bench'));
    expect(puts).toHaveLength(serviceDrift.length);
    for (const put of puts) {
      const path = put.slice('PUT cf-bench '.length);
      expect(
        r.seen.filter((s) => s === `GET cf-bench ${path}`),
        path,
      ).toHaveLength(1);
    }
    // And it converged: a plan now shows no changes.
    const again = await counted(['plan']);
    expect(again.code, again.out).toBe(0);
  });
});

/**
 * Fault matrix, end to end: `connops apply --yes` against both emulators while
 * they misbehave. Whatever happens, every live document must equal either its
 * prior or its desired version (never a mix), failures must be reported in
 * words (no stack trace) with exit 1, and a re-run without faults converges.
 */
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/core/json.ts';
import { DEMO_CLOUDFLARE } from '../../src/emulator/cloudflare/server.ts';
import type { FaultConfig, FaultDecision } from '../../src/emulator/faults.ts';
import {
  ACCOUNTS,
  CF_TOKEN,
  halfWritten,
  setPolicy,
  stackLines,
  startWorld,
  useFastRetries,
  type LiveState,
  type World,
} from '../helpers/world.ts';

/** v2 of the examples: updates on both systems plus one new document on each. */
async function toV2(dir: string): Promise<void> {
  const edit = async (file: string, from: string, to: string): Promise<void> => {
    const path = join(dir, file);
    const text = await readFile(path, 'utf8');
    if (!text.includes(from)) throw new Error(`${file}: "${from}" not found`);
    await writeFile(path, text.replace(from, to));
  };
  await edit('connectivity/acme/main.yaml', 'trunks: 20', 'trunks: 24');
  await edit('connectivity/initech/main.yaml', 'delay: 0', 'delay: 2');
  await edit('connectivity/cloudflare/services.yaml', 'tcp_port: 5432', 'tcp_port: 5433');
  await edit('connectivity/cloudflare/services.yaml', 'https_port: 8443', 'https_port: 8444');
  await writeFile(
    join(dir, 'connectivity/initech/extra.yaml'),
    [
      'kind: kazoo/connectivity',
      'target: kazoo-prod',
      `account: ${ACCOUNTS.initech}`,
      'name: initech-lab',
      'spec:',
      '  servers:',
      '    - name: lab-pbx',
      '      auth: { auth_method: ip, ip: 192.0.2.44 }',
      "      DIDs: { '+15125550190': {} }",
      '',
    ].join('\n'),
  );
  await appendFile(
    join(dir, 'connectivity/cloudflare/services.yaml'),
    [
      '---',
      'kind: cloudflare/connectivity-service',
      'target: cf',
      'name: initech-wiki',
      'spec:',
      '  type: http',
      '  host:',
      '    ipv4: 10.40.0.8',
      '    network: { tunnel_id: 0c2ef2a4-7b1d-4f3e-9a52-6d8b1e0f4c11 }',
      '  http_port: 8080',
      '',
    ].join('\n'),
  );
}

/** A world where v1 is applied and the project already holds v2. */
async function worldAtV1(): Promise<World> {
  const w = await startWorld();
  const first = await w.cli(['apply', '--yes']);
  if (first.code !== 0) throw new Error(`v1 apply failed: ${first.err}`);
  await toV2(w.dir);
  await w.seedNumbers(); // now, so that a later dump of the emulators compares like with like
  return w;
}

let prior: LiveState;
let desired: LiveState;
const summary: string[] = [];

beforeAll(async () => {
  useFastRetries();
  const ref = await worldAtV1();
  prior = ref.state();
  const r = await ref.cli(['apply', '--yes']);
  expect(r.code, r.err).toBe(0);
  desired = ref.state();
  await ref.close();
  // The matrix is only meaningful if v2 really changes, and adds, documents.
  expect([...desired.keys()].filter((k) => !prior.has(k))).toHaveLength(2);
  expect([...desired].filter(([k, v]) => prior.has(k) && prior.get(k) !== v)).toHaveLength(4);
});

afterAll(() => {
  console.log(`[reliability] fault matrix: ${summary.length} cases\n  ${summary.join('\n  ')}`);
});

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function expectClean(r: { code: number; out: string; err: string }): void {
  expect(stackLines(r.out + r.err), r.out + r.err).toEqual([]);
  expect(r.err).not.toContain('internal error');
  if (r.code !== 0) {
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^connops: /m);
  }
}

async function expectConverges(w: World): Promise<void> {
  const again = await w.cli(['apply', '--yes']);
  expect(again.code, again.err).toBe(0);
  const plan = await w.cli(['plan', '--detailed-exitcode']);
  expect(plan.code, plan.out + plan.err).toBe(0);
  expect(w.state()).toEqual(desired);
}

const MATRIX: ReadonlyArray<{ name: string; faults: FaultConfig; mustConverge?: boolean }> = [
  { name: 'latency spikes', faults: { latencyMs: 2, jitterMs: 80, seed: 1 }, mustConverge: true },
  { name: '429 with Retry-After', faults: { rate429: 0.4, retryAfterS: 1, seed: 2 } },
  { name: '429 without Retry-After', faults: { rate429: 0.4, retryAfterS: null, seed: 3 } },
  { name: '500', faults: { rate500: 0.3, seed: 4 } },
  { name: '502 (HTML from a proxy)', faults: { rate502: 0.3, seed: 5 } },
  { name: '503', faults: { rate503: 0.3, seed: 6 } },
  { name: 'connection reset mid-request', faults: { resetRate: 0.25, seed: 7 } },
  { name: 'connection dropped mid-response', faults: { dropRate: 0.25, seed: 8 } },
  {
    name: 'everything at once',
    faults: { rate429: 0.1, rate500: 0.1, rate503: 0.1, dropRate: 0.1, resetRate: 0.1, seed: 9 },
  },
  // Use-count expiry shorter than the concurrency: a retry may meet a token already used up
  // again; connops refreshes once per request, so this may fail (cleanly), not converge.
  { name: 'token expires every 3 requests', faults: { tokenExpiresAfter: 3 } },
  {
    name: 'reads reset and dropped once each',
    faults: {
      script: [
        { method: 'GET', path: '/connectivity/', action: 'reset' },
        { method: 'GET', path: '/connectivity/', action: 'drop' },
        { method: 'GET', path: '/directory/services', action: 'drop' },
      ],
    },
    mustConverge: true,
  },
  {
    name: 'every kind of write dropped after it was processed',
    faults: {
      script: [
        { method: 'PATCH', action: 'drop' }, // Kazoo update: retried with If-Match, meets itself
        { method: 'PUT', path: /\/connectivity$/, action: 'drop' }, // Kazoo create with a client id
        { method: 'POST', path: '/directory/services', action: 'drop' }, // Cloudflare create: never repeated blindly
        { method: 'PUT', path: '/directory/services/', action: 'drop' }, // Cloudflare update
      ],
    },
    mustConverge: true,
  },
  {
    name: 'every kind of write reset before it was processed',
    faults: {
      script: [
        { method: 'PATCH', action: 'reset' },
        { method: 'PUT', path: /\/connectivity$/, action: 'reset' },
        { method: 'POST', path: '/directory/services', action: 'reset' },
        { method: 'PUT', path: '/directory/services/', action: 'reset' },
      ],
    },
  },
  {
    name: 'writes answered 500 (not retried unless safe)',
    faults: {
      script: [
        { method: 'PATCH', action: 'status', status: 500 },
        { method: 'POST', path: '/directory/services', action: 'status', status: 500 },
        { method: 'PUT', path: '/directory/services/', action: 'status', status: 503 },
      ],
    },
  },
];

describe('apply under faults', () => {
  for (const c of MATRIX) {
    it(`${c.name}: nothing half-written, clear failures, a re-run converges`, async () => {
      world = await worldAtV1();
      world.faults(c.faults);
      const r = await world.cli(['apply', '--yes']);
      world.faults({});
      const live = world.state();
      expect(halfWritten(live, prior, desired)).toEqual([]);
      expectClean(r);
      if (c.mustConverge) expect(r.code, r.out + r.err).toBe(0);
      if (r.code === 0) expect(live).toEqual(desired);
      const failed = /(\d+) failed/.exec(r.out)?.[1];
      if (process.env['REL_DEBUG'])
        console.log(
          c.name,
          r.out.split('\n').filter((l) => l.startsWith('✗')),
          r.err,
        );
      const done = [...live].filter(([k, v]) => desired.get(k) === v && prior.get(k) !== v).length;
      summary.push(
        `${c.name}: exit ${r.code}, ${done}/6 changes landed, ${failed === undefined ? 'apply refused (plan incomplete)' : `${failed} reported failed`}`,
      );
      await expectConverges(world);
    });
  }
});

describe('tokens expire mid-run', () => {
  it('every token expires at once (TTL) mid-apply: one refresh, apply converges', async () => {
    world = await worldAtV1();
    const w = world;
    const injector = w.kazoo.faults;
    const decide = injector.decide.bind(injector);
    let seen = 0;
    injector.decide = (method: string, path: string): FaultDecision => {
      seen += 1;
      if (seen === 6) w.kazoo.expireTokens();
      return decide(method, path);
    };
    const r = await w.cli(['apply', '--yes']);
    injector.decide = decide;
    expect(seen).toBeGreaterThan(10);
    expect(r.code, r.out + r.err).toBe(0);
    expect(w.state()).toEqual(desired);
    summary.push('all tokens expired at once mid-apply: exit 0, converged');
    await expectConverges(w);
  });
});

describe('someone else writes between plan and apply', () => {
  it('a saved plan made before a hand edit is refused as stale and nothing is written', async () => {
    world = await worldAtV1();
    const saved = await world.cli(['plan', '--out', 'p.json']);
    expect(saved.code, saved.err).toBe(0);
    const id = idOf(world, ACCOUNTS.acme, 'acme-main');
    const edit = await world.kazooApi('PATCH', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`, {
      data: { account: { trunks: 7 } },
    });
    expect(edit.status).toBe(200);
    const before = canonicalJson([world.kazoo.dump(), world.cloudflare.dump()]);
    const r = await world.cli(['apply', 'p.json', '--yes']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/plan is stale: .*acme-main/);
    expect(r.err).toContain('Nothing was written');
    expectClean(r);
    expect(canonicalJson([world.kazoo.dump(), world.cloudflare.dump()])).toBe(before);
    summary.push('stale saved plan (Kazoo revision moved): exit 1, 0 writes');
  });

  it('Cloudflare has no revisions: a hand edit is caught by the body hash', async () => {
    world = await worldAtV1();
    expect((await world.cli(['plan', '--out', 'p.json'])).code).toBe(0);
    const svc = world.cloudflare.dump().services.find((s) => s['name'] === 'acme-crm');
    expect(svc).toBeDefined();
    const { service_id: sid, created_at: _c, updated_at: _u, ...body } = svc ?? {};
    const put = await fetch(
      `${world.cloudflare.url}/accounts/${DEMO_CLOUDFLARE.accountId}/connectivity/directory/services/${String(sid)}`,
      {
        method: 'PUT',
        headers: { authorization: `Bearer ${CF_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, https_port: 9443 }),
      },
    );
    expect(put.status).toBe(200);
    const before = canonicalJson([world.kazoo.dump(), world.cloudflare.dump()]);
    const r = await world.cli(['apply', 'p.json', '--yes']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/plan is stale: .*acme-crm/);
    expectClean(r);
    expect(canonicalJson([world.kazoo.dump(), world.cloudflare.dump()])).toBe(before);
    summary.push('stale saved plan (Cloudflare body hash moved): exit 1, 0 writes');
  });

  it('an edit racing the write itself gets 412: that document is reported, the others apply, nothing is overwritten', async () => {
    world = await worldAtV1();
    const w = world;
    const id = idOf(w, ACCOUNTS.acme, 'acme-main');
    // A hook in the emulator: when connops' PATCH of acme-main arrives (its If-Match
    // already fixed by the re-plan), hold it while another client edits the doc.
    const injector = w.kazoo.faults;
    const decide = injector.decide.bind(injector);
    let race: Promise<unknown> | undefined;
    injector.decide = (method: string, path: string): FaultDecision => {
      if (race === undefined && method === 'PATCH' && path.endsWith(id)) {
        race = w.kazooApi('PATCH', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`, {
          data: { account: { trunks: 99 } },
        });
        return { delayMs: 300, action: { kind: 'none' } };
      }
      return decide(method, path);
    };
    const r = await w.cli(['apply', '--yes', '--log-file', 'audit.jsonl']);
    injector.decide = decide;
    expect(race).toBeDefined();
    expect(r.code).toBe(1);
    expectClean(r);
    expect(r.out).toMatch(
      /✗ update kazoo\/connectivity "acme-main".*changed it since the plan.*nothing was overwritten/,
    );
    expect(r.out).toContain('1 failed');
    const doc = (await w.kazooApi('GET', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`)).json as {
      data: { account: { trunks: number } };
    };
    expect(doc.data.account.trunks).toBe(99); // the other writer's value survives
    const live = w.state();
    for (const [k, v] of desired) if (!k.endsWith('/acme-main')) expect(live.get(k), k).toBe(v);
    const audit = (await readFile(join(w.dir, 'audit.jsonl'), 'utf8')).trim().split('\n');
    expect(audit.filter((l) => l.includes('"status":"failed"'))).toHaveLength(1);
    summary.push('If-Match race (edit between re-plan and PATCH): exit 1, 1 reported, 5 applied');
    await expectConverges(w);
  });
});

function idOf(w: World, account: string, name: string): string {
  const doc = (w.kazoo.dump().docs?.[account] ?? []).find((d) => d['name'] === name);
  if (!doc) throw new Error(`no live doc ${name}`);
  return String(doc['_id']);
}

describe('safety limits hold under faults', () => {
  const flaky: FaultConfig = { latencyMs: 1, jitterMs: 10, rate429: 0.2, retryAfterS: 1, seed: 11 };

  it('prune is off by default: a managed live object no document declares survives a plain apply', async () => {
    world = await worldAtV1();
    const made = await world.kazooApi('PUT', `/accounts/${ACCOUNTS.acme}/connectivity`, {
      data: { name: 'orphan', connops_managed: true, servers: [] },
    });
    expect(made.status).toBe(201);
    world.faults(flaky);
    const r = await world.cli(['apply', '--yes']);
    world.faults({});
    expectClean(r);
    expect(r.out).not.toMatch(/delete kazoo/);
    expect(r.out).toContain('0 deleted');
    expect(world.state().has(`kazoo/${ACCOUNTS.acme}/orphan`)).toBe(true);
    summary.push('prune off by default under 429s: orphan kept');
  });

  it('max_deletes refuses a pruning apply without --force (nothing written) and proceeds with it', async () => {
    world = await worldAtV1();
    await world.cli(['apply', '--yes']);
    await setPolicy(world.dir, '  max_deletes: 0\n  max_changes: 100');
    await rm(join(world.dir, 'connectivity/acme/branch.yaml'));
    world.faults(flaky);
    const before = canonicalJson(world.kazoo.dump());
    const refused = await world.cli(['apply', '--yes', '--prune']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('1 deletes exceed policy.max_deletes (0)');
    expectClean(refused);
    expect(canonicalJson(world.kazoo.dump())).toBe(before);
    const forced = await world.cli(['apply', '--yes', '--prune', '--force']);
    world.faults({});
    expect(forced.code, forced.err).toBe(0);
    expect(world.state().has(`kazoo/${ACCOUNTS.acme}/acme-denver`)).toBe(false);
    summary.push('max_deletes under 429s: refused (0 writes), then --force deleted 1');
  });

  it('max_changes refuses without --force (nothing written) and proceeds with it', async () => {
    world = await worldAtV1();
    await setPolicy(world.dir, '  max_deletes: 5\n  max_changes: 2');
    world.faults(flaky);
    const before = canonicalJson([world.kazoo.dump(), world.cloudflare.dump()]);
    const refused = await world.cli(['apply', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('6 changes exceed policy.max_changes (2)');
    expectClean(refused);
    expect(canonicalJson([world.kazoo.dump(), world.cloudflare.dump()])).toBe(before);
    const forced = await world.cli(['apply', '--yes', '--force']);
    world.faults({});
    expect(forced.code, forced.err).toBe(0);
    expect(world.state()).toEqual(desired);
    summary.push('max_changes under 429s: refused (0 writes), then --force applied 6');
  });
});

/**
 * The plan's checks against live state (issue 19 items 2 and 3; INVARIANTS.md
 * items 2, 3 and 8), against the emulator over loopback: a DID the number
 * manager does not give the document's account is a plan error; a live object
 * no document declares is named in every output, and one holding a DID or SIP
 * user a document claims makes the plan fail naming both.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PlanJson } from '../../src/core/render-plan.ts';
import { loadProject } from '../../src/engine/load.ts';
import { kazooConnectivity } from '../../src/providers/kazoo/provider.ts';
import { IDENTIFY_MAX } from '../../src/providers/kazoo/session.ts';
import { ACCOUNTS, startWorld, type World } from '../helpers/world.ts';

let world: World;
afterEach(async () => {
  await world?.close();
});

/** Every DID in the world's documents, with the account whose document routes it. */
async function exampleNumbers(w: World): Promise<Map<string, string>> {
  const project = await loadProject({
    configPath: join(w.dir, 'connops.yaml'),
    env: w.env,
    cwd: w.dir,
  });
  const out = new Map<string, string>();
  for (const d of project.documents)
    if (d.key.kind === kazooConnectivity.kind)
      for (const did of kazooConnectivity.claims(d.spec)) out.set(did, d.key.account);
  return out;
}

describe('ownership from the number manager', () => {
  it('a DID not assigned to its document account is a plan error; nothing is written', async () => {
    world = await startWorld({ autoNumbers: false });
    const numbers = await exampleNumbers(world);
    expect(numbers.size).toBeGreaterThan(3);
    const [first, second, ...rest] = [...numbers.keys()];
    // Seed through the API as a user would: PUT /v2/accounts/{A}/phone_numbers/{NUM}.
    for (const num of rest) {
      const r = await world.kazooApi(
        'PUT',
        `/accounts/${numbers.get(num)}/phone_numbers/${encodeURIComponent(num)}`,
        { data: {} },
      );
      expect(r.status, JSON.stringify(r.json)).toBe(201);
    }
    // `first` belongs to another account; `second` is not in the number manager at all.
    const owner = numbers.get(first as string);
    const other = Object.values(ACCOUNTS).find((a) => a !== owner) as string;
    expect(
      (
        await world.kazooApi(
          'PUT',
          `/accounts/${other}/phone_numbers/${encodeURIComponent(first as string)}`,
          { data: {} },
        )
      ).status,
    ).toBe(201);
    const writes: string[] = [];
    const decide = world.kazoo.faults.decide.bind(world.kazoo.faults);
    world.kazoo.faults.decide = (m, p) => {
      if (m !== 'GET' && !p.endsWith('_auth')) writes.push(`${m} ${p}`);
      return decide(m, p);
    };
    const plan = await world.cli(['plan']);
    expect(plan.code, plan.err).toBe(1);
    // identify (§12) names the owner of a number that is another account's.
    expect(plan.err).toContain(
      `would never route: ${first} is assigned to account ${other}, not to this document's account ${owner}`,
    );
    expect(plan.err).toContain(`would never route: ${second} is not in the number manager (add it`);
    expect(plan.out).toContain('INCOMPLETE');
    const apply = await world.cli(['apply', '--yes']);
    expect(apply.code).toBe(1);
    expect(writes).toEqual([]);
  });

  it('reads the number manager only for the DIDs a plan routes anew: one identify each', async () => {
    world = await startWorld();
    const numbers = await exampleNumbers(world);
    const requests: string[] = [];
    const decide = world.kazoo.faults.decide.bind(world.kazoo.faults);
    world.kazoo.faults.decide = (m, p) => {
      requests.push(`${m} ${p}`);
      return decide(m, p);
    };
    const pages = (): string[] => requests.filter((r) => /^GET .*\/phone_numbers/.test(r));
    // Every example document is a create: every DID is routed anew, and no
    // account routes more than IDENTIFY_MAX, so each is looked up by itself.
    const perAccount = new Map<string, number>();
    for (const a of numbers.values()) perAccount.set(a, (perAccount.get(a) ?? 0) + 1);
    expect(Math.max(...perAccount.values())).toBeLessThanOrEqual(IDENTIFY_MAX);
    const plan = await world.cli(['plan', '--detailed-exitcode']);
    expect(plan.code, plan.err).toBe(2);
    expect(pages().sort()).toEqual(
      [...numbers]
        .map(
          ([did, a]) => `GET /v2/accounts/${a}/phone_numbers/${encodeURIComponent(did)}/identify`,
        )
        .sort(),
    );
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
    // Converged: nothing is routed anew, so no number page is read.
    requests.length = 0;
    expect((await world.cli(['plan', '--detailed-exitcode'])).code).toBe(0);
    expect(pages()).toEqual([]);
    // A new DID in acme: only acme's number manager is read.
    const main = join(world.dir, 'connectivity', 'acme', 'main.yaml');
    await writeFile(
      main,
      (await readFile(main, 'utf8')).replace(
        "'+14155550100': {}",
        "'+14155550100': {}\n        '+14155550104': {}",
      ),
    );
    world.kazoo.addNumber('+14155550104', { assigned_to: ACCOUNTS.acme, state: 'in_service' });
    requests.length = 0;
    expect((await world.cli(['plan', '--detailed-exitcode'])).code).toBe(2);
    expect(pages()).toEqual([
      `GET /v2/accounts/${ACCOUNTS.acme}/phone_numbers/%2B14155550104/identify`,
    ]);
  });

  it('an account that routes more than IDENTIFY_MAX DIDs anew reads its listing instead', async () => {
    world = await startWorld({ autoNumbers: false });
    await world.seedNumbers();
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
    const main = join(world.dir, 'connectivity', 'acme', 'main.yaml');
    const added = Array.from({ length: IDENTIFY_MAX + 1 }, (_, i) => `+1415555${String(2000 + i)}`);
    await writeFile(
      main,
      (await readFile(main, 'utf8')).replace(
        "'+14155550100': {}",
        ["'+14155550100': {}", ...added.map((d) => `        '${d}': {}`)].join('\n'),
      ),
    );
    // The last one is not the account's: the listing must still find it missing.
    for (const d of added.slice(0, -1))
      world.kazoo.addNumber(d, { assigned_to: ACCOUNTS.acme, state: 'in_service' });
    const requests: string[] = [];
    const decide = world.kazoo.faults.decide.bind(world.kazoo.faults);
    world.kazoo.faults.decide = (m, p) => {
      requests.push(`${m} ${p}`);
      return decide(m, p);
    };
    const plan = await world.cli(['plan']);
    expect(plan.code, plan.out).toBe(1);
    expect(plan.err).toContain(`would never route: ${added.at(-1)} is not in the number manager`);
    expect(requests.filter((r) => r.includes('/phone_numbers'))).toEqual([
      `GET /v2/accounts/${ACCOUNTS.acme}/phone_numbers`,
    ]);
  });

  it('check_numbers: all reads every declared account and checks every DID', async () => {
    world = await startWorld({ autoNumbers: false });
    await world.seedNumbers();
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
    const config = join(world.dir, 'connops.yaml');
    const text = await readFile(config, 'utf8');
    await writeFile(config, text.replace(/(\n\s+type: kazoo\n)/, '$1    check_numbers: all\n'));
    // A routed DID taken out of the number manager: only the "all" check can see it.
    const released = await world.kazooApi(
      'DELETE',
      `/accounts/${ACCOUNTS.acme}/phone_numbers/${encodeURIComponent('+14155550100')}`,
    );
    expect(released.status, JSON.stringify(released.json)).toBe(200);
    const plan = await world.cli(['plan']);
    expect(plan.code, plan.out + plan.err).toBe(1);
    expect(plan.err).toContain('would never route: +14155550100');
  });

  it('check_numbers: false on the target skips the check (and its requests)', async () => {
    world = await startWorld({ autoNumbers: false });
    const config = join(world.dir, 'connops.yaml');
    const text = await readFile(config, 'utf8');
    await writeFile(config, text.replace(/(\n\s+type: kazoo\n)/, '$1    check_numbers: false\n'));
    const requests: string[] = [];
    const decide = world.kazoo.faults.decide.bind(world.kazoo.faults);
    world.kazoo.faults.decide = (m, p) => {
      requests.push(`${m} ${p}`);
      return decide(m, p);
    };
    const plan = await world.cli(['plan', '--detailed-exitcode']);
    expect(plan.code, plan.err).toBe(2);
    expect(requests.filter((r) => r.includes('/phone_numbers'))).toEqual([]);
  });
});

describe('live objects no document declares', () => {
  it('are named in text, Markdown and JSON; one holding a declared DID fails the plan naming both', async () => {
    world = await startWorld();
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
    // A hand-made trunk in acme (as MonsterUI would make it: no name, no marker).
    const plain = await world.kazooApi('PUT', `/accounts/${ACCOUNTS.acme}/connectivity`, {
      data: {
        account: { trunks: 1 },
        servers: [
          {
            server_name: 'hand-made',
            auth: { auth_method: 'IP', ip: '203.0.113.77' },
            DIDs: { '+13125550999': {} },
            options: { enabled: true },
          },
        ],
      },
    });
    expect(plain.status).toBe(201);
    const id = (plain.json as { data: { id: string } }).data.id;
    const text = await world.cli(['plan']);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain(
      '1 live object in declared accounts is not declared by any document',
    );
    expect(text.out).toContain(`kazoo/connectivity "${id}" (id ${id}, account ${ACCOUNTS.acme}`);
    const md = await world.cli(['plan', '--format', 'markdown']);
    expect(md.out).toContain(`id ${id}`);
    const json = JSON.parse((await world.cli(['plan', '--format', 'json'])).out) as PlanJson;
    expect(json.undeclared?.map((u) => u.id)).toEqual([id]);
    const drift = await world.cli(['drift']);
    expect(drift.code).toBe(0);
    expect(drift.out).toContain('No drift in the declared objects; 1 live object is not declared');

    // Now the hand-made trunk takes a DID acme-main routes (examples/connectivity/acme/main.yaml).
    const did = '+14155550100';
    const current = (await world.kazooApi('GET', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`))
      .json as { data: Record<string, unknown> };
    const servers = current.data['servers'] as { DIDs: Record<string, unknown> }[];
    expect(servers).toHaveLength(1);
    (servers[0] as { DIDs: Record<string, unknown> }).DIDs[did] = {};
    const posted = await world.kazooApi('POST', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`, {
      data: current.data,
    });
    expect(posted.status, JSON.stringify(posted.json)).toBe(200);
    const collided = await world.cli(['plan']);
    expect(collided.code, collided.out + collided.err).toBe(1);
    expect(collided.err).toContain(`DID ${did} of kazoo/connectivity "acme-main"`);
    expect(collided.err).toContain(`also held by the live object "${id}" (id ${id}`);
    expect(collided.out).toContain('INCOMPLETE');
    const driftNow = await world.cli(['drift']);
    expect(driftNow.code).toBe(1);
    expect(driftNow.out).not.toContain('No drift');
  });
});

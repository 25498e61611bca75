/**
 * An apply never drops a line (issue 25; INVARIANTS.md items 1, 6, 7, 9),
 * against the Kazoo emulator over loopback. Invariant 1 is checked on every
 * state the emulator's store passes through (its `onWrite` hook runs after
 * each write), not on samples.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FaultDecision } from '../../src/emulator/faults.ts';
import { trunksYaml, type Trunk } from '../helpers/trunks.ts';
import { ACCOUNTS, startWorld, useFastRetries, type World } from '../helpers/world.ts';

const CONFIG = [
  'targets:',
  '  kazoo-prod:',
  '    type: kazoo',
  '    url: ${env:KAZOO_URL}',
  "    schema: '4.3'",
  '    auth:',
  '      api_key: ${env:KAZOO_API_KEY}',
  'documents: [docs/*.yaml]',
  'policy: { prune: true, max_changes: 1000, max_deletes: 100 }',
  '',
].join('\n');

const did = (n: number) => `+1415555${String(2000 + n)}`;

/** Live, not deleted connectivity docs of acme: name → their DIDs. */
function liveDids(world: World): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const doc of world.kazoo.dump().docs?.[ACCOUNTS.acme] ?? []) {
    if (doc['pvt_deleted'] === true || doc['pvt_type'] !== 'sys_info') continue;
    const servers = Array.isArray(doc['servers']) ? doc['servers'] : [];
    const dids = servers.flatMap((s) =>
      s !== null && typeof s === 'object' && !Array.isArray(s) && s['DIDs']
        ? Object.keys(s['DIDs'] as object)
        : [],
    );
    out.set(String(doc['name'] ?? doc['_id']), dids);
  }
  return out;
}

/**
 * Watches every write the emulator makes: records each declared number found
 * in no live document (INVARIANTS.md item 1). Returns the violations so far.
 */
function watchNumbers(world: World, declared: readonly string[]): { unrouted: string[] } {
  const seen = { unrouted: [] as string[] };
  world.kazoo.onWrite = () => {
    const routed = new Set([...liveDids(world).values()].flat());
    for (const d of declared) if (!routed.has(d)) seen.unrouted.push(d);
  };
  return seen;
}

/** Counts requests by method while `fn` runs. */
async function countRequests<T>(
  world: World,
  fn: () => Promise<T>,
): Promise<{ result: T; byMethod: Map<string, number> }> {
  const injector = world.kazoo.faults;
  const decide = injector.decide.bind(injector);
  const byMethod = new Map<string, number>();
  injector.decide = (method: string, path: string): FaultDecision => {
    if (!path.endsWith('_auth')) byMethod.set(method, (byMethod.get(method) ?? 0) + 1);
    return decide(method, path);
  };
  try {
    return { result: await fn(), byMethod };
  } finally {
    injector.decide = decide;
  }
}

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function project(trunks: readonly Trunk[]): Promise<World> {
  useFastRetries();
  world = await startWorld({
    files: { 'connops.yaml': CONFIG, 'docs/trunks.yaml': trunksYaml(trunks) },
  });
  const first = await world.cli(['apply', '--yes']);
  expect(first.code, first.out + first.err).toBe(0);
  return world;
}

async function change(w: World, trunks: readonly Trunk[]): Promise<void> {
  await writeFile(join(w.dir, 'docs/trunks.yaml'), trunksYaml(trunks));
}

describe('claim before release (INVARIANTS.md item 1)', () => {
  const v1: Trunk[] = [
    { name: 'a', dids: [did(1), did(2)] },
    { name: 'b', dids: [did(3)] },
  ];
  const moved: Trunk[] = [
    { name: 'a', dids: [did(1)] },
    { name: 'b', dids: [did(3), did(2)] },
  ];

  it('a move claims first: the number is never in zero documents, and ends in one', async () => {
    const w = await project(v1);
    await change(w, moved);
    const watch = watchNumbers(w, [did(1), did(2), did(3)]);
    const r = await w.cli(['apply', '--yes']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(watch.unrouted).toEqual([]);
    expect(liveDids(w).get('a')).toEqual([did(1)]);
    expect(liveDids(w).get('b')?.sort()).toEqual([did(2), did(3)].sort());
  });

  it('the claim failing (five 503s) skips the release and says so; the number stays routed', async () => {
    const w = await project(v1);
    await change(w, moved);
    const bId = [...(w.kazoo.dump().docs?.[ACCOUNTS.acme] ?? [])].find((d) => d['name'] === 'b')?.[
      '_id'
    ] as string;
    w.kazoo.faults.update({
      script: [
        { method: 'PATCH', path: `/connectivity/${bId}`, action: 'status', status: 503, times: 50 },
      ],
    });
    const watch = watchNumbers(w, [did(1), did(2), did(3)]);
    const r = await w.cli(['apply', '--yes']);
    expect(r.code).not.toBe(0);
    expect(watch.unrouted).toEqual([]);
    expect(liveDids(w).get('a')?.sort()).toEqual([did(1), did(2)].sort());
    expect(r.out + r.err).toMatch(
      /skipped: it releases \+14155552002, which "b" was to claim first/,
    );
  });

  it('a swap becomes claim both, then release both', async () => {
    const w = await project(v1);
    await change(w, [
      { name: 'a', dids: [did(3)] },
      { name: 'b', dids: [did(1), did(2)] },
    ]);
    const plan = await w.cli(['plan']);
    expect(plan.out + plan.err).not.toMatch(/swap DIDs/);
    const watch = watchNumbers(w, [did(1), did(2), did(3)]);
    const r = await w.cli(['apply', '--yes']);
    expect(r.code, r.out + r.err).toBe(0);
    expect(watch.unrouted).toEqual([]);
    expect(liveDids(w).get('a')).toEqual([did(3)]);
    expect(liveDids(w).get('b')?.sort()).toEqual([did(1), did(2)].sort());
    const again = await w.cli(['plan', '--detailed-exitcode']);
    expect(again.code, again.out).toBe(0);
  });

  it('--only the releasing document is refused, naming both; nothing is written', async () => {
    const w = await project(v1);
    await change(w, moved);
    const before = JSON.stringify([...liveDids(w)]);
    const r = await w.cli(['apply', '--yes', '--only', 'a']);
    expect(r.code).toBe(64);
    expect(r.err).toContain('"a" releases +14155552002, which "b" claims');
    expect(JSON.stringify([...liveDids(w)])).toBe(before);
    // The claim alone, or both, is fine.
    const both = await w.cli(['apply', '--yes', '--only', 'a', '--only', 'b']);
    expect(both.code, both.out + both.err).toBe(0);
  });

  it('a rename creates first and deletes second; the create failing leaves the old trunk', async () => {
    const w = await project(v1);
    await change(w, [{ name: 'a2', dids: [did(1), did(2)] }, v1[1] as Trunk]);
    w.kazoo.faults.update({
      script: [{ method: 'PUT', path: '/connectivity', action: 'status', status: 500, times: 50 }],
    });
    const watch = watchNumbers(w, [did(1), did(2), did(3)]);
    const failed = await w.cli(['apply', '--yes']);
    expect(failed.code).not.toBe(0);
    expect(watch.unrouted).toEqual([]);
    expect([...liveDids(w).keys()].sort()).toEqual(['a', 'b']);
    w.kazoo.faults.update({});
    const ok = await w.cli(['apply', '--yes']);
    expect(ok.code, ok.out + ok.err).toBe(0);
    expect(watch.unrouted).toEqual([]);
    expect([...liveDids(w).keys()].sort()).toEqual(['a2', 'b']);
  });
});

describe('renames (INVARIANTS.md item 7)', () => {
  it('with a pinned id, a changed name is one PATCH', async () => {
    const id = 'ab'.repeat(16);
    const w = await project([{ name: 'a', dids: [did(1)], id }]);
    await change(w, [{ name: 'a-renamed', dids: [did(1)], id }]);
    const { result, byMethod } = await countRequests(w, () => w.cli(['apply', '--yes']));
    expect(result.code, result.out + result.err).toBe(0);
    expect(byMethod.get('PATCH')).toBe(1);
    expect(byMethod.get('PUT') ?? 0).toBe(0);
    expect(byMethod.get('DELETE') ?? 0).toBe(0);
    expect([...liveDids(w).keys()]).toEqual(['a-renamed']);
  });
});

describe('creates are idempotent (INVARIANTS.md item 6)', () => {
  it('a listed object whose GET answers 404 once is a read failure: no create, plan incomplete', async () => {
    const w = await project([{ name: 'a', dids: [did(1)] }]);
    const id = [...(w.kazoo.dump().docs?.[ACCOUNTS.acme] ?? [])][0]?.['_id'] as string;
    w.kazoo.faults.update({
      script: [
        { method: 'GET', path: `/connectivity/${id}`, action: 'status', status: 404, times: 1 },
      ],
    });
    const { result, byMethod } = await countRequests(w, () => w.cli(['apply', '--yes']));
    expect(result.code, result.out + result.err).not.toBe(0);
    expect(result.out + result.err).toMatch(/listing returned it but reading it answered 404/);
    expect(byMethod.get('PUT') ?? 0).toBe(0);
    expect(liveDids(w).size).toBe(1);
  });

  it('a create that meets its own earlier copy (409 on the derived id) adopts it', async () => {
    const w = await project([{ name: 'a', dids: [did(1)] }]);
    // The answer of the first PUT is lost after the save: the retry gets 409.
    await change(w, [
      { name: 'a', dids: [did(1)] },
      { name: 'c', dids: [did(4)] },
    ]);
    w.kazoo.faults.update({ script: [{ method: 'PUT', path: '/connectivity', action: 'drop' }] });
    const r = await w.cli(['apply', '--yes']);
    expect(r.code, r.out + r.err).toBe(0);
    expect([...liveDids(w).keys()].sort()).toEqual(['a', 'c']);
  });

  it('re-creating a deleted name walks past the soft-deleted id (generation 1)', async () => {
    const w = await project([{ name: 'a', dids: [did(1)] }]);
    await change(w, [{ name: 'b', dids: [did(1)] }]);
    expect((await w.cli(['apply', '--yes'])).code).toBe(0);
    await change(w, [{ name: 'a', dids: [did(1)] }]);
    const r = await w.cli(['apply', '--yes']);
    expect(r.code, r.out + r.err).toBe(0);
    expect([...liveDids(w).keys()]).toEqual(['a']);
    const docs = (w.kazoo.dump().docs?.[ACCOUNTS.acme] ?? []).filter((d) => d['name'] === 'a');
    expect(docs.map((d) => d['pvt_deleted'] === true).sort()).toEqual([false, true]);
  });
});

describe('ignored fields by identity (INVARIANTS.md item 9)', () => {
  const hunt = (w: World, server: string) => {
    for (const doc of w.kazoo.dump().docs?.[ACCOUNTS.acme] ?? []) {
      if (doc['pvt_deleted'] === true) continue;
      for (const s of (doc['servers'] as Record<string, unknown>[] | undefined) ?? [])
        if (s['name'] === server)
          return (s['options'] as Record<string, unknown> | undefined)?.['hunt_account_id'];
    }
    return undefined;
  };
  const setHunt = async (w: World) => {
    // Another team sets hunt_account_id on pbx-a by hand.
    const doc = (w.kazoo.dump().docs?.[ACCOUNTS.acme] ?? []).find((d) => d['name'] === 'a');
    const id = String(doc?.['_id']);
    const got = (await w.kazooApi('GET', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`)).json as {
      data: { servers: Record<string, Record<string, unknown>>[] };
    };
    const servers = got.data.servers;
    (servers[0] as Record<string, Record<string, unknown>>)['options'] = {
      ...servers[0]?.['options'],
      hunt_account_id: 'team-x',
    };
    const r = await w.kazooApi('PATCH', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`, {
      data: { servers },
    });
    expect(r.status).toBe(200);
  };

  it('an index pointer whose server moved is a plan error; nothing is written', async () => {
    const ignore = ['/servers/0/options/hunt_account_id'];
    const w = await project([{ name: 'a', dids: [did(1)], ignore }]);
    await setHunt(w);
    await change(w, [{ name: 'a', dids: [did(1)], ignore, before: ['pbx-new'] }]);
    const { result, byMethod } = await countRequests(w, () => w.cli(['apply', '--yes']));
    expect(result.code).not.toBe(0);
    expect(result.out + result.err).toContain(
      '"name=pbx-new" in the document but "name=pbx-a" on the server',
    );
    expect(result.out + result.err).toContain('/servers[name=pbx-a]/options/hunt_account_id');
    expect(byMethod.get('PATCH') ?? 0).toBe(0);
    expect(hunt(w, 'pbx-a')).toBe('team-x');
  });

  it('the identity form keeps the value on its server across two applies', async () => {
    const ignore = ['/servers[name=pbx-a]/options/hunt_account_id'];
    const w = await project([{ name: 'a', dids: [did(1)], ignore }]);
    await setHunt(w);
    await change(w, [{ name: 'a', dids: [did(1)], ignore, before: ['pbx-new'] }]);
    const first = await w.cli(['apply', '--yes']);
    expect(first.code, first.out + first.err).toBe(0);
    expect(hunt(w, 'pbx-a')).toBe('team-x');
    expect(hunt(w, 'pbx-new')).toBeUndefined();
    await change(w, [{ name: 'a', dids: [did(1)], ignore, before: ['pbx-new', 'pbx-newer'] }]);
    const second = await w.cli(['apply', '--yes']);
    expect(second.code, second.out + second.err).toBe(0);
    expect(hunt(w, 'pbx-a')).toBe('team-x');
    expect(hunt(w, 'pbx-new')).toBeUndefined();
    expect(hunt(w, 'pbx-newer')).toBeUndefined();
    const plan = await w.cli(['plan', '--detailed-exitcode']);
    expect(plan.code, plan.out).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { kazooConnectivity } from '../providers/kazoo/provider.ts';
import type { LiveObject, Provider } from '../providers/types.ts';
import type { JsonObject } from './json.ts';
import type { DesiredDocument, TargetConfig } from './model.ts';
import { buildPlan, compareWrites, Planner, SENSITIVE_CHANGED, type LiveScope } from './plan.ts';

const A = '3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9';
const target: TargetConfig = {
  name: 't',
  type: 'kazoo',
  auth: {},
  concurrency: 4,
  timeout_ms: 1000,
  source: { file: 'c', line: 1, col: 1 },
};
const providers = new Map<string, Provider>([[kazooConnectivity.kind, kazooConnectivity]]);
const pos = { file: 'f.yaml', line: 1, col: 1 };

function doc(
  name: string,
  spec: JsonObject,
  extra: Partial<DesiredDocument> = {},
): DesiredDocument {
  return {
    key: { target: 't', account: A, kind: 'kazoo/connectivity', name },
    spec: { name, ...spec },
    ignore: [],
    sensitive: [],
    source: pos,
    ...extra,
  };
}
function live(id: string, body: JsonObject, revision = '1-aaa'): LiveObject {
  return { id, revision, body };
}
function plan(
  docs: DesiredDocument[],
  objects: LiveObject[],
  prune = false,
  deleted: DesiredDocument['key'][] = [],
) {
  const scopes: LiveScope[] = [{ target: 't', kind: 'kazoo/connectivity', account: A, objects }];
  return buildPlan({
    documents: docs,
    live: scopes,
    targets: { t: target },
    providers,
    prune,
    deleted,
    meta: { generated_at: 'now' },
  });
}
const ipServer = (ip: string, dids: string[] = []): JsonObject => ({
  auth: { auth_method: 'ip', ip },
  DIDs: Object.fromEntries(dids.map((d) => [d, {}])),
  options: {},
});

/** The ops that change the spec (without the ownership marker a first write adds). */
const specOps = (ops: readonly { path: string }[] | undefined) =>
  ops?.filter((o) => o.path !== '/connops_managed');

describe('buildPlan', () => {
  it('creates a missing document, with the ownership marker in the request', () => {
    const p = plan([doc('a', { servers: [ipServer('192.0.2.1')] })], []);
    expect(p.changes.map((c) => c.action)).toEqual(['create']);
    expect(p.changes[0]?.request?.body).toMatchObject({ name: 'a', connops_managed: true });
    expect(p.changes[0]?.ops).toContainEqual({ op: 'add', path: '/connops_managed', value: true });
  });

  it('adds no marker op when the live object already carries it', () => {
    const p = plan(
      [doc('a', { account: { trunks: 2 }, servers: [] })],
      [live('x1', { name: 'a', servers: [], connops_managed: true })],
    );
    expect(p.changes[0]?.ops).toEqual([{ op: 'add', path: '/account', value: { trunks: 2 } }]);
  });

  it('is a noop when live equals desired after defaults and server fields', () => {
    const body = {
      id: 'x1',
      name: 'a',
      account: { auth_realm: 'r' },
      servers: [
        {
          auth: { auth_method: 'ip', ip: '192.0.2.1' },
          DIDs: {},
          options: {
            delay: 0,
            enabled: true,
            force_outbound: false,
            hunt_non_reconcilable: false,
            inbound_format: 'npan',
            media_handling: 'bypass',
          },
        },
      ],
    };
    const p = plan([doc('a', { servers: [ipServer('192.0.2.1')] })], [live('x1', body)]);
    expect(p.summary).toEqual({ create: 0, update: 0, delete: 0, noop: 1 });
  });

  it('updates with the smallest merge patch and RFC 6902 ops for display', () => {
    const p = plan(
      [doc('a', { account: { caller_id: { cid_name: 'New' } }, servers: [] })],
      [live('x1', { name: 'a', account: { caller_id: { cid_name: 'Old' } }, servers: [] })],
    );
    const c = p.changes[0];
    expect(c?.action).toBe('update');
    expect(c?.request).toEqual({
      method: 'PATCH',
      body: { account: { caller_id: { cid_name: 'New' } }, connops_managed: true },
    });
    // The plan shows every key the write adds, the ownership marker included.
    expect(c?.ops).toEqual([
      { op: 'replace', path: '/account/caller_id/cid_name', value: 'New' },
      { op: 'add', path: '/connops_managed', value: true },
    ]);
    expect(c?.revision).toBe('1-aaa');
  });

  it('keeps of the live object only what the write needs, not its body', () => {
    const p = plan(
      [doc('a', { account: { caller_id: { cid_name: 'New' } }, servers: [] })],
      [
        live('x1', { name: 'a', account: { caller_id: { cid_name: 'Old' } }, servers: [] }),
        live('x2', { name: 'old', servers: [], connops_managed: true }, '4-ddd'),
      ],
      true,
    );
    expect(p.changes.map((c) => [c.action, c.live])).toEqual([
      ['update', { id: 'x1', revision: '1-aaa', name: 'a' }],
      ['delete', { id: 'x2', revision: '4-ddd', name: 'old' }],
    ]);
  });

  it('keeps one copy of what did not change: the desired body shares it with the live one', () => {
    const dids = Array.from({ length: 40 }, (_, i) => `+1415555${String(1000 + i)}`);
    const p = plan(
      [
        doc('a', {
          account: { trunks: 5 },
          servers: [ipServer('192.0.2.1', dids), ipServer('192.0.2.2', dids.slice(1))],
        }),
      ],
      [
        live('x1', {
          name: 'a',
          account: { trunks: 4 },
          servers: [ipServer('192.0.2.1', dids), ipServer('192.0.2.2', dids)],
        }),
      ],
    );
    const c = p.changes[0];
    const servers = (b: JsonObject | null | undefined): JsonObject[] =>
      b?.['servers'] as JsonObject[];
    expect(c?.action).toBe('update');
    // The first server is the same on both sides: one object, in the body and in the PATCH.
    expect(servers(c?.after)[0]).toBe(servers(c?.before)[0]);
    expect(servers(c?.request?.body)[0]).toBe(servers(c?.before)[0]);
    // The second lost a DID: a new map, whose remaining entries are the live ones.
    const after = servers(c?.after)[1]?.['DIDs'] as JsonObject;
    const before = servers(c?.before)[1]?.['DIDs'] as JsonObject;
    expect(after).not.toBe(before);
    expect(Object.keys(after)).toEqual(dids.slice(1));
    expect(after[dids[5] as string]).toBe(before[dids[5] as string]);
    expect(specOps(c?.ops)).toEqual([
      { op: 'remove', path: `/servers/1/DIDs/${dids[0]}` },
      { op: 'replace', path: '/account/trunks', value: 5 },
    ]);
  });
  it('masks secrets in ops and bodies, showing that a password changed', () => {
    const server = (pw: string): JsonObject => ({
      auth: { auth_method: 'password', auth_user: 'u', auth_password: pw },
      options: {},
    });
    const p = plan(
      [doc('a', { servers: [server('new-secret')] })],
      [live('x1', { name: 'a', servers: [server('old-secret')] })],
    );
    const c = p.changes[0];
    expect(JSON.stringify([c?.ops, c?.beforeMasked, c?.afterMasked])).not.toMatch(/secret/);
    expect(specOps(c?.ops)).toEqual([
      { op: 'replace', path: '/servers/0/auth/auth_password', value: SENSITIVE_CHANGED },
    ]);
  });

  it('treats ignored pointers as absent on both sides but carries the live value in the write', () => {
    const liveBody = {
      name: 'a',
      servers: [
        { ...ipServer('192.0.2.1'), name: 'pbx-1', options: { hunt_account_id: 'reseller' } },
      ],
    };
    const p = plan(
      [
        doc(
          'a',
          { servers: [{ ...ipServer('192.0.2.2'), name: 'pbx-1' }] },
          { ignore: ['/servers/0/options/hunt_account_id'] },
        ),
      ],
      [live('x1', liveBody)],
    );
    const c = p.changes[0];
    expect(specOps(c?.ops)?.map((o) => o.path)).toEqual(['/servers/0/auth/ip']);
    expect(JSON.stringify(c?.request?.body)).toContain('"hunt_account_id":"reseller"');
  });

  describe('ignore by identity (INVARIANTS.md item 9)', () => {
    const hq = (extra: JsonObject = {}): JsonObject => ({
      ...ipServer('192.0.2.1'),
      name: 'pbx-hq-1',
      ...extra,
    });
    const fresh = { ...ipServer('192.0.2.9'), name: 'pbx-new' };
    const liveBody = { name: 'a', servers: [hq({ options: { hunt_account_id: 'reseller' } })] };

    it('an index pointer whose server moved is a plan problem naming both servers and the rewrite', () => {
      const p = plan(
        [doc('a', { servers: [fresh, hq()] }, { ignore: ['/servers/0/options/hunt_account_id'] })],
        [live('x1', liveBody)],
      );
      expect(p.changes).toEqual([]);
      const m = p.problems.map((x) => x.message).join('\n');
      expect(m).toContain('"name=pbx-new" in the document but "name=pbx-hq-1" on the server');
      expect(m).toContain('/servers[name=pbx-hq-1]/options/hunt_account_id');
    });

    it('an identity pointer keeps the value on its server wherever it moves', () => {
      const p = plan(
        [
          doc(
            'a',
            { servers: [fresh, hq()] },
            { ignore: ['/servers[name=pbx-hq-1]/options/hunt_account_id'] },
          ),
        ],
        [live('x1', liveBody)],
      );
      expect(p.problems).toEqual([]);
      const servers = p.changes[0]?.request?.body?.['servers'] as JsonObject[];
      expect(
        servers.map((s) => [s['name'], (s['options'] as JsonObject)['hunt_account_id']]),
      ).toEqual([
        ['pbx-new', undefined],
        ['pbx-hq-1', 'reseller'],
      ]);
      // Shown as absent on both sides: the diff is the new server only.
      expect(p.changes[0]?.ops.every((o) => !o.path.includes('hunt_account_id'))).toBe(true);
    });

    it('an identity pointer naming two servers, or an unknown field, is a problem', () => {
      const twice = plan(
        [doc('a', { servers: [hq(), hq()] }, { ignore: ['/servers[name=pbx-hq-1]/options'] })],
        [live('x1', liveBody)],
      );
      expect(twice.problems[0]?.message).toContain('2 items of /servers have name "pbx-hq-1"');
      const unknown = plan(
        [doc('a', { servers: [hq()] }, { ignore: ['/servers[realm=x]/options'] })],
        [live('x1', liveBody)],
      );
      expect(unknown.problems[0]?.message).toContain('addressed by name, auth_user, ip');
    });
  });

  it('matches by pinned id before name', () => {
    const p = plan(
      [doc('renamed', { servers: [] }, { id: 'x1' })],
      [live('x1', { name: 'old-name', servers: [] })],
    );
    expect(p.changes[0]).toMatchObject({ action: 'update', id: 'x1' });
  });

  it('refuses to guess between two live objects with the same name', () => {
    const p = plan(
      [doc('a', { servers: [] })],
      [live('x1', { name: 'a' }), live('x2', { name: 'a' })],
    );
    expect(p.changes).toEqual([]);
    expect(p.problems[0]?.message).toMatch(/2 live objects have this name.*x1, x2/);
  });

  describe('prune', () => {
    const objects = [
      live('x1', { name: 'a', servers: [] }),
      live('m1', { name: 'managed', connops_managed: true }),
      live('u1', { name: 'foreign' }),
    ];
    it('is off by default: nothing is deleted', () => {
      expect(plan([doc('a', { servers: [] })], objects).summary.delete).toBe(0);
    });
    it('deletes only objects connops manages', () => {
      const p = plan([doc('a', { servers: [] })], objects, true);
      expect(p.changes.filter((c) => c.action === 'delete').map((c) => c.id)).toEqual(['m1']);
      expect(p.unmanaged).toBe(1);
    });
    it('deletes an unmarked object that git says a document declared', () => {
      const p = plan([doc('a', { servers: [] })], objects, true, [
        { target: 't', account: A, kind: 'kazoo/connectivity', name: 'foreign' },
      ]);
      expect(
        p.changes
          .filter((c) => c.action === 'delete')
          .map((c) => c.id)
          .sort(),
      ).toEqual(['m1', 'u1']);
    });
    it('never touches accounts no document declares', () => {
      expect(plan([], objects, true).summary.delete).toBe(0);
    });
  });

  it('orders the claim of a moving DID before the write that releases it', () => {
    const p = plan(
      [
        doc('a', { servers: [ipServer('192.0.2.1', [])] }),
        doc('b', { servers: [ipServer('192.0.2.2', ['+14155550100'])] }),
      ],
      [
        live('x1', { name: 'a', servers: [ipServer('192.0.2.1', ['+14155550100'])] }),
        live('x2', { name: 'b', servers: [ipServer('192.0.2.2', [])] }),
      ],
    );
    const a = p.changes.findIndex((c) => c.key.name === 'a');
    const b = p.changes.findIndex((c) => c.key.name === 'b');
    expect(p.changes[a]?.dependsOn).toEqual([b]);
    expect(p.changes[b]?.dependsOn).toEqual([]);
    expect(p.changes[a]?.releases).toEqual(['+14155550100']);
  });

  it('a rename (delete + create) creates first: the delete waits for the create', () => {
    const p = plan(
      [doc('new', { servers: [ipServer('192.0.2.1', ['+14155550100'])] })],
      [
        live('x1', {
          name: 'old',
          servers: [ipServer('192.0.2.1', ['+14155550100'])],
          connops_managed: true,
        }),
      ],
      true,
    );
    expect(p.changes.map((c) => c.action)).toEqual(['create', 'delete']);
    expect(p.changes[1]?.dependsOn).toEqual([0]);
    expect(p.changes[0]?.reason).toContain('takes over +14155550100 from "old"');
    expect(p.changes[1]?.reason).toContain('"new" takes over +14155550100 and is created first');
  });

  it('a DID swap becomes claim both, then release both', () => {
    const p = plan(
      [
        doc('a', { servers: [ipServer('192.0.2.1', ['+14155550101'])] }),
        doc('b', { servers: [ipServer('192.0.2.2', ['+14155550100'])] }),
      ],
      [
        live('x1', { name: 'a', servers: [ipServer('192.0.2.1', ['+14155550100'])] }),
        live('x2', { name: 'b', servers: [ipServer('192.0.2.2', ['+14155550101'])] }),
      ],
    );
    expect(p.problems).toEqual([]);
    const [a, b] = [p.changes[0], p.changes[1]];
    expect(a?.dependsOn).toEqual([1]);
    expect(b?.dependsOn).toEqual([0]);
    // The first write of each holds both numbers; the second the final one.
    const didsOf = (body: JsonObject | null | undefined) =>
      ((body?.['servers'] as JsonObject[] | undefined) ?? []).flatMap((s) =>
        Object.keys(s['DIDs'] as JsonObject),
      );
    expect(didsOf(a?.claimFirst?.request.body).sort()).toEqual(['+14155550100', '+14155550101']);
    expect(didsOf(a?.claimFirst?.then.body)).toEqual(['+14155550101']);
    expect(didsOf(b?.claimFirst?.request.body).sort()).toEqual(['+14155550100', '+14155550101']);
  });

  it('a move without a swap is one write per document (nothing split)', () => {
    const p = plan(
      [
        doc('a', { servers: [ipServer('192.0.2.1', ['+14155550102'])] }),
        doc('b', { servers: [ipServer('192.0.2.2', ['+14155550100'])] }),
      ],
      [
        live('x1', { name: 'a', servers: [ipServer('192.0.2.1', ['+14155550100'])] }),
        live('x2', { name: 'b', servers: [ipServer('192.0.2.2', ['+14155550101'])] }),
      ],
    );
    expect(p.changes.every((c) => c.claimFirst === undefined)).toBe(true);
  });

  describe('fingerprint: the change set (INVARIANTS.md 11)', () => {
    const changed = { servers: [ipServer('192.0.2.9')] };
    const base = () => plan([doc('a', changed)], [live('x1', { name: 'a', servers: [] }, '1-a')]);

    it('is the same for the same writes, and ignores what produces no write', () => {
      const fp = base().fingerprint;
      expect(base().fingerprint).toBe(fp);
      // An unchanged document whose live revision moved (an edit elsewhere, e.g. an ignored field).
      const withNoop = (rev: string) =>
        plan(
          [doc('a', changed), doc('b', { servers: [] })],
          [
            live('x1', { name: 'a', servers: [] }, '1-a'),
            live('x2', { name: 'b', servers: [] }, rev),
          ],
        );
      expect(withNoop('1-b').fingerprint).toBe(fp);
      expect(withNoop('7-z').fingerprint).toBe(fp);
      expect(withNoop('7-z').writes).toHaveLength(1);
    });

    it('changes with the live revision a write is based on, and says so', () => {
      const fresh = plan([doc('a', changed)], [live('x1', { name: 'a', servers: [] }, '2-b')]);
      expect(fresh.fingerprint).not.toBe(base().fingerprint);
      const reasons = compareWrites({ writes: base().writes ?? [] }, fresh);
      expect(reasons).toEqual([
        expect.stringMatching(
          /^"a" \(account [0-9a-f]+, target t\): update changed: the live object changed since the review \(revision 1-a → 2-b\)$/,
        ),
      ]);
    });

    it('changes with the desired body, and names writes added and dropped', () => {
      const other = plan(
        [doc('a', { servers: [ipServer('192.0.2.10')] })],
        [live('x1', { name: 'a', servers: [] }, '1-a')],
      );
      expect(other.fingerprint).not.toBe(base().fingerprint);
      expect(compareWrites({ writes: base().writes ?? [] }, other)).toEqual([
        expect.stringMatching(/update changed: the desired body changed/),
      ]);
      const added = plan(
        [doc('a', changed), doc('n', { servers: [] })],
        [live('x1', { name: 'a', servers: [] }, '1-a')],
      );
      expect(compareWrites({ writes: base().writes ?? [] }, added)).toEqual([
        expect.stringMatching(
          /^"n" \(account [0-9a-f]+, target t\): a create that was not reviewed \(added\)$/,
        ),
      ]);
      expect(compareWrites({ writes: added.writes ?? [] }, base())).toEqual([
        expect.stringMatching(
          /^"n" \(account [0-9a-f]+, target t\): the reviewed create is no longer needed \(dropped\)$/,
        ),
      ]);
    });

    it('changes with a secret value, which it holds only as a keyed hash', () => {
      const pw = (v: string) =>
        doc('a', {
          servers: [
            { auth: { auth_method: 'password', auth_user: 'u', auth_password: v }, options: {} },
          ],
        });
      const one = plan([pw('secret-one-1234')], []);
      expect(one.fingerprint).not.toBe(plan([pw('secret-two-1234')], []).fingerprint);
      expect(JSON.stringify(one.writes)).not.toContain('secret-one');
      // Keyed by the target's credentials: another key, another digest of the same body.
      const keyed = buildPlan({
        documents: [pw('secret-one-1234')],
        live: [],
        targets: { t: { ...target, auth: { api_key: 'k2' } } },
        providers,
        prune: false,
        meta: { generated_at: 'now' },
      });
      expect(keyed.writes?.[0]?.body).not.toBe(one.writes?.[0]?.body);
    });

    it('bases a write on a hash of the live body where writes are not conditional (Cloudflare)', () => {
      const unconditional = new Map<string, Provider>([
        [kazooConnectivity.kind, { ...kazooConnectivity, conditionalWrites: false }],
      ]);
      const at = (rev: string, trunks: number) =>
        buildPlan({
          documents: [doc('a', changed)],
          live: [
            {
              target: 't',
              kind: 'kazoo/connectivity',
              account: A,
              objects: [live('x1', { name: 'a', servers: [], account: { trunks } }, rev)],
            },
          ],
          targets: { t: target },
          providers: unconditional,
          prune: false,
          meta: { generated_at: 'now' },
        });
      expect(at('9-z', 1).fingerprint).toBe(at('1-a', 1).fingerprint);
      expect(at('1-a', 2).fingerprint).not.toBe(at('1-a', 1).fingerprint);
      expect(at('1-a', 1).writes?.[0]?.base).toMatch(/^sha256:/);
    });

    it('covers the policy that shapes the writes', () => {
      const p = plan([doc('a', changed)], [live('x1', { name: 'a', servers: [] }, '1-a')], true);
      expect(p.fingerprint).not.toBe(base().fingerprint);
      expect(compareWrites({ writes: base().writes ?? [], policy: base().policy }, p)).toEqual([
        expect.stringMatching(/^the policy changed \(prune false → true/),
      ]);
    });
  });

  describe('Planner (scopes planned as they arrive)', () => {
    const B = 'b'.repeat(32);
    const inAccount = (account: string, name: string, spec: JsonObject): DesiredDocument => {
      const d = doc(name, spec);
      return { ...d, key: { ...d.key, account } };
    };
    const documents = [
      inAccount(A, 'a', { servers: [] }),
      inAccount(A, 'dup', { servers: [] }),
      inAccount(B, 'b', { servers: [ipServer('192.0.2.1')] }),
      inAccount(B, 'dup', { servers: [] }),
      inAccount('c'.repeat(32), 'new', { servers: [] }),
    ];
    const scopes: LiveScope[] = [A, B].map((account) => ({
      target: 't',
      kind: 'kazoo/connectivity',
      account,
      objects: [
        live(`${account}-1`, { name: account === A ? 'a' : 'b', servers: [] }),
        live(`${account}-2`, { name: 'dup' }),
        live(`${account}-3`, { name: 'dup' }),
      ],
    }));
    const context = {
      documents,
      targets: { t: target },
      providers,
      prune: false,
      meta: { generated_at: 'now' },
    };

    it('gives the same plan, problems in the same order, whatever order scopes arrive in', () => {
      const forward = buildPlan({ ...context, live: scopes });
      const planner = new Planner(context);
      for (const s of [...scopes].reverse()) planner.addScope(s);
      const backward = planner.finish();
      expect(forward.problems.map((p) => p.key?.account)).toEqual([A, B]);
      expect(forward.summary).toEqual({ create: 1, update: 1, delete: 0, noop: 1 });
      expect(backward).toEqual(forward);
    });

    it('leaves out, fingerprint included, the documents of accounts that could not be read', () => {
      const planner = new Planner(context);
      planner.addScope(scopes[0] as LiveScope);
      const skipped = planner.finish(new Set([`t/${B}/kazoo/connectivity`]));
      expect(skipped.changes.map((c) => c.key.name).sort()).toEqual(['a', 'new']);
      const withoutB = buildPlan({
        ...context,
        documents: documents.filter((d) => d.key.account !== B),
        live: [scopes[0] as LiveScope],
      });
      expect(skipped.fingerprint).toBe(withoutB.fingerprint);
    });
  });
});

import { describe, expect, it } from 'vitest';
import { normalizeKazoo } from '../providers/kazoo/normalize.ts';
import { kazooConnectivity } from '../providers/kazoo/provider.ts';
import type { LiveObject, Provider } from '../providers/types.ts';
import type { JsonObject } from './json.ts';
import type { DesiredDocument, TargetConfig } from './model.ts';
import { buildPlan, type Plan, type PlanChange } from './plan.ts';
import {
  accountLabels,
  MARKDOWN_LIMIT,
  planFromJson,
  planToJson,
  renderPlanJson,
  renderPlanMarkdown,
  renderPlanText,
  type PlanJson,
} from './render-plan.ts';

function bigPlan(n: number, fieldsPer: number): Plan {
  const changes: PlanChange[] = Array.from({ length: n }, (_, i) => ({
    key: { target: 't', account: 'a'.repeat(32), kind: 'kazoo/connectivity', name: `doc-${i}` },
    action: 'update',
    reason: `${fieldsPer} fields differ`,
    ops: Array.from({ length: fieldsPer }, (_, j) => ({
      op: 'replace' as const,
      path: `/servers/0/DIDs/+1415555${String(j).padStart(4, '0')}/caller_id/cid_name`,
      value: `name ${j}`,
    })),
    claims: [],
    releases: [],
    dependsOn: [],
    beforeMasked: {},
    afterMasked: {},
  }));
  return {
    format_version: '1',
    changes,
    problems: [],
    unmanaged: 0,
    summary: { create: 0, update: n, delete: 0, noop: 0 },
    fingerprint: 'f'.repeat(64),
    meta: { generated_at: 'now' },
  };
}

describe('renderPlanMarkdown', () => {
  it('keeps every document collapsible when small', () => {
    const md = renderPlanMarkdown(bigPlan(3, 2));
    expect(md.match(/<details>/g)).toHaveLength(3);
    expect(md).toContain('**Plan: 0 to create, 3 to update, 0 to delete; 0 unchanged.**');
  });

  it.each([
    [50, 200],
    [2000, 5],
    [20_000, 1],
  ])("stays under GitHub's comment limit by summarising (%d documents × %d fields)", (n, f) => {
    const md = renderPlanMarkdown(bigPlan(n, f));
    expect(md.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(md).toContain('**Plan: 0 to create');
    expect(md).toMatch(/_(Details shown for|Plan too large for one comment)/);
  });

  it('says for how many documents it shows details, and shows that many', () => {
    const md = renderPlanMarkdown(bigPlan(50, 200));
    const m = /_Details shown for (\d+) of (\d+) documents/.exec(md);
    expect(m?.[2]).toBe('50');
    expect(md.match(/<details>/g)?.length).toBe(Number(m?.[1]));
  });

  it('"No changes" has no empty table; an incomplete plan leads with INCOMPLETE and never says "No changes"', () => {
    const none = renderPlanMarkdown({
      ...bigPlan(0, 0),
      summary: { create: 0, update: 0, delete: 0, noop: 4 },
    });
    expect(none).toContain('**No changes: 4 documents up to date.**');
    expect(none).not.toContain('| action |');
    const partial = renderPlanMarkdown({ ...bigPlan(0, 0), incomplete: ['cannot read account x'] });
    expect(partial).toMatch(/^### connops plan\n\n> \[!CAUTION\]\n> \*\*INCOMPLETE: /);
    expect(partial).toContain('- cannot read account x');
    expect(partial).not.toContain('No changes');
  });

  it('opens details and links names when asked (small PR plans)', () => {
    const md = renderPlanMarkdown(bigPlan(2, 1), {
      open: true,
      linkOf: (c) => `https://example.test/${c.key.name}#L3`,
      lead: '#### Numbers',
    });
    expect(md.match(/<details open>/g)).toHaveLength(2);
    expect(md).toContain('| [doc-0](https://example.test/doc-0#L3) |');
    expect(md.indexOf('#### Numbers')).toBeLessThan(md.indexOf('| action |'));
  });

  it('JSON and Markdown come from the same plan object', () => {
    const p = bigPlan(2, 1);
    expect(planToJson(p).changes.map((c) => c.address)).toEqual([
      't/' + 'a'.repeat(32) + '/kazoo/connectivity/doc-0',
      't/' + 'a'.repeat(32) + '/kazoo/connectivity/doc-1',
    ]);
  });
});

/**
 * A plan built from the real Kazoo provider: one number added, one removed, one
 * moved between accounts, one failover changed, a server option changed, and a
 * new document with 50 numbers.
 */
const ACME = '3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9';
const ALPHA = '8b7d4e1fa6c5b4d33f2a9c0e2f1a0b9a';
const BRAVO = 'a6c5b4d3e2f1a0b93f2a9c0e8b7d4e1f';
const kazooTarget: TargetConfig = {
  name: 'kazoo-prod',
  type: 'kazoo',
  auth: {},
  concurrency: 4,
  timeout_ms: 1000,
  source: { file: 'connops.yaml', line: 1, col: 1 },
};
const kazoo = new Map<string, Provider>([[kazooConnectivity.kind, kazooConnectivity]]);
const server = (name: string, dids: JsonObject, options: JsonObject = {}): JsonObject => ({
  name,
  auth: { auth_method: 'password', auth_user: `${name}-user`, auth_password: `pw-${name}` },
  DIDs: dids,
  options,
});
const desired = (account: string, name: string, servers: JsonObject[]): DesiredDocument => ({
  key: { target: 'kazoo-prod', account, kind: 'kazoo/connectivity', name },
  spec: { name, servers },
  ignore: [],
  sensitive: [],
  source: { file: `${name}.yaml`, line: 1, col: 1 },
});
/** What Kazoo stores for a spec: the server's defaults filled in. */
const stored = (id: string, d: DesiredDocument): LiveObject => ({
  id,
  revision: '1-abc',
  body: normalizeKazoo(d.spec, '4.3'),
});

function numbersPlan(): Plan {
  const acmeLive = desired(ACME, 'acme-main', [
    server('pbx-hq-1', {
      '+14155550100': {},
      '+14155550102': { failover: { e164: '+14155550101' } },
    }),
    server('pbx-hq-standby', { '+14155550110': {} }, { progress_timeout: 6 }),
  ]);
  const acme = desired(ACME, 'acme-main', [
    server('pbx-hq-1', {
      '+14155550100': {},
      '+14155550102': { failover: { e164: '+14155550198' } },
      '+14155550103': {},
    }),
    server('pbx-hq-standby', { '+14155550110': {} }, { progress_timeout: 8 }),
  ]);
  const alphaLive = desired(ALPHA, 'alpha-main', [
    server('pbx-1', { '+16175550100': {}, '+16175550101': {} }),
  ]);
  const alpha = desired(ALPHA, 'alpha-main', [server('pbx-1', { '+16175550101': {} })]);
  const faxLive = desired(ALPHA, 'bravo-fax', [server('fax-1', { '+13125550200': {} })]);
  const fax = desired(ALPHA, 'bravo-fax', [server('fax-1', {})]);
  const sbc = desired(BRAVO, 'bravo-sbc', [server('sbc-1', { '+13125550200': {} })]);
  const bulk = desired(BRAVO, 'bulk', [
    server(
      'bulk-1',
      Object.fromEntries(
        Array.from({ length: 50 }, (_, i) => [`+1212555${String(i).padStart(4, '0')}`, {}]),
      ),
    ),
  ]);
  return buildPlan({
    documents: [acme, alpha, fax, sbc, bulk],
    live: [
      {
        target: 'kazoo-prod',
        kind: 'kazoo/connectivity',
        account: ACME,
        objects: [stored('a1', acmeLive)],
      },
      {
        target: 'kazoo-prod',
        kind: 'kazoo/connectivity',
        account: ALPHA,
        objects: [stored('b1', alphaLive), stored('b2', faxLive)],
      },
      { target: 'kazoo-prod', kind: 'kazoo/connectivity', account: BRAVO, objects: [] },
    ],
    targets: { 'kazoo-prod': kazooTarget },
    providers: kazoo,
    prune: false,
    meta: { generated_at: 'now' },
  });
}

const WANT = [
  '+ route +14155550103 → acme-main / pbx-hq-1',
  '- unroute +16175550100 (was alpha-main / pbx-1)',
  `~ move +13125550200: bravo-fax / fax-1 → bravo-sbc / sbc-1 (account 8b7d4e1f… → a6c5b4d3…)`,
  '~ +14155550102 failover e164 +14155550101 → +14155550198 (acme-main / pbx-hq-1)',
];

describe('the numbers view (INVARIANTS.md 5)', () => {
  it('text leads with the numbers in words; field lines leave them out and name servers', () => {
    const text = renderPlanText(numbersPlan(), { color: false });
    const lines = text.split('\n');
    expect(lines[0]).toBe('Numbers: 51 to route, 1 to unroute, 1 to move, 1 with changed options.');
    for (const w of WANT) expect(lines).toContain(`  ${w}`);
    // The numbers come before the first document.
    expect(lines.indexOf(`  ${WANT[0]}`)).toBeLessThan(
      lines.findIndex((l) => l.startsWith('~ update')),
    );
    expect(lines).toContain('    ~ servers[pbx-hq-standby].options.progress_timeout: 6 → 8');
    // A new document's 50 numbers read as 50 numbers, with no JSON line for each.
    expect(lines.filter((l) => l.startsWith('  + route +1212555'))).toHaveLength(50);
    expect(text).not.toMatch(/DIDs/);
    // The DIDs' server default (force_outbound) is nowhere; the servers' own options still show.
    const flags = lines.filter((l) => l.includes('force_outbound'));
    expect(flags.length).toBeGreaterThan(0);
    for (const l of flags)
      expect(l).toMatch(/^ {4}\+ servers\[[\w-]+\]\.options\.force_outbound: false$/);
    expect(text).not.toMatch(/\/servers\/\d/);
    // Accounts by a short id (no name is known), or by a name when the caller has one.
    expect(text).toContain('(account 3f2a9c0e…, target kazoo-prod)');
    const named = renderPlanText(numbersPlan(), {
      color: false,
      accountNames: { [ACME]: 'ACME Corp' },
    });
    expect(named).toContain('(account ACME Corp, target kazoo-prod)');
    // The new document's other fields are still there, and no secret.
    expect(text).toContain('+ servers[bulk-1].auth.auth_user: "bulk-1-user"');
    expect(text).not.toMatch(/pw-/);
  });

  it('Markdown leads with the same lines, in a diff block', () => {
    const md = renderPlanMarkdown(numbersPlan());
    expect(md).toContain(
      '**Numbers: 51 to route, 1 to unroute, 1 to move, 1 with changed options.**\n\n```diff\n',
    );
    for (const w of WANT) expect(md).toContain(`\n${w}\n`);
    expect(md.indexOf(WANT[0] as string)).toBeLessThan(md.indexOf('| action |'));
    expect(md).toContain('~ servers[pbx-hq-standby].options.progress_timeout: 6 → 8');
    expect(md).not.toMatch(/DIDs|\+1\d+\S*force_outbound/);
    expect(md).not.toMatch(/\/servers\/\d/);
    expect(md).not.toMatch(/pw-/);
  });

  it('JSON has a top-level numbers list; the ops stay RFC 6902 as they were', () => {
    const plan = numbersPlan();
    const json = JSON.parse(renderPlanJson(plan)) as PlanJson;
    expect(json.format_version).toBe('1');
    const place = (account: string, document: string, srv: string, pointer: string) => ({
      target: 'kazoo-prod',
      account,
      document,
      server: srv,
      pointer,
    });
    const numbers = json.numbers ?? [];
    expect(numbers.filter((n) => !n.did.startsWith('+1212555'))).toEqual([
      {
        did: '+14155550103',
        action: 'route',
        from: null,
        to: place(ACME, 'acme-main', 'pbx-hq-1', '/servers/0/DIDs/+14155550103'),
      },
      {
        did: '+16175550100',
        action: 'unroute',
        from: place(ALPHA, 'alpha-main', 'pbx-1', '/servers/0/DIDs/+16175550100'),
        to: null,
      },
      {
        did: '+13125550200',
        action: 'move',
        from: place(ALPHA, 'bravo-fax', 'fax-1', '/servers/0/DIDs/+13125550200'),
        to: place(BRAVO, 'bravo-sbc', 'sbc-1', '/servers/0/DIDs/+13125550200'),
      },
      {
        did: '+14155550102',
        action: 'change',
        from: place(ACME, 'acme-main', 'pbx-hq-1', '/servers/0/DIDs/+14155550102'),
        to: place(ACME, 'acme-main', 'pbx-hq-1', '/servers/0/DIDs/+14155550102'),
        changes: [{ field: '/failover/e164', before: '+14155550101', after: '+14155550198' }],
      },
    ]);
    // No route of a new number carries the server's default as a change.
    expect(numbers.filter((n) => n.changes !== undefined).map((n) => n.did)).toEqual([
      '+14155550102',
    ]);
    // The machine-readable ops are the plan's own, untouched (paths by index).
    const acme = json.changes.find((c) => c.key.name === 'acme-main');
    expect(acme?.ops).toEqual(plan.changes.find((c) => c.key.name === 'acme-main')?.ops);
    expect(acme?.ops).toContainEqual({
      op: 'add',
      path: '/servers/0/DIDs/+14155550103',
      value: { force_outbound: false },
    });
    expect(JSON.stringify(json)).not.toMatch(/pw-/);
    // Rendering the JSON again (report merge) gives the same text.
    expect(renderPlanText(planFromJson(json), { color: false })).toBe(
      renderPlanText(plan, { color: false }),
    );
  });

  it('a Markdown plan with many numbers stays under the limit and says how many it shows', () => {
    const p = numbersPlan();
    const many = {
      ...p,
      numbers: Array.from({ length: 20_000 }, (_, i) => ({
        did: `+1646${String(i).padStart(7, '0')}`,
        action: 'route' as const,
        from: null,
        to: {
          target: 'kazoo-prod',
          account: BRAVO,
          document: 'bulk',
          server: 'bulk-1',
          pointer: `/servers/0/DIDs/+1646${String(i).padStart(7, '0')}`,
        },
      })),
    };
    const md = renderPlanMarkdown(many);
    expect(md.length).toBeLessThanOrEqual(MARKDOWN_LIMIT);
    expect(md).toMatch(/_\d+ of 20000 number lines shown; the JSON plan has all of them\._/);
    expect(md).toContain('| action | kind | name | account | target |');
  });
});

describe('accountLabels', () => {
  it('shortens ids to the shortest prefix (8 or more) no other account of the plan shares', () => {
    const ids = [
      '3f2a9c0e8b' + 'a'.repeat(22),
      '3f2a9c0e8c' + 'b'.repeat(22),
      '77' + 'c'.repeat(30),
    ];
    const plan = {
      ...bigPlan(0, 0),
      changes: ids.map((account, i) => ({
        ...(bigPlan(1, 0).changes[0] as PlanChange),
        key: { target: 't', account, kind: 'kazoo/connectivity', name: `d${i}` },
      })),
    };
    const labels = accountLabels(plan, { [ids[2] as string]: 'Globex' });
    expect([...ids].map((id) => labels.get(id))).toEqual(['3f2a9c0e8b…', '3f2a9c0e8c…', 'Globex']);
  });
});

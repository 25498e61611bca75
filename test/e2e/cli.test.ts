/**
 * End-to-end: the CLI in-process against both emulators over loopback. Each
 * safety rule has a test here that fails when the rule is removed.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCOUNTS,
  kazooIdOf,
  PASSWORDS as SECRETS,
  setPolicy as setProjectPolicy,
  startWorld,
  type World,
} from '../helpers/world.ts';

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await world.close();
});

const liveDocs = (account: string): unknown[] =>
  world.kazoo.dump().docs?.[account]?.filter((d) => !d['pvt_deleted']) ?? [];
const setPolicy = (policy: string): Promise<void> => setProjectPolicy(world.dir, policy);

describe('validate → plan → apply → plan', () => {
  it('converges, with Terraform-style exit codes', async () => {
    expect((await world.cli(['validate'])).code).toBe(0);
    const plan = await world.cli(['plan']);
    expect(plan.code).toBe(0); // changes, but no --detailed-exitcode
    expect(plan.out).toContain('Plan: 8 to create, 0 to update, 0 to delete; 0 unchanged.');
    expect((await world.cli(['plan', '--detailed-exitcode'])).code).toBe(2);
    const apply = await world.cli(['apply', '--yes']);
    expect(apply.code, apply.err).toBe(0);
    expect(apply.out).toContain('Apply: 8 created, 0 updated, 0 deleted, 0 failed, 0 skipped.');
    const again = await world.cli(['plan', '--detailed-exitcode']);
    expect(again.code).toBe(0);
    expect(again.out).toContain('No changes: 8 documents up to date.');
    expect(liveDocs(ACCOUNTS.acme)).toHaveLength(2);
  });

  it('updates with a PATCH of only the changed field, and drift reports hand edits with exit 2', async () => {
    await world.cli(['apply', '--yes']);
    const id = await kazooIdOf(world, ACCOUNTS.acme, 'acme-denver');
    await world.kazooApi('PATCH', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`, {
      data: { account: { trunks: 2 } },
    });
    const drift = await world.cli(['drift']);
    expect(drift.code).toBe(2);
    expect(drift.out).toContain('- account.trunks (was 2)');
    expect(drift.out).toContain('Drift detected');
    const apply = await world.cli(['apply', '--yes']);
    expect(apply.code).toBe(0);
    expect((await world.cli(['drift'])).code).toBe(0);
  });

  it('shows progress on a terminal and nothing when not', async () => {
    expect((await world.cli(['plan'], { stdoutIsTTY: true })).err).toContain(
      'Reading live state: ',
    );
    expect((await world.cli(['plan'])).err).not.toContain('Reading live state');
  });

  it('renders markdown and versioned JSON from the same plan, without secrets', async () => {
    const md = await world.cli(['plan', '--format', 'markdown']);
    expect(md.out).toContain('**Plan: 8 to create, 0 to update, 0 to delete; 0 unchanged.**');
    expect(md.out).toContain('<details>');
    const json = await world.cli(['plan', '--format', 'json']);
    const parsed = JSON.parse(json.out) as {
      format_version: string;
      changes: { action: string; ops: unknown[] }[];
      fingerprint: string;
    };
    expect(parsed.format_version).toBe('1');
    expect(parsed.changes.filter((c) => c.action === 'create')).toHaveLength(8);
    for (const s of Object.values(SECRETS)) {
      expect(md.out + json.out + md.err + json.err).not.toContain(s);
    }
    expect(json.out).toContain('(sensitive)');
  });
});

describe('safety rules', () => {
  it('apply refuses without --yes when stdin is not a terminal, and writes nothing', async () => {
    const r = await world.cli(['apply']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('apply needs --yes');
    expect(liveDocs(ACCOUNTS.acme)).toHaveLength(0);
  });

  it('apply asks on a terminal: anything but "yes" cancels', async () => {
    const no = await world.cli(['apply'], { stdinIsTTY: true, answer: 'y' });
    expect(no.code).toBe(1);
    expect(liveDocs(ACCOUNTS.acme)).toHaveLength(0);
    const yes = await world.cli(['apply'], { stdinIsTTY: true, answer: 'yes' });
    expect(yes.code).toBe(0);
    expect(liveDocs(ACCOUNTS.acme)).toHaveLength(2);
  });

  it('a saved plan is refused when live state changed since, naming the document and revisions', async () => {
    await world.cli(['apply', '--yes']);
    await writeFile(
      join(world.dir, 'connectivity/acme/branch.yaml'),
      (await readFile(join(world.dir, 'connectivity/acme/branch.yaml'), 'utf8')).replace(
        'timeout: 30',
        'timeout: 45',
      ),
    );
    const saved = await world.cli(['plan', '--out', 'plan.json']);
    expect(saved.code).toBe(0);
    const planText = await readFile(join(world.dir, 'plan.json'), 'utf8');
    for (const s of Object.values(SECRETS)) expect(planText).not.toContain(s);
    const id = await kazooIdOf(world, ACCOUNTS.acme, 'acme-denver');
    await world.kazooApi('PATCH', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`, {
      data: { account: { trunks: 9 } },
    });
    const r = await world.cli(['apply', 'plan.json', '--yes']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /plan is stale: "acme-denver" \(account [0-9a-f]+, target kazoo-prod\): update changed: the live object changed since the review \(revision 1-[0-9a-f]+ → 2-[0-9a-f]+\)/,
    );
    const after = (await world.kazooApi('GET', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`))
      .json as {
      data: { account: { trunks: number }; servers: { options: { timeout: number } }[] };
    };
    expect(after.data.account.trunks).toBe(9); // the hand edit was not overwritten
    expect(after.data.servers[0]?.options.timeout).toBe(30); // and the planned change was not applied
  });

  it('a saved plan applies when nothing changed', async () => {
    await world.cli(['plan', '--out', 'plan.json']);
    const r = await world.cli(['apply', 'plan.json', '--yes']);
    expect(r.code, r.err).toBe(0);
  });

  it('--expect-fingerprint refuses a different plan', async () => {
    const r = await world.cli(['apply', '--yes', '--expect-fingerprint', 'f'.repeat(64)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('plan is stale');
    expect(liveDocs(ACCOUNTS.acme)).toHaveLength(0);
  });

  it('max_changes is absolute and needs --force', async () => {
    await setPolicy('  max_changes: 3');
    const r = await world.cli(['apply', '--yes']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('8 changes exceed policy.max_changes (3)');
    expect(liveDocs(ACCOUNTS.acme)).toHaveLength(0);
    expect((await world.cli(['apply', '--yes', '--force'])).code).toBe(0);
  });

  describe('prune', () => {
    beforeEach(async () => {
      await world.cli(['apply', '--yes']);
      await rm(join(world.dir, 'connectivity/acme/branch.yaml'));
    });

    it('is off by default: a removed document is left on the server', async () => {
      const r = await world.cli(['plan', '--detailed-exitcode']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(
        '1 live object in declared accounts is not declared by any document and will be left alone:',
      );
      expect((await world.cli(['apply', '--yes'])).code).toBe(0);
      expect(liveDocs(ACCOUNTS.acme)).toHaveLength(2);
    });

    it('with --prune deletes only objects connops manages, and max_deletes needs --force', async () => {
      // An object someone else created in the same account must survive.
      await world.kazooApi('PUT', `/accounts/${ACCOUNTS.acme}/connectivity`, {
        data: { name: 'hand-made', servers: [] },
      });
      await setPolicy('  max_deletes: 0');
      const refused = await world.cli(['apply', '--yes', '--prune']);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain('1 deletes exceed policy.max_deletes (0)');
      const r = await world.cli(['apply', '--yes', '--prune', '--force']);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('delete kazoo/connectivity "acme-denver"');
      const names = liveDocs(ACCOUNTS.acme)
        .map((d) => (d as { name: string }).name)
        .sort();
      expect(names).toEqual(['acme-main', 'hand-made']);
    });

    it('never reaches into accounts the repo does not declare', async () => {
      await world.kazooApi('PUT', `/accounts/${ACCOUNTS.initech}/connectivity`, {
        data: { name: 'other', connops_managed: true, servers: [] },
      });
      await rm(join(world.dir, 'connectivity/initech/main.yaml'));
      const r = await world.cli(['plan', '--prune', '--format', 'json']);
      const plan = JSON.parse(r.out) as { changes: { action: string; key: { account: string } }[] };
      expect(plan.changes.filter((c) => c.action === 'delete').map((c) => c.key.account)).toEqual([
        ACCOUNTS.acme,
      ]);
    });
  });

  it('--only applies a subset of the full plan', async () => {
    const r = await world.cli(['apply', '--yes', '--only', 'kazoo-prod/*/acme-*']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('Apply: 2 created');
    expect(liveDocs(ACCOUNTS.acme)).toHaveLength(2);
    expect(liveDocs(ACCOUNTS.globex)).toHaveLength(0);
    expect((await world.cli(['plan'])).out).toContain('Plan: 6 to create');
  });

  it('a 412 (someone else wrote first) stops that document only; others apply; the audit log records each write without secrets', async () => {
    await world.cli(['apply', '--yes']);
    for (const f of ['connectivity/acme/branch.yaml', 'connectivity/initech/main.yaml']) {
      const p = join(world.dir, f);
      await writeFile(
        p,
        (await readFile(p, 'utf8')).replace(/inbound_format: (1npan|e164)/, 'inbound_format: npan'),
      );
    }
    const denver = await kazooIdOf(world, ACCOUNTS.acme, 'acme-denver');
    world.kazoo.faults.update({
      script: [
        {
          method: 'PATCH',
          path: `/v2/accounts/${ACCOUNTS.acme}/connectivity/${denver}`,
          action: 'status',
          status: 412,
        },
      ],
    });
    const r = await world.cli(['apply', '--yes', '--log-file', 'audit.jsonl']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /✗ update kazoo\/connectivity "acme-denver".*the server changed it since the plan/,
    );
    expect(r.out).toContain('✓ update kazoo/connectivity "initech-main"');
    const audit = (await readFile(join(world.dir, 'audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit.map((a) => [a['name'], a['action'], a['status']]).sort()).toEqual([
      ['acme-denver', 'update', 'failed'],
      ['initech-main', 'update', 'ok'],
    ]);
    expect(audit.every((a) => typeof a['time'] === 'string' && a['target'] === 'kazoo-prod')).toBe(
      true,
    );
    expect(audit.find((a) => a['status'] === 'ok')?.['request_id']).toMatch(/^[0-9a-f]{32}$/);
    const auditText = JSON.stringify(audit);
    for (const s of Object.values(SECRETS)) expect(auditText).not.toContain(s);
    // The re-run converges.
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
    expect((await world.cli(['plan', '--detailed-exitcode'])).code).toBe(0);
  });

  it('a failed create is reported, independent changes continue, and a re-run converges', async () => {
    world.kazoo.faults.update({
      script: [
        {
          method: 'PUT',
          path: `/v2/accounts/${ACCOUNTS.globex}/connectivity`,
          action: 'status',
          status: 500,
          // A create carries its derived id, so a 500 is retried (the repeat meets
          // the first attempt as a 409 if it landed): fail every attempt of both globex creates.
          times: 50,
        },
      ],
    });
    const r = await world.cli(['apply', '--yes']);
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.out).toMatch(/Apply: 6 created, 0 updated, 0 deleted, 2 failed/);
    expect(r.err).not.toMatch(/\n\s+at /);
    world.kazoo.faults.update({});
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
    expect((await world.cli(['plan', '--detailed-exitcode'])).code).toBe(0);
  });

  it('invalid documents stop plan with no plan shown and no write (exit 3)', async () => {
    await writeFile(
      join(world.dir, 'connectivity/bad.yaml'),
      'kind: kazoo/connectivity\ntarget: kazoo-prod\naccount: nope\nname: x\nspec: {}\n',
    );
    // Reads may have started while the documents loaded (test/e2e/prefetch.test.ts); writes never.
    const writes: string[] = [];
    const decide = world.kazoo.faults.decide.bind(world.kazoo.faults);
    world.kazoo.faults.decide = (m, p) => {
      if (m !== 'GET' && !p.endsWith('/api_auth')) writes.push(`${m} ${p}`);
      return decide(m, p);
    };
    const r = await world.cli(['plan']);
    expect(r.code).toBe(3);
    expect(r.err).toContain('connectivity/bad.yaml:3:10: error:');
    expect(r.out).not.toMatch(/Plan:|No changes/);
    expect(writes).toEqual([]);
  });

  it.each([
    [
      '--account',
      ['plan', '--account', 'deadbeefdeadbeefdeadbeefdeadbeef'],
      'no document declares this account',
    ],
    [
      '--account on drift',
      ['drift', '--account', 'deadbeefdeadbeefdeadbeefdeadbeef'],
      'no document declares this account',
    ],
    ['--target', ['plan', '--target', 'kazoo-prd'], 'the config has no such target'],
  ])(
    'a selector that matches nothing (%s) is a usage error before any request',
    async (_n, argv, message) => {
      const before = world.kazoo.requestCount();
      const r = await world.cli(argv);
      expect(r.code, r.err).toBe(64);
      expect(r.err).toContain(message);
      expect(world.kazoo.requestCount()).toBe(before);
    },
  );

  it('--only that matches nothing is a usage error, and nothing is written', async () => {
    const r = await world.cli(['apply', '--yes', '--only', 'no-such-*']);
    expect(r.code, r.err).toBe(64);
    expect(r.err).toContain('--only');
    for (const a of Object.values(ACCOUNTS)) expect(liveDocs(a)).toEqual([]);
  });

  it('plan counts the documents’ warnings in one line; known_fields silences one field', async () => {
    const doc = join(world.dir, 'connectivity/initech/main.yaml');
    const text = await readFile(doc, 'utf8');
    await writeFile(
      doc,
      text.replace('inbound_format: e164', 'inbound_format: e164\n        x_routing_hint: blue'),
    );
    const plan = await world.cli(['plan']);
    expect(plan.err).toContain(
      'connops: 1 warning in the documents; run `connops validate` for details\n',
    );
    expect(plan.err).not.toContain('x_routing_hint');
    expect((await world.cli(['validate'])).out).toContain('unknown field "x_routing_hint"');
    const config = join(world.dir, 'connops.yaml');
    await writeFile(
      config,
      (await readFile(config, 'utf8')).replace(
        '    concurrency: 8',
        '    concurrency: 8\n    known_fields: [/servers/*/options/x_routing_hint]',
      ),
    );
    const validate = await world.cli(['validate']);
    expect(validate.out, validate.err).toMatch(/^OK: /m);
    expect((await world.cli(['plan'])).err).not.toContain('warning');
  });

  it('usage mistakes exit 64 with one line and where to read more', async () => {
    const r = await world.cli(['plan', '--frobnicate']);
    expect(r.code).toBe(64);
    expect(r.err).toBe("connops: unknown option --frobnicate\nsee 'connops plan --help'\n");
  });
});

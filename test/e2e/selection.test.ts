/**
 * Selections (INVARIANTS.md 12) and saved plans (INVARIANTS.md 10, 11) on the
 * CLI in-process against both emulators: `--only` that matches nothing is a
 * usage error, a plan saved with `--only` applies only its selection, and an
 * incomplete saved plan is refused without a request.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACCOUNTS, startWorld, type World } from '../helpers/world.ts';

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await world.close();
});

const liveNames = (account: string): string[] =>
  (world.kazoo.dump().docs?.[account] ?? [])
    .filter((d) => !d['pvt_deleted'])
    .map((d) => String(d['name']))
    .sort();

describe('--only', () => {
  it('that matches nothing is a usage error (64) for plan and apply', async () => {
    const plan = await world.cli(['plan', '--only', 'no-such-trunk']);
    expect(plan.code).toBe(64);
    expect(plan.err).toContain('--only no-such-trunk matches no document in the plan');
    const apply = await world.cli(['apply', '--yes', '--only', 'no-such-trunk']);
    expect(apply.code).toBe(64);
    expect(liveNames(ACCOUNTS.acme)).toEqual([]);
  });

  it('plan --only X --out p.json records the selection, and apply p.json applies only it', async () => {
    const plan = await world.cli(['plan', '--only', 'acme-main', '--out', 'p.json']);
    expect(plan.code, plan.err).toBe(0);
    expect(plan.out).toContain('Plan: 1 to create, 0 to update, 0 to delete; 0 unchanged.');
    const saved = JSON.parse(await readFile(join(world.dir, 'p.json'), 'utf8')) as {
      meta: { selection: { only: string[] } };
      writes: { address: string }[];
      changes: unknown[];
    };
    expect(saved.meta.selection.only).toEqual(['acme-main']);
    expect(saved.changes).toHaveLength(1);
    expect(saved.writes.map((w) => w.address.split('/').pop())).toEqual(['acme-main']);

    const apply = await world.cli(['apply', 'p.json', '--yes']);
    expect(apply.code, apply.err).toBe(0);
    expect(apply.out).toContain('Apply: 1 created, 0 updated, 0 deleted, 0 failed, 0 skipped.');
    expect(liveNames(ACCOUNTS.acme)).toEqual(['acme-main']);
    expect(liveNames(ACCOUNTS.globex)).toEqual([]);

    // Another --only on top of a saved selection is refused: the plan says what applies.
    const again = await world.cli(['apply', 'p.json', '--yes', '--only', 'globex-fax']);
    expect(again.code).toBe(64);
  });
});

describe('saved plans', () => {
  it('an incomplete saved plan is refused without reading or writing anything', async () => {
    await world.cli(['plan', '--out', 'p.json']);
    const p = JSON.parse(await readFile(join(world.dir, 'p.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    await writeFile(
      join(world.dir, 'p.json'),
      JSON.stringify({ ...p, complete: false, incomplete: ['cannot read account x'] }),
    );
    const before = world.kazoo.requestCount();
    const r = await world.cli(['apply', 'p.json', '--yes']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('is an INCOMPLETE plan (cannot read account x)');
    expect(world.kazoo.requestCount()).toBe(before);
  });

  it('--expect-fingerprint uses the same definition as the saved plan', async () => {
    const saved = await world.cli(['plan', '--format', 'json']);
    const fp = (JSON.parse(saved.out) as { fingerprint: string }).fingerprint;
    const r = await world.cli(['apply', '--yes', '--expect-fingerprint', fp]);
    expect(r.code, r.err).toBe(0);
  });
});

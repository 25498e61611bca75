/**
 * End-to-end: the plan in numbers (INVARIANTS.md 5) and one place per DID in a
 * target (INVARIANTS.md 2), through the CLI in-process against the Kazoo
 * emulator over loopback.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PlanJson } from '../../src/core/render-plan.ts';
import { ACCOUNTS, PASSWORDS, startWorld, type World } from '../helpers/world.ts';

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  await world.close();
});

async function edit(file: string, from: string, to: string): Promise<void> {
  const path = join(world.dir, 'connectivity', file);
  const text = await readFile(path, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} has no ${JSON.stringify(from)}`);
  await writeFile(path, text.replace(from, to));
}

const WANT = [
  '+ route +14155550103 → acme-main / pbx-hq-1',
  '- unroute +14155550100 (was acme-main / pbx-hq-1)',
  '~ move +15125550171: initech-main / initech-pbx → acme-denver / sbc-denver',
  '~ +14155550102 failover e164 +14155550199 → +14155550198 (acme-main / pbx-hq-1)',
];

describe('numbers in the plan', () => {
  it('a route, an unroute, a move across accounts and a failover change, in text, Markdown and JSON', async () => {
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
    await edit('acme/main.yaml', "        '+14155550100': {}\n", "        '+14155550103': {}\n");
    await edit(
      'acme/main.yaml',
      "failover: { e164: '+14155550199' }",
      "failover: { e164: '+14155550198' }",
    );
    await edit('acme/main.yaml', 'progress_timeout: 6', 'progress_timeout: 8');
    await edit('initech/main.yaml', "        '+15125550171': {}\n", '');
    await edit(
      'acme/branch.yaml',
      "        '+13035550141': {}\n",
      "        '+13035550141': {}\n        '+15125550171': {}\n",
    );
    expect((await world.cli(['validate'])).code).toBe(0);
    // Moving a number between accounts is a number-manager move first (§12): the
    // plan checks that acme now owns it.
    world.kazoo.setNumberOwner('+15125550171', ACCOUNTS.acme);

    const text = await world.cli(['plan']);
    expect(text.code, text.err).toBe(0);
    const lines = text.out.split('\n');
    expect(lines[0]).toBe('Numbers: 1 to route, 1 to unroute, 1 to move, 1 with changed options.');
    for (const w of WANT)
      expect(
        lines.some((l) => l.startsWith(`  ${w}`)),
        w,
      ).toBe(true);
    expect(text.out).toContain('    ~ servers[pbx-hq-standby].options.progress_timeout: 6 → 8');
    expect(text.out).not.toMatch(/DIDs|\/servers\/\d/);

    const md = await world.cli(['plan', '--format', 'markdown']);
    expect(md.code).toBe(0);
    for (const w of WANT) expect(md.out).toContain(w);
    expect(md.out.indexOf(WANT[0] as string)).toBeLessThan(md.out.indexOf('| action |'));

    const json = await world.cli(['plan', '--format', 'json']);
    const plan = JSON.parse(json.out) as PlanJson;
    expect(plan.format_version).toBe('1');
    expect(
      (plan.numbers ?? []).map((n) => [
        n.did,
        n.action,
        n.from?.account ?? null,
        n.to?.account ?? null,
      ]),
    ).toEqual([
      ['+14155550103', 'route', null, ACCOUNTS.acme],
      ['+14155550100', 'unroute', ACCOUNTS.acme, null],
      ['+15125550171', 'move', ACCOUNTS.initech, ACCOUNTS.acme],
      ['+14155550102', 'change', ACCOUNTS.acme, ACCOUNTS.acme],
    ]);
    for (const out of [text.out, md.out, json.out])
      for (const secret of Object.values(PASSWORDS)) expect(out).not.toContain(secret);

    // Applied, the numbers view is empty again.
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
    const again = await world.cli(['plan', '--format', 'json']);
    expect((JSON.parse(again.out) as PlanJson).numbers).toEqual([]);
  });

  it('a DID in documents of two accounts of one target fails validate and plan, naming both places', async () => {
    await edit(
      'acme/branch.yaml',
      "        '+13035550141': {}\n",
      "        '+13035550141': {}\n        '+15125550170': {}\n",
    );
    for (const command of ['validate', 'plan']) {
      const r = await world.cli([command]);
      expect(r.code, command).toBe(3); // invalid input
      // Files are read in path order, so acme/branch.yaml holds the first use.
      expect(r.out + r.err).toMatch(
        /connectivity\/initech\/main\.yaml:14:9: error: DID \+15125550170 is already routed by "acme-denver" servers\[0\] \(connectivity\/acme\/branch\.yaml:\d+:\d+\) in account 3f2a9c0e8b7d4e1fa6c5b4d3e2f1a0b9; a DID may appear in only one document per target/,
      );
    }
  });
});

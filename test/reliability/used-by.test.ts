/**
 * The number manager agrees afterwards (INVARIANTS.md item 4; issue 25 item 1):
 * after an apply, every number it added, moved or removed has `used_by:
 * trunkstore` when an enabled server of a live document holds it and no
 * `used_by` when none does. Kazoo's own writes do not get there (the emulator
 * models them, src/emulator/kazoo/numbers.ts: PUT does not mark, a claim-first
 * move ends cleared); connops' one `POST /phone_numbers/fix` per touched
 * account does. Against the Kazoo emulator over loopback, numbers seeded in its
 * number manager.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FaultDecision } from '../../src/emulator/faults.ts';
import { ACCOUNTS, startWorld, useFastRetries, type World } from '../helpers/world.ts';

const config = (extra: readonly string[] = []): string =>
  [
    'targets:',
    '  kazoo-prod:',
    '    type: kazoo',
    '    url: ${env:KAZOO_URL}',
    "    schema: '4.3'",
    '    insecure_http: true',
    ...extra.map((l) => `    ${l}`),
    '    auth:',
    '      api_key: ${env:KAZOO_API_KEY}',
    'documents: [docs/*.yaml]',
    'policy: { prune: true, max_changes: 1000, max_deletes: 100 }',
    '',
  ].join('\n');

const did = (n: number) => `+1415555${String(3000 + n)}`;

interface Doc {
  readonly name: string;
  readonly account: 'acme' | 'globex';
  readonly dids: readonly number[];
  /** DIDs on a second server with `enabled: false` (fix does not count them as used). */
  readonly disabled?: readonly number[];
}

function docsYaml(docs: readonly Doc[]): string {
  return (
    docs
      .map((d, i) =>
        [
          'kind: kazoo/connectivity',
          'target: kazoo-prod',
          `account: ${ACCOUNTS[d.account]}`,
          `name: ${d.name}`,
          'spec:',
          '  servers:',
          `    - name: pbx-${d.name}`,
          `      auth: { auth_method: ip, ip: 198.51.100.${i + 1} }`,
          `      DIDs: {${d.dids.map((n) => ` '${did(n)}': {}`).join(',')} }`,
          '      options: { inbound_format: e164 }',
          ...(d.disabled
            ? [
                `    - name: pbx-${d.name}-standby`,
                '      enabled: false',
                `      auth: { auth_method: ip, ip: 203.0.113.${i + 1} }`,
                `      DIDs: {${d.disabled.map((n) => ` '${did(n)}': {}`).join(',')} }`,
                '      options: { inbound_format: e164 }',
              ]
            : []),
        ].join('\n'),
      )
      .join('\n---\n') + '\n'
  );
}

/** used_by of each number (undefined: none). */
function usedBy(w: World, numbers: readonly number[]): Record<string, string | undefined> {
  return Object.fromEntries(numbers.map((n) => [did(n), w.kazoo.number(did(n))?.used_by]));
}

/** Counts the fix requests per path while `fn` runs. */
async function countFixes<T>(
  w: World,
  fn: () => Promise<T>,
): Promise<{ result: T; fixes: string[] }> {
  const injector = w.kazoo.faults;
  const decide = injector.decide.bind(injector);
  const fixes: string[] = [];
  injector.decide = (method: string, path: string): FaultDecision => {
    if (path.includes('/phone_numbers/fix')) fixes.push(`${method} ${path}`);
    return decide(method, path);
  };
  try {
    return { result: await fn(), fixes };
  } finally {
    injector.decide = decide;
  }
}

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A world whose number manager holds did(1..9): 1-6 and 9 assigned to acme, 7-8 to globex. */
async function numbersWorld(extra: readonly string[] = []): Promise<World> {
  useFastRetries();
  world = await startWorld({
    files: { 'connops.yaml': config(extra), 'docs/trunks.yaml': docsYaml([]) },
  });
  for (const n of [1, 2, 3, 4, 5, 6, 9])
    world.kazoo.addNumber(did(n), { assigned_to: ACCOUNTS.acme });
  for (const n of [7, 8]) world.kazoo.addNumber(did(n), { assigned_to: ACCOUNTS.globex });
  return world;
}

/**
 * v1 applied, then its numbers marked as they should be whatever the first
 * apply did: each later test then fails on its own step alone when the fix is missing.
 */
async function v1Applied(w: World): Promise<void> {
  const first = await apply(w, v1);
  expect(first.result.code, first.result.out + first.result.err).toBe(0);
  for (const n of [1, 2, 3, 4])
    w.kazoo.addNumber(did(n), { assigned_to: ACCOUNTS.acme, used_by: 'trunkstore' });
  w.kazoo.addNumber(did(7), { assigned_to: ACCOUNTS.globex, used_by: 'trunkstore' });
}

async function apply(w: World, docs: readonly Doc[]) {
  await writeFile(join(w.dir, 'docs/trunks.yaml'), docsYaml(docs));
  return countFixes(w, () => w.cli(['apply', '--yes']));
}

const T = 'trunkstore';
const v1: Doc[] = [
  { name: 'a', account: 'acme', dids: [1, 2], disabled: [9] },
  { name: 'b', account: 'acme', dids: [3, 4] },
  { name: 'g', account: 'globex', dids: [7] },
];

describe('used_by after an apply (INVARIANTS.md item 4)', () => {
  it('creates: every DID of an enabled server is marked trunkstore, one fix per account', async () => {
    const w = await numbersWorld();
    const { result, fixes } = await apply(w, v1);
    expect(result.code, result.out + result.err).toBe(0);
    // PUT alone marks nothing (cb_connectivity tracks POST/PATCH/DELETE only).
    expect(usedBy(w, [1, 2, 3, 4, 7, 9])).toEqual({
      [did(1)]: T,
      [did(2)]: T,
      [did(3)]: T,
      [did(4)]: T,
      [did(7)]: T,
      // On a disabled server: not used (trunkstore's lookup_did view skips it).
      [did(9)]: undefined,
    });
    expect(fixes.sort()).toEqual(
      [ACCOUNTS.acme, ACCOUNTS.globex]
        .map((a) => `POST /v2/accounts/${a}/phone_numbers/fix`)
        .sort(),
    );
    expect(result.out).toMatch(/✓ numbers of account \w+ on kazoo-prod: used_by recomputed/);
  });

  it('a move inside an account (claim, then release) ends marked, not cleared', async () => {
    const w = await numbersWorld();
    await v1Applied(w);
    const { result, fixes } = await apply(w, [
      { name: 'a', account: 'acme', dids: [1], disabled: [9] },
      { name: 'b', account: 'acme', dids: [3, 4, 2] },
      v1[2] as Doc,
    ]);
    expect(result.code, result.out + result.err).toBe(0);
    expect(usedBy(w, [1, 2, 3, 4])).toEqual({ [did(1)]: T, [did(2)]: T, [did(3)]: T, [did(4)]: T });
    // Only the account whose numbers moved.
    expect(fixes).toEqual([`POST /v2/accounts/${ACCOUNTS.acme}/phone_numbers/fix`]);
  });

  it('a rename without a pinned id (create first, then delete) ends marked', async () => {
    const w = await numbersWorld();
    await v1Applied(w);
    const { result } = await apply(w, [
      { name: 'a-renamed', account: 'acme', dids: [1, 2], disabled: [9] },
      v1[1] as Doc,
      v1[2] as Doc,
    ]);
    expect(result.code, result.out + result.err).toBe(0);
    expect(usedBy(w, [1, 2, 9])).toEqual({ [did(1)]: T, [did(2)]: T, [did(9)]: undefined });
  });

  it('a move across accounts of one target, and a delete: each number ends right', async () => {
    const w = await numbersWorld();
    await v1Applied(w);
    // The operator gives +…3004 to globex first (a number routes only where it is assigned).
    w.kazoo.setNumberOwner(did(4), ACCOUNTS.globex);
    const { result, fixes } = await apply(w, [
      { name: 'a', account: 'acme', dids: [1, 2], disabled: [9] },
      // b deleted: +…3003 in no document any more; +…3004 moves to a new globex trunk.
      v1[2] as Doc,
      { name: 'g2', account: 'globex', dids: [4, 8] },
    ]);
    expect(result.code, result.out + result.err).toBe(0);
    expect(usedBy(w, [1, 2, 3, 4, 7, 8])).toEqual({
      [did(1)]: T,
      [did(2)]: T,
      [did(3)]: undefined,
      [did(4)]: T,
      [did(7)]: T,
      [did(8)]: T,
    });
    expect(fixes.sort()).toEqual(
      [ACCOUNTS.acme, ACCOUNTS.globex]
        .map((a) => `POST /v2/accounts/${a}/phone_numbers/fix`)
        .sort(),
    );
  });

  it('an apply that moves no number makes no fix request', async () => {
    const w = await numbersWorld();
    await v1Applied(w);
    const text = docsYaml(v1).replace(
      'options: { inbound_format: e164 }',
      'options: { inbound_format: npan }',
    );
    await writeFile(join(w.dir, 'docs/trunks.yaml'), text);
    const { result, fixes } = await countFixes(w, () => w.cli(['apply', '--yes']));
    expect(result.code, result.out + result.err).toBe(0);
    expect(result.out).toContain('1 updated');
    expect(fixes).toEqual([]);
  });

  it('the fix failing is reported with exit 1; the writes stand', async () => {
    const w = await numbersWorld();
    w.kazoo.faults.update({
      script: [
        { method: 'POST', path: '/phone_numbers/fix', action: 'status', status: 500, times: 50 },
      ],
    });
    const { result } = await apply(w, v1);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(
      /✗ numbers of account \w+ on kazoo-prod: Cannot fix kazoo\/phone_numbers/,
    );
    expect(result.out).toContain('The writes stand (nothing was undone)');
    expect(result.err).toMatch(
      /the writes were applied, but used_by could not be recomputed in 2 accounts/,
    );
    expect(result.out).toContain('Apply: 3 created, 0 updated, 0 deleted, 0 failed, 0 skipped.');
    w.kazoo.faults.update({});
    const again = await w.cli(['plan', '--detailed-exitcode']);
    expect(again.code, again.out).toBe(0);
  });

  it('fix_numbers: false turns it off, and says so', async () => {
    const w = await numbersWorld(['fix_numbers: false']);
    const { result, fixes } = await apply(w, v1);
    expect(result.code, result.out + result.err).toBe(0);
    expect(fixes).toEqual([]);
    expect(result.out).toContain('not recomputed (fix_numbers: false)');
    // What the user gives up: Kazoo's PUT left the created numbers unmarked.
    expect(usedBy(w, [1, 7])).toEqual({ [did(1)]: undefined, [did(7)]: undefined });
  });
});

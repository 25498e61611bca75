/**
 * Pull-request plans of the changed accounts only (issue 24 item 1), on the
 * bundle (dist/action.js; `npm run build` first) in a real git workspace: the
 * PR's files are compared with its base commit, only the accounts they touch
 * are read (counted on the Kazoo emulator, per account path), the comment says
 * so, `scope: all` reads everything, and apply on merge re-plans and writes
 * exactly the reviewed scope, also for a second PR merged after the first.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FaultDecision } from '../../src/emulator/faults.ts';
import {
  ACCOUNTS,
  DIST_ACTION,
  pullRequestPayload,
  pushPayload,
  startActionWorld,
  type ActionWorld,
} from '../helpers/action-runner.ts';

let world: ActionWorld;
beforeAll(() => {
  if (!existsSync(DIST_ACTION))
    throw new Error('dist/action.js is missing: run `npm run build` first');
});
beforeEach(async () => {
  world = await startActionWorld();
});
afterEach(async () => {
  await world.close();
});

async function edit(rel: string, from: string, to: string): Promise<void> {
  const path = join(world.project, rel);
  const text = await readFile(path, 'utf8');
  if (!text.includes(from)) throw new Error(`${rel} has no "${from}"`);
  await writeFile(path, text.replace(from, to));
}

/** The Kazoo accounts whose paths the emulator was asked about while `fn` ran. */
async function accountsRead<T>(fn: () => Promise<T>): Promise<{ result: T; read: Set<string> }> {
  const injector = world.kazoo.faults;
  const decide = injector.decide.bind(injector);
  const read = new Set<string>();
  injector.decide = (method: string, path: string): FaultDecision => {
    const m = /\/accounts\/([0-9a-f]{32})\//.exec(path);
    if (m?.[1]) read.add(m[1]);
    return decide(method, path);
  };
  try {
    return { result: await fn(), read };
  } finally {
    injector.decide = decide;
  }
}

function prPlan(number: number, headSha: string, inputs: Record<string, string> = {}) {
  return world.runAction({
    eventName: 'pull_request',
    // scope '' is the Action's default (the runner sets `all` for the other tests).
    inputs: { command: 'plan', scope: '', ...inputs },
    payload: pullRequestPayload({
      number,
      headSha,
      repository: world.github.repository,
      baseSha: world.baseSha,
    }),
    sha: 'e'.repeat(40),
    ref: `refs/pull/${number}/merge`,
  });
}

function merged(pr: number, merge: string, before: string) {
  world.github.pullsByCommit.set(merge, [
    { number: pr, state: 'closed', merged_at: '2026-01-02T00:00:00Z', merge_commit_sha: merge },
  ]);
  return world.runAction({
    eventName: 'push',
    inputs: { command: 'apply' },
    payload: pushPayload({ sha: merge, before, repository: world.github.repository }),
    sha: merge,
    ref: 'refs/heads/main',
  });
}

const planComment = (issue: number): string =>
  world.github.comments.find((c) => c.issue === issue && c.body.includes('<!-- connops:plan '))
    ?.body ?? '';

/** Names of the live (not deleted) Kazoo documents of an account. */
function liveNames(account: string): string[] {
  return (world.kazoo.dump().docs?.[account] ?? [])
    .filter((d) => d['pvt_deleted'] !== true)
    .map((d) => String(d['name']))
    .sort();
}

describe('pull_request plans of the changed accounts (issue 24 item 1)', () => {
  it('reads only the account a PR changes, says so, and scope: all reads every account', async () => {
    await world.git('checkout', '-q', '-b', 'pr1');
    await edit('connectivity/acme/main.yaml', 'trunks: 20', 'trunks: 24');
    const p1 = await world.commit('acme: 24 trunks');

    const all = await accountsRead(() => prPlan(7, p1, { scope: 'all' }));
    expect(all.result.code, all.result.stdout + all.result.stderr).toBe(0);
    expect([...all.read].sort()).toEqual(Object.values(ACCOUNTS).sort());
    expect(planComment(7)).not.toContain('Planned 1 of');

    const scoped = await accountsRead(() => prPlan(7, p1));
    expect(scoped.result.code, scoped.result.stdout + scoped.result.stderr).toBe(0);
    expect([...scoped.read]).toEqual([ACCOUNTS.acme]);
    const body = planComment(7);
    expect(body).toMatch(/Planned 1 of \d+ accounts: the ones changed since [0-9a-f]{12}/);
    expect(body).toContain('planned=accounts sha=');
    // Only acme's documents are in the plan.
    expect(body).toContain('acme-');
    expect(body).not.toContain('globex-primary');
    // The fingerprints differ: the scope is part of what was reviewed.
    expect(scoped.result.outputs['fingerprint']).not.toBe(all.result.outputs['fingerprint']);
  });

  it('apply on merge writes only the reviewed scope; a second PR merged after the first applies too', async () => {
    // Two PRs cut from the same base: PR 7 changes acme, PR 8 globex.
    await world.git('checkout', '-q', '-b', 'pr1');
    await edit('connectivity/acme/main.yaml', 'trunks: 20', 'trunks: 24');
    const p1 = await world.commit('acme: 24 trunks');
    const plan7 = await prPlan(7, p1);
    expect(plan7.code, plan7.stdout + plan7.stderr).toBe(0);

    await world.git('checkout', '-q', '-b', 'pr2', world.baseSha);
    await edit('connectivity/globex/trunks.yaml', 'inbound_format: npan', 'inbound_format: e164');
    const p2 = await world.commit('globex: e164');
    const plan8 = await prPlan(8, p2);
    expect(plan8.code, plan8.stdout + plan8.stderr).toBe(0);
    expect(planComment(8)).toMatch(/Planned 1 of \d+ accounts/);

    // PR 7 merges first.
    await world.git('checkout', '-q', 'main');
    await world.git('merge', '-q', '--no-ff', '-m', 'Merge pull request #7', 'pr1');
    const m1 = await world.git('rev-parse', 'HEAD');
    const apply7 = await accountsRead(() => merged(7, m1, world.baseSha));
    expect(apply7.result.code, apply7.result.stdout + apply7.result.stderr).toBe(0);
    expect(apply7.result.stdout).toContain('The plan matches the one reviewed in #7');
    expect([...apply7.read]).toEqual([ACCOUNTS.acme]);
    expect(liveNames(ACCOUNTS.acme).length).toBeGreaterThan(0);
    expect(liveNames(ACCOUNTS.globex)).toEqual([]);
    expect(liveNames(ACCOUNTS.initech)).toEqual([]);

    // Then PR 8, reviewed before PR 7 merged: its own changes only.
    await world.git('merge', '-q', '--no-ff', '-m', 'Merge pull request #8', 'pr2');
    const m2 = await world.git('rev-parse', 'HEAD');
    const apply8 = await accountsRead(() => merged(8, m2, m1));
    expect(apply8.result.code, apply8.result.stdout + apply8.result.stderr).toBe(0);
    expect(apply8.result.stdout).toContain('The plan matches the one reviewed in #8');
    expect([...apply8.read]).toEqual([ACCOUNTS.globex]);
    expect(liveNames(ACCOUNTS.globex)).toEqual(['globex-fax', 'globex-primary']);
    expect(liveNames(ACCOUNTS.initech)).toEqual([]);
  });

  it('a push whose previous commit is not in the checkout plans everything, and apply refuses the scoped review', async () => {
    await world.git('checkout', '-q', '-b', 'pr1');
    await edit('connectivity/acme/main.yaml', 'trunks: 20', 'trunks: 24');
    const p1 = await world.commit('acme: 24 trunks');
    expect((await prPlan(7, p1)).code).toBe(0);
    await world.git('checkout', '-q', 'main');
    await world.git('merge', '-q', '--no-ff', '-m', 'Merge pull request #7', 'pr1');
    const m1 = await world.git('rev-parse', 'HEAD');
    const r = await merged(7, m1, 'a'.repeat(40));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('planning every account instead of only the changed ones');
    expect(r.stdout + r.stderr).toMatch(/differs from the one reviewed in #7/);
    expect(liveNames(ACCOUNTS.acme)).toEqual([]);
  });
});

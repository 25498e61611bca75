/**
 * The review gate as teams live with it (issue 20), each scenario run on the
 * bundled Action (dist/action.js) as the runner runs it, against the emulators
 * and the loopback fake GitHub. Build first: `npm run build`.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCOUNTS,
  ALL_SECRETS,
  DIST_ACTION,
  GITHUB_TOKEN,
  SECRETS,
  pullRequestPayload,
  pushPayload,
  startActionWorld,
  withoutMaskCommands,
  type ActionWorld,
} from '../helpers/action-runner.ts';

const SHA_A = 'a1'.repeat(20);
const SHA_B = 'b2'.repeat(20);
const MERGE_A = 'ca'.repeat(20);
const MERGE_B = 'cb'.repeat(20);

let world: ActionWorld;

beforeAll(() => {
  if (!existsSync(DIST_ACTION))
    throw new Error('dist/action.js is missing: run `npm run build` first');
});
beforeEach(async () => {
  world = await startActionWorld();
});
afterEach(async () => {
  for (const r of world.results) {
    const visible = [withoutMaskCommands(r.stdout), r.stderr, r.summary, r.outputsText].join('\n');
    for (const s of ALL_SECRETS) expect(visible).not.toContain(s);
  }
  for (const req of world.github.requests) {
    expect([`Bearer ${GITHUB_TOKEN}`, `token ${GITHUB_TOKEN}`]).toContain(req.authorization);
    for (const s of ALL_SECRETS) expect(req.body).not.toContain(s);
  }
  await world.close();
});

const file = (rel: string): string => join(world.project, rel);
async function edit(rel: string, from: string, to: string): Promise<void> {
  const text = await readFile(file(rel), 'utf8');
  if (!text.includes(from)) throw new Error(`${rel} has no "${from}"`);
  await writeFile(file(rel), text.replace(from, to));
}

function prPlan(sha: string, number = 7, inputs: Record<string, string> = {}) {
  return world.runAction({
    eventName: 'pull_request',
    inputs: { command: 'plan', ...inputs },
    payload: pullRequestPayload({
      number,
      headSha: sha,
      repository: world.github.repository,
      baseSha: world.baseSha,
    }),
    sha: 'e'.repeat(40),
    ref: `refs/pull/${number}/merge`,
  });
}

function merged(pr: number, merge: string) {
  world.github.pullsByCommit.set(merge, [
    { number: pr, state: 'closed', merged_at: '2026-01-02T00:00:00Z', merge_commit_sha: merge },
  ]);
  return world.runAction({
    eventName: 'push',
    inputs: { command: 'apply' },
    payload: pushPayload({ sha: merge, repository: world.github.repository }),
    sha: merge,
    ref: 'refs/heads/main',
  });
}

const planComments = (issue: number) =>
  world.github.comments.filter((c) => c.issue === issue && c.body.includes('<!-- connops:plan '));
const applyComments = (issue: number) =>
  world.github.comments.filter((c) => c.issue === issue && c.body.includes('<!-- connops:apply '));

async function liveDoc(account: string, name: string): Promise<Record<string, unknown>> {
  const id = await world.kazooIdOf(account, name);
  const res = await world.kazooApi('GET', `/accounts/${account}/connectivity/${id}`);
  return (res.json as { data: Record<string, unknown> }).data;
}

describe('fork and Dependabot PRs: secrets set to ""', () => {
  const empty = (): Record<string, string> => ({
    ...Object.fromEntries(Object.keys(SECRETS).map((k) => [k, ''])),
    KAZOO_API_KEY: '',
    CLOUDFLARE_API_TOKEN: '',
  });

  it('fork PR: validates every document, names the missing variables, calls no API, exits 0', async () => {
    const r = await world.runAction({
      eventName: 'pull_request',
      inputs: { command: 'plan' },
      payload: pullRequestPayload({
        number: 9,
        headSha: SHA_A,
        repository: world.github.repository,
        headRepository: 'mallory/telecom',
        baseSha: world.baseSha,
      }),
      withoutSecrets: true,
      extraEnv: empty(),
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toContain('::error');
    expect(r.stdout).toMatch(
      /^::notice::connops: documents validated; plan skipped because it needs secrets: this pull request comes from a fork.* Not set \(or empty\): ACME_STANDBY_PASSWORD, ACME_TRUNK_PASSWORD, CLOUDFLARE_API_TOKEN, GLOBEX_FAX_PASSWORD, INITECH_TRUNK_PASSWORD, KAZOO_API_KEY\./m,
    );
    expect(r.summary).toContain('**OK:** 8 documents');
    expect(world.github.requests).toHaveLength(0);
    expect(world.kazoo.requestCount()).toBe(0);
  });

  it('still reports a real mistake in a fork PR', async () => {
    await edit('connectivity/acme/main.yaml', 'trunks: 20', 'trunks: lots');
    const r = await world.runAction({
      eventName: 'pull_request',
      inputs: { command: 'plan' },
      payload: pullRequestPayload({
        number: 9,
        headSha: SHA_A,
        repository: world.github.repository,
        headRepository: 'mallory/telecom',
        baseSha: world.baseSha,
      }),
      withoutSecrets: true,
      extraEnv: empty(),
    });
    expect(r.code).toBe(3);
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error'));
    // One annotation for the mistake and the step's failure: nothing about the empty secrets.
    expect(errors.filter((l) => l.includes('file=')).length).toBe(1);
    expect(errors.join('\n')).toContain('infra/connectivity/acme/main.yaml');
    expect(errors.join('\n')).not.toMatch(/auth_password|needs "token"/);
    expect(world.github.requests).toHaveLength(0);
  });
});

describe('apply after merge: the fingerprint is the change set', () => {
  beforeEach(async () => {
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
  });

  it('an unrelated live edit after the review (an ignored field in another account) does not block the apply', async () => {
    await edit('connectivity/acme/main.yaml', 'trunks: 20', 'trunks: 24');
    expect((await prPlan(SHA_A)).code).toBe(0);
    // MonsterUI sets globex-primary's ignored hunt_account_id: another account, no write.
    const doc = await liveDoc(ACCOUNTS.globex, 'globex-primary');
    const servers = doc['servers'] as { options: Record<string, unknown> }[];
    (servers[0] as { options: Record<string, unknown> }).options['hunt_account_id'] = 'f'.repeat(
      32,
    );
    const id = await world.kazooIdOf(ACCOUNTS.globex, 'globex-primary');
    const res = await world.kazooApi('PATCH', `/accounts/${ACCOUNTS.globex}/connectivity/${id}`, {
      data: { servers },
    });
    expect(res.status).toBe(200);

    const r = await merged(7, MERGE_A);
    expect(r.code, r.stdout + r.summary).toBe(0);
    expect(r.summary).toContain('The plan matches the one reviewed in #7.');
    expect(
      ((await liveDoc(ACCOUNTS.acme, 'acme-main'))['account'] as { trunks: number }).trunks,
    ).toBe(24);
  });

  it('a second PR planned from the same main, merged after the first, with disjoint writes, applies', async () => {
    await edit('connectivity/acme/main.yaml', 'trunks: 20', 'trunks: 24');
    expect((await prPlan(SHA_A, 7)).code).toBe(0);
    await edit('connectivity/acme/main.yaml', 'trunks: 24', 'trunks: 20');
    await edit('connectivity/initech/main.yaml', 'delay: 0', 'delay: 2');
    expect((await prPlan(SHA_B, 8)).code).toBe(0);
    // main after merging #7: only its change.
    await edit('connectivity/initech/main.yaml', 'delay: 2', 'delay: 0');
    await edit('connectivity/acme/main.yaml', 'trunks: 20', 'trunks: 24');
    const first = await merged(7, MERGE_A);
    expect(first.code, first.summary).toBe(0);
    // main after merging #8 as well.
    await edit('connectivity/initech/main.yaml', 'delay: 0', 'delay: 2');
    const second = await merged(8, MERGE_B);
    expect(second.code, second.stdout + second.summary).toBe(0);
    expect(second.summary).toContain('The plan matches the one reviewed in #8.');
    expect(applyComments(8)[0]?.body).toContain('**Applied:** 0 created, 1 updated');
    const servers = (await liveDoc(ACCOUNTS.initech, 'initech-main'))['servers'] as {
      options: { delay: number };
    }[];
    expect(servers[0]?.options.delay).toBe(2);
  });

  it('two PRs that change the same object: the second is refused, with the reason, on the PR', async () => {
    await edit('connectivity/acme/main.yaml', 'trunks: 20', 'trunks: 24');
    expect((await prPlan(SHA_A, 7)).code).toBe(0);
    await edit('connectivity/acme/main.yaml', 'trunks: 24', 'trunks: 20');
    await edit('connectivity/acme/main.yaml', 'cid_name: ACME Corp', 'cid_name: ACME Inc');
    expect((await prPlan(SHA_B, 8)).code).toBe(0);
    await edit('connectivity/acme/main.yaml', 'cid_name: ACME Inc', 'cid_name: ACME Corp');
    await edit('connectivity/acme/main.yaml', 'trunks: 20', 'trunks: 24');
    expect((await merged(7, MERGE_A)).code).toBe(0);
    await edit('connectivity/acme/main.yaml', 'cid_name: ACME Corp', 'cid_name: ACME Inc');
    const second = await merged(8, MERGE_B);
    expect(second.code).toBe(1);
    expect(second.summary).toMatch(
      /"acme-main" \(account [0-9a-f]+, target kazoo-prod\): update changed: the live object changed since the review \(revision \S+ → \S+\)\./,
    );
    const told = applyComments(8)[0]?.body ?? '';
    expect(told).toContain('**Apply refused**; nothing was written.');
    expect(told).toContain('"acme-main"');
    expect(
      (
        (await liveDoc(ACCOUNTS.acme, 'acme-main'))['account'] as {
          caller_id: { cid_name: string };
        }
      ).caller_id.cid_name,
    ).toBe('ACME Corp');
  });
});

describe('incomplete plans are loud', () => {
  const BOGUS = 'deadbeef'.repeat(4);
  beforeEach(async () => {
    // A mistyped account id: that account cannot be read.
    await writeFile(
      file('connectivity/typo.yaml'),
      `kind: kazoo/connectivity\ntarget: kazoo-prod\naccount: ${BOGUS}\nname: typo-trunk\nspec:\n  servers: []\n`,
    );
  });

  it('in the comment, the JSON plan, the exit code, drift and report merge', async () => {
    const r = await prPlan(SHA_A);
    expect(r.code).toBe(1);
    const [c] = planComments(7);
    expect(c?.body).toContain('state=incomplete');
    expect(c?.body).not.toContain('fingerprint=');
    expect(c?.body).toContain('INCOMPLETE: this plan does not cover everything');
    expect(c?.body).toContain(`account ${BOGUS}`);
    expect(c?.body).not.toContain('No changes');
    const json = JSON.parse(await readFile(r.outputs['plan-json'] ?? '', 'utf8')) as {
      complete: boolean;
      incomplete: string[];
    };
    expect(json.complete).toBe(false);
    expect(json.incomplete.join('\n')).toContain(BOGUS);

    // Merged with a good plan of the other target: still incomplete, and non-zero.
    await writeFile(file('bad.json'), await readFile(r.outputs['plan-json'] ?? '', 'utf8'));
    const cf = await world.cli(['plan', '--target', 'cf', '--out', 'good.json']);
    expect(cf.code, cf.err).toBe(0);
    const bad = await world.cli(['plan', '--target', 'kazoo-prod', '--out', 'bad.json']);
    expect(bad.code).toBe(1);
    const m = await world.cli(['report', 'merge', 'good.json', 'bad.json']);
    expect(m.code).toBe(1);
    expect(m.out).toMatch(/^INCOMPLETE: /);
    expect(m.err).toContain('the merged report is INCOMPLETE');

    const d = await world.cli(['drift']);
    expect(d.code).toBe(1);
    expect(d.out).not.toContain('No drift');
    expect(d.out).toContain('INCOMPLETE');
    const e = await world.cli(['plan', '--detailed-exitcode']);
    expect(e.code).toBe(1);
    expect(e.out).not.toContain('No changes');

    // Merging such a PR applies nothing.
    const a = await merged(7, MERGE_A);
    expect(a.code).toBe(1);
    expect(a.summary).toContain('**Apply refused: the plan is incomplete**');
    expect(applyComments(7)[0]?.body).toContain('**Apply refused: the plan is INCOMPLETE**');
  });
});

describe('the PR comment shows the current truth', () => {
  it('an invalid push replaces the plan in the same comment, and such a merge is not applied', async () => {
    expect((await prPlan(SHA_A)).code).toBe(0);
    const [before] = planComments(7);
    expect(before?.body).toContain('fingerprint=');
    await edit('connectivity/acme/main.yaml', 'trunks: 20', 'trunks: lots');
    expect((await prPlan(SHA_B)).code).toBe(3);
    const after = planComments(7);
    expect(after).toHaveLength(1);
    expect(after[0]?.id).toBe(before?.id);
    expect(after[0]?.body).toContain(`state=invalid sha=${SHA_B}`);
    expect(after[0]?.body).not.toContain('fingerprint=');
    await edit('connectivity/acme/main.yaml', 'trunks: lots', 'trunks: 20');
    const a = await merged(7, MERGE_A);
    expect(a.code).toBe(1);
    expect(a.summary).toContain(
      `its last connops comment says the head commit ${SHA_B.slice(0, 12)} was invalid`,
    );
    expect(world.kazoo.dump().docs?.[ACCOUNTS.acme] ?? []).toHaveLength(0);
  });

  it("a person's comment with a pasted marker is neither edited nor accepted as the reviewed plan", async () => {
    const cli = await world.cli(['plan', '--format', 'json']);
    const fingerprint = (JSON.parse(cli.out) as { fingerprint: string }).fingerprint;
    const human = world.github.addComment(
      7,
      `I ran it myself, looks fine\n<!-- connops:plan config=infra/connops.yaml fingerprint=${fingerprint} sha=${SHA_A} -->`,
    );
    const text = human.body;
    const refused = await merged(7, MERGE_A);
    expect(refused.code).toBe(1);
    expect(refused.summary).toContain('pull request #7 has no connops plan comment');
    expect(world.kazoo.dump().docs?.[ACCOUNTS.acme] ?? []).toHaveLength(0);

    expect((await prPlan(SHA_A)).code).toBe(0);
    expect(human.body).toBe(text);
    const ours = planComments(7).filter((c) => c.id !== human.id);
    expect(ours).toHaveLength(1);
    expect(ours[0]?.user.login).toBe('github-actions[bot]');
  });
});

describe('the GitHub API through Octokit', () => {
  it('retries a 502 and waits out a secondary rate limit, posting the comment once', async () => {
    const repo = `/repos/${world.github.repository}`;
    world.github.failNext('GET', `${repo}/issues/7/comments`, [502]);
    world.github.failNext('POST', `${repo}/issues/7/comments`, [403]);
    const r = await prPlan(SHA_A);
    expect(r.code, r.stdout).toBe(0);
    expect(planComments(7)).toHaveLength(1);
    const posts = world.github.requests.filter(
      (q) => q.method === 'POST' && q.path === `${repo}/issues/7/comments`,
    );
    expect(posts).toHaveLength(2); // the rate-limited one, then the one that went through
    expect(r.stdout).toMatch(/^::warning::GitHub secondary rate limit on POST/m);
  });
});

describe('a comment a reviewer can read', () => {
  it('small plans open, names linked to file and line at the head SHA, the JSON artifact linked, the summary once', async () => {
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
    await edit('connectivity/acme/main.yaml', 'trunks: 20', 'trunks: 24');
    const r = await prPlan(SHA_A);
    expect(r.code, r.stdout).toBe(0);
    const body = planComments(7)[0]?.body ?? '';
    expect(body).toContain('<details open><summary>~ update <code>acme-main</code>');
    expect(body).toContain(
      `| [acme-main](https://github.example/acme-corp/telecom/blob/${SHA_A}/infra/connectivity/acme/main.yaml#L2) |`,
    );
    expect(body).toMatch(
      /`connops-plan` artifact of \[this run\]\(https:\/\/github\.example\/acme-corp\/telecom\/actions\/runs\/\d+\)/,
    );
    expect(r.summary.match(/Plan: 0 to create, 1 to update/g)).toHaveLength(1);

    // Nothing to do: "No changes", and no empty table.
    await edit('connectivity/acme/main.yaml', 'trunks: 24', 'trunks: 20');
    expect((await prPlan(SHA_B)).code).toBe(0);
    const none = planComments(7)[0]?.body ?? '';
    expect(none).toContain('**No changes: 8 documents up to date.**');
    expect(none).not.toContain('| action |');
  });
});

describe('a pull request cannot redirect credentials', () => {
  it('a PR that changes a target URL: a clear message and no request to that URL', async () => {
    const seen: string[] = [];
    const evil = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/v2`;
    try {
      await edit('connops.yaml', 'url: ${env:KAZOO_URL}', `url: ${evilUrl}`);
      const r = await prPlan(SHA_A);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(
        /^::error::connops: plan refused, nothing was sent to any target: this pull request changes where connops sends credentials: target "kazoo-prod": `url` differs from the base branch/m,
      );
      expect(r.stdout).toContain('allow-target-changes: true');
      expect(seen).toEqual([]);
      expect(world.kazoo.requestCount()).toBe(0);
      const [c] = planComments(7);
      expect(c?.body).toContain('state=refused');
      expect(c?.body).not.toContain('fingerprint=');
    } finally {
      evil.closeAllConnections();
      await new Promise<void>((resolve) => evil.close(() => resolve()));
    }
  });

  it('a PR that leaves the targets alone is planned (the base commit is read with git)', async () => {
    await edit('connops.yaml', 'max_changes: 100', 'max_changes: 90');
    const r = await prPlan(SHA_A);
    expect(r.code, r.stdout).toBe(0);
  });

  it('without the base commit (shallow checkout) it fails closed and says how to fix it', async () => {
    const r = await world.runAction({
      eventName: 'pull_request',
      inputs: { command: 'plan' },
      payload: pullRequestPayload({
        number: 7,
        headSha: SHA_A,
        repository: world.github.repository,
        baseSha: '0123456789'.repeat(4),
      }),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('fetch-depth: 2');
    expect(world.kazoo.requestCount()).toBe(0);
  });
});

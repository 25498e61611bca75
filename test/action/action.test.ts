/**
 * The bundled Action (dist/action.js) run as the runner runs it, against the
 * emulators and a fake GitHub API. Build first: `npm run build`.
 */
import { existsSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCOUNTS,
  ALL_SECRETS,
  DIST_ACTION,
  GITHUB_TOKEN,
  REPO_ROOT,
  SECRETS,
  pullRequestPayload,
  pushPayload,
  schedulePayload,
  startActionWorld,
  withoutMaskCommands,
  type ActionWorld,
} from '../helpers/action-runner.ts';

const SHA1 = '1'.repeat(40);
const SHA2 = '2'.repeat(40);
const MERGE = 'c'.repeat(40);

let world: ActionWorld;

beforeAll(() => {
  if (!existsSync(DIST_ACTION))
    throw new Error('dist/action.js is missing: run `npm run build` first');
});
beforeEach(async () => {
  world = await startActionWorld({ pageSize: 2 });
});
afterEach(async () => {
  // Every run of every test: no secret in anything the Action wrote or sent.
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

const markedComments = (issue: number): { id: number; body: string }[] =>
  world.github.comments.filter((c) => c.issue === issue && c.body.includes('<!-- connops:plan '));

function prPlan(sha: string, extra: { inputs?: Record<string, string>; number?: number } = {}) {
  return world.runAction({
    eventName: 'pull_request',
    inputs: { command: 'plan', ...extra.inputs },
    payload: pullRequestPayload({
      number: extra.number ?? 7,
      headSha: sha,
      repository: world.github.repository,
      baseSha: world.baseSha,
    }),
    sha: 'e'.repeat(40),
    ref: `refs/pull/${extra.number ?? 7}/merge`,
  });
}

function pushApply(inputs: Record<string, string> = {}) {
  return world.runAction({
    eventName: 'push',
    inputs: { command: 'apply', ...inputs },
    payload: pushPayload({ sha: MERGE, repository: world.github.repository }),
    sha: MERGE,
    ref: 'refs/heads/main',
  });
}

function driftRun(inputs: Record<string, string> = {}) {
  return world.runAction({
    eventName: 'schedule',
    inputs: { command: 'drift', 'drift-issue': 'true', ...inputs },
    payload: schedulePayload(),
  });
}

describe('pull_request: plan comment', () => {
  it('posts one comment, then updates the same comment on the next push', async () => {
    // Other people's comments first, so finding ours needs pagination (page size 2).
    world.github.addComment(7, 'LGTM');
    world.github.addComment(7, 'what about globex?');
    world.github.addComment(
      7,
      '<!-- connops:plan config=other/connops.yaml fingerprint=x sha=y --> another config',
    );

    const first = await prPlan(SHA1);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(markedComments(7)).toHaveLength(2); // ours + the other config's
    const ours = world.github.comments.filter((c) => c.body.includes('config=infra/connops.yaml'));
    expect(ours).toHaveLength(1);
    const fp1 = first.outputs['fingerprint'];
    expect(fp1).toMatch(/^[0-9a-f]{64}$/);
    expect(ours[0]?.body).toContain(
      `<!-- connops:plan config=infra/connops.yaml fingerprint=${fp1} sha=${SHA1} -->`,
    );
    expect(ours[0]?.body).toContain('Plan: 8 to create, 0 to update, 0 to delete; 0 unchanged.');
    expect(first.summary).toContain('### connops plan: `infra/connops.yaml`');
    expect(first.outputs['has-changes']).toBe('true');
    const planJson = JSON.parse(await readFile(first.outputs['plan-json'] ?? '', 'utf8')) as {
      fingerprint: string;
    };
    expect(planJson.fingerprint).toBe(fp1);
    // Pagination was followed.
    expect(world.github.requests.some((r) => r.method === 'GET' && r.path.includes('page=2'))).toBe(
      true,
    );
    expect(world.github.writes().map((r) => r.method)).toEqual(['POST']);

    // The author pushes again with a changed document.
    const main = join(world.project, 'connectivity/acme/main.yaml');
    await writeFile(main, (await readFile(main, 'utf8')).replace('trunks: 20', 'trunks: 24'));
    const second = await prPlan(SHA2);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const fp2 = second.outputs['fingerprint'];
    expect(fp2).not.toBe(fp1);
    const after = world.github.comments.filter((c) => c.body.includes('config=infra/connops.yaml'));
    expect(after).toHaveLength(1);
    expect(after[0]?.id).toBe(ours[0]?.id);
    expect(after[0]?.body).toContain(`fingerprint=${fp2} sha=${SHA2} -->`);
    expect(world.github.writes().map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /repos/${world.github.repository}/issues/7/comments`,
      `PATCH /repos/${world.github.repository}/issues/comments/${ours[0]?.id}`,
    ]);
  });

  it('fork PR: validates only, with a notice, and calls no GitHub API', async () => {
    const r = await world.runAction({
      eventName: 'pull_request',
      inputs: { command: 'plan' },
      payload: pullRequestPayload({
        number: 9,
        headSha: SHA1,
        repository: world.github.repository,
        headRepository: 'mallory/telecom',
      }),
      withoutSecrets: true,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^::notice::connops: documents validated; plan skipped because it needs secrets: this pull request comes from a fork/m,
    );
    expect(r.summary).toContain('GitHub does not give secrets');
    expect(r.stdout).not.toContain('::error');
    expect(world.github.requests).toHaveLength(0);
    expect(r.outputs['has-changes']).toBeUndefined();
    expect(world.kazoo.requestCount()).toBe(0);
  });

  it('same-repo PR without secrets (e.g. Dependabot): validates only and names the unset variables', async () => {
    const r = await world.runAction({
      eventName: 'pull_request',
      inputs: { command: 'plan' },
      payload: pullRequestPayload({
        number: 10,
        headSha: SHA1,
        repository: world.github.repository,
      }),
      withoutSecrets: true,
      extraEnv: { ACME_TRUNK_PASSWORD: SECRETS.ACME_TRUNK_PASSWORD },
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^::notice::connops: documents validated; plan skipped .*the credentials are not set.* Not set \(or empty\): ACME_STANDBY_PASSWORD, CLOUDFLARE_API_TOKEN, GLOBEX_FAX_PASSWORD, INITECH_TRUNK_PASSWORD, KAZOO_API_KEY\./m,
    );
    expect(r.summary).toContain('**OK:** 8 documents');
    expect(world.github.requests).toHaveLength(0);
    // The one secret that is set is still masked.
    expect(r.stdout).toContain(`::add-mask::${SECRETS.ACME_TRUNK_PASSWORD}`);
    expect(r.stdout).not.toContain('::add-mask::https://connops-placeholder');
  });

  it('invalid documents: annotations on file and line, failed step, no plan; the comment says so', async () => {
    await copyFile(
      join(REPO_ROOT, 'examples/invalid/wrong-types.yaml'),
      join(world.project, 'connectivity/wrong-types.yaml'),
    );
    const r = await prPlan(SHA1);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(
      /^::error title=connops [A-Z_]+,file=infra\/connectivity\/wrong-types\.yaml,line=\d+,col=\d+::/m,
    );
    expect(r.stdout).toMatch(/^::error::connops: \d+ errors? in the documents/m);
    expect(r.summary).toContain('infra/connectivity/wrong-types.yaml');
    // The PR's one comment now shows the failure (with the SHA), and no fingerprint.
    expect(world.github.writes().map((w) => w.method)).toEqual(['POST']);
    const [c] = markedComments(7);
    expect(c?.body).toContain(`state=invalid sha=${SHA1}`);
    expect(c?.body).not.toContain('fingerprint=');
    expect(c?.body).toContain(`**The documents are invalid at ${SHA1.slice(0, 12)}**`);
    expect(c?.body).toMatch(/\| infra\/connectivity\/wrong-types\.yaml:\d+:\d+ \|/);
    expect(world.kazoo.requestCount()).toBe(0);
  });

  it('rejects invalid inputs', async () => {
    const r = await prPlan(SHA1, { inputs: { command: 'destroy' } });
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain(
      '::error::connops action: input "command" must be one of validate, plan, apply, drift',
    );
    const q = await prPlan(SHA1, { inputs: { args: "--only 'acme*" } });
    expect(q.code).not.toBe(0);
    expect(q.stdout).toContain('unterminated');
    const c = await prPlan(SHA1, { inputs: { args: '--config other.yaml' } });
    expect(c.stdout).toContain('must not contain --config');
  });

  it('a sharded plan keeps one comment per shard', async () => {
    const a = await prPlan(SHA1, { inputs: { args: '--shard 1/2' } });
    const b = await prPlan(SHA1, { inputs: { args: '--shard 2/2' } });
    expect([a.code, b.code]).toEqual([0, 0]);
    await prPlan(SHA2, { inputs: { args: '--shard 1/2' } });
    const bodies = markedComments(7).map((c) => c.body);
    expect(bodies).toHaveLength(2);
    expect(bodies[0]).toContain('scope=shard:1/2');
    expect(bodies[0]).toContain(`sha=${SHA2}`);
    expect(bodies[1]).toContain('scope=shard:2/2');
  });
});

describe('push to the default branch: apply', () => {
  beforeEach(() => {
    world.github.pullsByCommit.set(MERGE, [
      { number: 7, state: 'closed', merged_at: '2026-01-02T00:00:00Z', merge_commit_sha: MERGE },
    ]);
  });

  it('applies when the plan matches the one reviewed in the merged PR', async () => {
    const plan = await prPlan(SHA1);
    expect(plan.code).toBe(0);
    const writesBefore = world.github.writes().length;
    const seen: string[] = [];
    const faults = world.kazoo.faults;
    const decide = faults.decide.bind(faults);
    const listingOf = (x: string): boolean => /^GET .*\/connectivity(\?.*)?$/.test(x);
    faults.decide = (method, path) => {
      seen.push(`${method} ${path}`);
      return decide(method, path);
    };
    expect((await world.cli(['plan', '--detailed-exitcode'])).code).toBe(2);
    faults.decide = decide;
    const readPass = seen.filter(listingOf).length; // one listing per account
    seen.length = 0;
    faults.decide = (method, path) => {
      seen.push(`${method} ${path}`);
      return decide(method, path);
    };
    const r = await pushApply().finally(() => (faults.decide = decide));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // Live state is read once: the plan compared with the review is the plan applied.
    // One session (one sign-in) and the accounts listed once. A Kazoo create sends
    // its document's derived id, so it lists nothing before or after (an unclear
    // answer is settled by reading that id).
    const kazooCreates = (r.summary.match(/✓ create kazoo\/connectivity/g) ?? []).length;
    expect(kazooCreates).toBeGreaterThan(0);
    expect(seen.filter((x) => /^PUT .*\/api_auth$/.test(x))).toHaveLength(1);
    const listings = seen.filter(listingOf).length;
    expect(listings).toBe(readPass);
    expect(r.summary).toContain('The plan matches the one reviewed in #7.');
    expect(r.summary).toContain('Apply: 8 created, 0 updated, 0 deleted, 0 failed, 0 skipped.');
    expect(r.outputs['fingerprint']).toBe(plan.outputs['fingerprint']);
    expect((await world.cli(['plan', '--detailed-exitcode'])).code).toBe(0);
    // The one write: the outcome, on the merged PR, with counts and a link to the run.
    expect(world.github.writes()).toHaveLength(writesBefore + 1);
    const told = world.github.comments.filter((c) => c.body.includes('<!-- connops:apply '));
    expect(told).toHaveLength(1);
    expect(told[0]?.issue).toBe(7);
    expect(told[0]?.body).toContain(
      '**Applied:** 8 created, 0 updated, 0 deleted, 0 failed, 0 skipped.',
    );
    expect(told[0]?.body).toMatch(
      /\[the apply run\]\(https:\/\/github\.example\/acme-corp\/telecom\/actions\/runs\/\d+\)/,
    );
  });

  it('refuses when live state changed after the review, and applies with allow-plan-change', async () => {
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
    const main = join(world.project, 'connectivity/acme/main.yaml');
    await writeFile(main, (await readFile(main, 'utf8')).replace('trunks: 20', 'trunks: 24'));
    expect((await prPlan(SHA1)).code).toBe(0);
    // Someone edits the same trunk by hand before the merge.
    const id = await world.kazooIdOf(ACCOUNTS.acme, 'acme-main');
    const edit = await world.kazooApi('PATCH', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`, {
      data: { account: { trunks: 30 } },
    });
    expect(edit.status).toBe(200);

    const refused = await pushApply();
    expect(refused.code).toBe(1);
    expect(refused.summary).toContain('**Apply refused.**');
    expect(refused.summary).toMatch(
      /"acme-main" \(account [0-9a-f]+, target kazoo-prod\): update changed: the live object changed since the review \(revision \S+ → \S+\)/,
    );
    // The merged PR hears it, with the reason.
    const told = world.github.comments.filter((c) => c.body.includes('<!-- connops:apply '));
    expect(told[0]?.body).toContain('**Apply refused**; nothing was written.');
    expect(told[0]?.body).toContain('the live object changed since the review');
    expect(refused.stdout).toMatch(/^::error::connops: apply refused\./m);
    const live = (await world.kazooApi('GET', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`))
      .json as {
      data: { account: { trunks: number } };
    };
    expect(live.data.account.trunks).toBe(30);

    const forced = await pushApply({ 'allow-plan-change': 'true' });
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(
      /^::warning::connops: The plan differs from the one reviewed in #7/m,
    );
    const now = (await world.kazooApi('GET', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`))
      .json as {
      data: { account: { trunks: number } };
    };
    expect(now.data.account.trunks).toBe(24);
  });

  it('refuses without a reviewed plan unless allow-plan-change', async () => {
    world.github.pullsByCommit.clear();
    const refused = await pushApply();
    expect(refused.code).toBe(1);
    expect(refused.summary).toContain(
      `No reviewed plan: commit ${MERGE.slice(0, 12)} is not the merge of a pull request.`,
    );
    expect(world.kazoo.dump().docs?.[ACCOUNTS.acme] ?? []).toHaveLength(0);
    const allowed = await pushApply({ 'allow-plan-change': 'true' });
    expect(allowed.code, allowed.stdout + allowed.stderr).toBe(0);
    expect(allowed.summary).toContain('Applying anyway because `allow-plan-change` is true.');
  });

  it('does not apply on a push to another branch', async () => {
    const r = await world.runAction({
      eventName: 'push',
      inputs: { command: 'apply', 'allow-plan-change': 'true' },
      payload: pushPayload({ sha: MERGE, repository: world.github.repository }),
      sha: MERGE,
      ref: 'refs/heads/feature',
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('apply runs on pushes to the default branch (main) only');
    expect(world.kazoo.requestCount()).toBe(0);
  });
});

describe('schedule: drift', () => {
  it('reports drift, opens one issue, updates it, and closes it when the drift is gone', async () => {
    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
    const clean = await driftRun();
    expect(clean.code).toBe(0);
    expect(clean.outputs['has-changes']).toBe('false');
    expect(world.github.issues).toHaveLength(0);

    const id = await world.kazooIdOf(ACCOUNTS.acme, 'acme-main');
    await world.kazooApi('PATCH', `/accounts/${ACCOUNTS.acme}/connectivity/${id}`, {
      data: { account: { trunks: 2 } },
    });
    const drifted = await driftRun();
    expect(drifted.code).toBe(2);
    expect(drifted.outputs['has-changes']).toBe('true');
    expect(drifted.summary).toContain('### connops drift report: `infra/connops.yaml`');
    expect(drifted.summary).toContain('**Drift detected:**');
    expect(drifted.stdout).toMatch(/^::error::connops: drift detected in infra\/connops.yaml/m);
    expect(world.github.issues).toHaveLength(1);
    const issue = world.github.issues[0];
    expect(issue?.title).toBe('connops drift: infra/connops.yaml');
    expect(issue?.labels).toEqual(['connops-drift']);
    expect(issue?.body).toContain('<!-- connops:drift config=infra/connops.yaml -->');

    const again = await driftRun();
    expect(again.code).toBe(2);
    expect(world.github.issues).toHaveLength(1); // updated, not duplicated

    const lenient = await driftRun({ 'fail-on-drift': 'false' });
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toMatch(/^::warning::connops: drift detected/m);

    expect((await world.cli(['apply', '--yes'])).code).toBe(0);
    const fixed = await driftRun();
    expect(fixed.code).toBe(0);
    expect(issue?.state).toBe('closed');
    expect(
      world.github.comments.some(
        (c) => c.issue === issue?.number && c.body.startsWith('No drift any more'),
      ),
    ).toBe(true);
    const methods = world.github.writes().map((r) => r.method);
    expect(methods).toEqual(['POST', 'PATCH', 'PATCH', 'POST', 'PATCH']);
  });
});

describe('secrets', () => {
  it('registers every secret with ::add-mask:: and shows none of them', async () => {
    const r = await prPlan(SHA1);
    expect(r.code).toBe(0);
    const masks = r.stdout.split('\n').filter((l) => l.startsWith('::add-mask::'));
    for (const s of ALL_SECRETS) expect(masks).toContain(`::add-mask::${s}`);
    // (the afterEach sweep checks stdout, summary, outputs and request bodies)
  });
});

/**
 * The pull-request job: validate (fork PRs get no secrets), check that the PR
 * does not redirect credentials, plan, and keep one comment per config on the
 * PR that always shows the current truth (INVARIANTS.md 10, 17, 18): the plan,
 * an incomplete plan, a validation failure or a refusal, each with the SHA it
 * is about. Only a complete plan's comment carries a fingerprint, so apply
 * accepts nothing else as the reviewed plan.
 */
import { EXIT } from '../core/exit-codes.ts';
import { isComplete, type Plan } from '../core/plan.ts';
import { MARKDOWN_LIMIT } from '../core/render-plan.ts';
import { renderPrComment } from './comment.ts';
import type { GitHubApi, IssueComment } from './github.ts';
import { parseMarker, renderMarker, renderReviewedChanges, sameIdentity } from './markers.ts';
import { changedAccountsSince, isOutcome, makePlan, plainPlan } from './plan.ts';
import { checkTargetsAgainstBase } from './targets.ts';
import { INCOMPLETE, mdCell, title, workspacePath, type Outcome, type Run } from './run.ts';
import { validate, validationSummary, type Validation } from './validate.ts';

/** GitHub rejects comment bodies above 65 536 characters. */
const COMMENT_LIMIT = 65_536;

type PullRequest = NonNullable<Run['event']['pull_request']>;

export async function pullRequestPlan(run: Run): Promise<Outcome> {
  const pr = run.event.pull_request;
  if (!pr) return plainPlan(run);
  const base = pr.base.repo.full_name || run.repository;
  const fork = pr.head.repo === null || pr.head.repo.full_name !== base;
  const headSha = pr.head.sha;
  const v = await validate(run, { lenientEnv: true });
  if (v.outcome.code !== EXIT.OK) {
    await run.summary(validationSummary(run, v));
    // A fork's token cannot comment; everyone else sees the failure in place of the old plan.
    if (!fork) await postState(run, pr, 'invalid', invalidBody(run, v, headSha));
    return v.outcome;
  }
  if (fork || v.missingEnv.length > 0) {
    const missing =
      v.missingEnv.length > 0 ? ` Not set (or empty): ${v.missingEnv.join(', ')}.` : '';
    const why = fork
      ? 'this pull request comes from a fork, and GitHub does not give secrets (nor a token that can comment) to workflows of fork PRs'
      : 'the credentials are not set; pass them to the step with `env:` from repository secrets (Dependabot PRs read Dependabot secrets)';
    const message = `connops: documents validated; plan skipped because it needs secrets: ${why}.${missing} A maintainer can run the plan from a branch of this repository.`;
    run.say('notice', message);
    await run.summary(`${validationSummary(run, v)}\n> [!NOTE]\n> ${message}\n`);
    return { code: EXIT.OK };
  }
  // INVARIANTS.md 17: the targets (where credentials go) come from the base branch.
  const baseSha = pr.base.sha;
  const targets = baseSha
    ? await checkTargetsAgainstBase(run, baseSha)
    : { ok: false as const, unreadable: 'the event payload has no base commit' };
  if (!targets.ok) {
    const what =
      'changes' in targets
        ? `this pull request changes where connops sends credentials: ${targets.changes.join('; ')}`
        : `connops cannot check this pull request's targets against the base branch: ${targets.unreadable}`;
    if (!run.inputs.allowTargetChanges) {
      const message = `connops: plan refused, nothing was sent to any target: ${what}. A maintainer who has checked the change can re-run with \`allow-target-changes: true\`, or merge the target change on its own first.`;
      run.say('error', message);
      await run.summary(`### ${title(run, 'connops plan')}\n\n**Plan refused.** ${message}\n`);
      await postState(
        run,
        pr,
        'refused',
        `### ${title(run, 'connops plan')}\n\n**Plan refused** at ${headSha.slice(0, 12)}: ${mdCell(what)}.\n\nNothing was sent to any target. A maintainer who has checked the change can re-run with \`allow-target-changes: true\`.\n`,
      );
      return { code: EXIT.FAILURE, reason: message };
    }
    run.say(
      'warning',
      `connops: ${what}; planning anyway because \`allow-target-changes\` is true`,
    );
  }
  // Issue 24 item 1: by default only the accounts this PR's files touch are read;
  // apply on merge re-plans the same scope (the marker says which).
  const scoped =
    run.inputs.scope === 'changed-accounts'
      ? await changedAccountsSince(run, baseSha, 'base commit')
      : undefined;
  const p = await makePlan(run, false, scoped);
  if (isOutcome(p)) return p;
  const comment = renderPrComment(run, p.plan, { headSha });
  await run.summary(comment.summary);
  if (run.inputs.comment) {
    const complete = isComplete(p.plan) && !p.trouble;
    await postState(
      run,
      pr,
      complete ? 'plan' : 'incomplete',
      comment.markdown,
      complete ? p.plan : undefined,
    );
  }
  return p.trouble ? INCOMPLETE : { code: EXIT.OK };
}

function invalidBody(run: Run, v: Validation, sha: string): string {
  const rows = v.shown
    .filter((d) => d.severity === 'error')
    .slice(0, 50)
    .map(
      (d) => `| ${mdCell(workspacePath(run, d.file))}:${d.line}:${d.col} | ${mdCell(d.message)} |`,
    );
  return [
    `### ${title(run, 'connops plan')}`,
    '',
    `**The documents are invalid at ${sha.slice(0, 12)}** (${v.errors} error${v.errors === 1 ? '' : 's'}); there is no plan for this commit. Fix them and push again.`,
    '',
    ...(rows.length > 0 ? ['| where | problem |', '| --- | --- |', ...rows] : []),
    ...(v.errors > rows.length
      ? ['', `_…and ${v.errors - rows.length} more (see the run's annotations)._`]
      : []),
    '',
  ].join('\n');
}

/**
 * Updates (or posts) this config's one comment with the PR's current state.
 * Only a complete plan gets a fingerprint (and the record of its writes).
 */
async function postState(
  run: Run,
  pr: PullRequest,
  state: 'plan' | 'incomplete' | 'invalid' | 'refused',
  markdown: string,
  plan?: Plan,
): Promise<void> {
  if (!run.inputs.comment) return;
  const api = run.api();
  if (!api) {
    run.say(
      'warning',
      'connops: no github-token (or GITHUB_REPOSITORY); the result is in the job summary only',
    );
    return;
  }
  const sha = pr.head.sha;
  const marker = renderMarker('plan', {
    config: run.identity.config,
    ...(run.identity.scope ? { scope: run.identity.scope } : {}),
    ...(plan ? { fingerprint: plan.fingerprint } : { state }),
    // A plan of the changed accounts only: apply re-plans that scope (action/apply.ts).
    ...(plan?.policy?.scope ? { planned: 'accounts' } : {}),
    sha,
  });
  const footer = plan
    ? `<sub>Planned at ${sha.slice(0, 12)}. When this merges, apply re-plans and refuses if the writes differ from these.</sub>`
    : `<sub>State at ${sha.slice(0, 12)}: ${state}. There is no reviewed plan for this commit; apply on merge will refuse.</sub>`;
  const text = `${marker}\n${markdown.length > MARKDOWN_LIMIT ? markdown.slice(0, MARKDOWN_LIMIT) : markdown}\n${footer}\n`;
  const body = plan ? text + renderReviewedChanges(plan, COMMENT_LIMIT - text.length - 100) : text;
  await upsertComment(run, api, pr.number, body, (c) =>
    sameIdentity(parseMarker(c.body, 'plan'), run.identity),
  );
}

/**
 * Our comments matching `mine`, oldest first: only those the token's own
 * identity wrote (INVARIANTS.md 18). A person's comment with a pasted marker is
 * never found, edited or trusted.
 */
export async function ourComments(
  api: GitHubApi,
  issue: number,
  mine: (c: IssueComment) => boolean,
): Promise<IssueComment[]> {
  const me = (await api.identity()).toLowerCase();
  return (await api.listIssueComments(issue)).filter(
    (c) => c.user?.login.toLowerCase() === me && mine(c),
  );
}

export async function upsertComment(
  run: Run,
  api: GitHubApi,
  issue: number,
  body: string,
  mine: (c: IssueComment) => boolean,
): Promise<void> {
  const existing = (await ourComments(api, issue, mine))[0];
  if (existing) {
    await api.updateIssueComment(existing.id, body);
    run.say('info', `connops: updated comment ${existing.id} on #${issue}`);
  } else {
    const created = await api.createIssueComment(issue, body);
    run.say('info', `connops: posted comment ${created.id} on #${issue}`);
  }
}

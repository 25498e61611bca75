/**
 * The pull-request job: validate without secrets (fork PRs get none), plan,
 * and keep one plan comment per config up to date on the PR.
 */
import { EXIT } from '../core/exit-codes.ts';
import type { Plan } from '../core/plan.ts';
import { MARKDOWN_LIMIT, renderPlanMarkdown } from '../core/render-plan.ts';
import type { GitHubApi, IssueComment } from './github.ts';
import { parseMarker, renderMarker, renderReviewedChanges, sameIdentity } from './markers.ts';
import { isOutcome, makePlan, plainPlan } from './plan.ts';
import { INCOMPLETE, title, type Outcome, type Run } from './run.ts';
import { validate, validationSummary } from './validate.ts';

/** GitHub rejects comment bodies above 65 536 characters. */
const COMMENT_LIMIT = 65_536;

export async function pullRequestPlan(run: Run): Promise<Outcome> {
  const pr = run.event.pull_request;
  if (!pr) return plainPlan(run);
  const base = pr.base.repo.full_name || run.repository;
  const fork = pr.head.repo === null || pr.head.repo.full_name !== base;
  const v = await validate(run, { lenientEnv: true });
  if (v.outcome.code !== EXIT.OK) {
    await run.summary(validationSummary(run, v));
    return v.outcome;
  }
  if (fork || v.missingEnv.length > 0) {
    const why = fork
      ? 'this pull request comes from a fork, and GitHub does not give secrets (nor a token that can comment) to workflows of fork PRs'
      : `the credentials are not set (${v.missingEnv.join(', ')}); pass them to the step with \`env:\` from repository secrets`;
    const message = `connops: documents validated; plan skipped because it needs secrets: ${why}. A maintainer can run the plan from a branch of this repository.`;
    run.say('notice', message);
    await run.summary(`${validationSummary(run, v)}\n> [!NOTE]\n> ${message}\n`);
    return { code: EXIT.OK };
  }
  const p = await makePlan(run);
  if (isOutcome(p)) return p;
  const headSha = pr.head.sha;
  const markdown = renderPlanMarkdown(p.plan, { title: title(run, 'connops plan') });
  await run.summary(markdown);
  if (run.inputs.comment) {
    const api = run.api();
    if (!api)
      run.say(
        'warning',
        'connops: no github-token (or GITHUB_REPOSITORY); the plan is in the job summary only',
      );
    else await upsertPlanComment(run, api, pr.number, p.plan, markdown, headSha);
  }
  return p.trouble ? INCOMPLETE : { code: EXIT.OK };
}

function commentBody(run: Run, plan: Plan, markdown: string, sha: string): string {
  const marker = renderMarker('plan', {
    config: run.identity.config,
    ...(run.identity.scope ? { scope: run.identity.scope } : {}),
    fingerprint: plan.fingerprint,
    sha,
  });
  const footer = `<sub>Planned at ${sha.slice(0, 12)}. When this merges, apply re-plans and refuses if the plan differs from this one.</sub>`;
  const text = `${marker}\n${markdown.length > MARKDOWN_LIMIT ? markdown.slice(0, MARKDOWN_LIMIT) : markdown}\n${footer}\n`;
  return text + renderReviewedChanges(plan, COMMENT_LIMIT - text.length - 100);
}

/** Our comments for this config: bot-authored first (a user could paste a marker too), oldest first. */
export function ourComments(run: Run, comments: readonly IssueComment[]): IssueComment[] {
  const mine = comments.filter((c) => sameIdentity(parseMarker(c.body, 'plan'), run.identity));
  return [
    ...mine.filter((c) => c.user?.type === 'Bot'),
    ...mine.filter((c) => c.user?.type !== 'Bot'),
  ];
}

async function upsertPlanComment(
  run: Run,
  api: GitHubApi,
  issue: number,
  plan: Plan,
  markdown: string,
  sha: string,
): Promise<void> {
  const body = commentBody(run, plan, markdown, sha);
  const existing = ourComments(run, await api.listIssueComments(issue))[0];
  if (existing) {
    await api.updateIssueComment(existing.id, body);
    run.say('info', `connops: updated the plan comment ${existing.id} on #${issue}`);
  } else {
    const created = await api.createIssueComment(issue, body);
    run.say('info', `connops: posted the plan comment ${created.id} on #${issue}`);
  }
}

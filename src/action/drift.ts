/**
 * The scheduled drift job: plan, report in the job summary, and optionally
 * keep one issue per config open while live state differs from git.
 */
import { EXIT } from '../core/exit-codes.ts';
import type { Plan } from '../core/plan.ts';
import { renderPlanMarkdown, summaryLine } from '../core/render-plan.ts';
import type { GitHubApi } from './github.ts';
import { parseMarker, renderMarker, sameIdentity } from './markers.ts';
import { isOutcome, makePlan } from './plan.ts';
import { changeCount, INCOMPLETE, title, type Outcome, type Run } from './run.ts';
import { validateStrict } from './validate.ts';

const DRIFT_LABEL = 'connops-drift';

export async function drift(run: Run): Promise<Outcome> {
  const invalid = await validateStrict(run);
  if (invalid) return invalid;
  const p = await makePlan(run);
  if (isOutcome(p)) return p;
  const { plan } = p;
  const drifted = changeCount(plan) > 0;
  const markdown = renderPlanMarkdown(plan, { title: title(run, 'connops drift report') });
  await run.summary(
    `${markdown}\n${p.trouble ? '**INCOMPLETE:** drift is unknown where live state could not be read.' : drifted ? '**Drift detected:** live state differs from git.' : plan.unmanaged > 0 ? `**No drift in the declared objects;** ${plan.unmanaged} live object${plan.unmanaged === 1 ? ' is' : 's are'} not declared by any document (listed above).` : '**No drift:** live state matches git.'}\n`,
  );
  if (run.inputs.driftIssue) {
    const api = run.api();
    if (!api)
      return {
        code: EXIT.FAILURE,
        reason: 'connops: drift-issue needs a github-token (and GITHUB_REPOSITORY)',
      };
    await syncDriftIssue(run, api, plan, markdown, drifted, p.trouble);
  }
  if (p.trouble) return INCOMPLETE;
  if (!drifted) return { code: EXIT.OK };
  const message = `connops: drift detected in ${run.identity.config}: ${summaryLine(plan)}`;
  if (!run.inputs.failOnDrift) {
    run.say('warning', message);
    return { code: EXIT.OK };
  }
  return { code: EXIT.CHANGES, reason: message };
}

async function syncDriftIssue(
  run: Run,
  api: GitHubApi,
  plan: Plan,
  markdown: string,
  drifted: boolean,
  incomplete: boolean,
): Promise<void> {
  const marker = renderMarker('drift', {
    config: run.identity.config,
    ...(run.identity.scope ? { scope: run.identity.scope } : {}),
  });
  const open = (await api.listOpenIssues(DRIFT_LABEL)).filter((i) =>
    sameIdentity(parseMarker(i.body, 'drift'), run.identity),
  );
  const existing = open[0];
  const when = `${new Date().toISOString()}${run.env['GITHUB_SHA'] ? ` at commit ${run.env['GITHUB_SHA'].slice(0, 12)}` : ''}`;
  const runUrl =
    run.env['GITHUB_SERVER_URL'] && run.env['GITHUB_RUN_ID']
      ? `${run.env['GITHUB_SERVER_URL']}/${run.repository}/actions/runs/${run.env['GITHUB_RUN_ID']}`
      : undefined;
  if (drifted) {
    const body = `${marker}\n${markdown}\nLast checked ${when}${runUrl ? ` ([run](${runUrl}))` : ''}. Fix it by applying git (\`connops apply\`) or by changing the documents to match; this issue closes itself when the drift is gone.\n`;
    if (existing) {
      await api.updateIssue(existing.number, { body });
      run.say('info', `connops: updated drift issue #${existing.number}`);
    } else {
      const title = `connops drift: ${run.identity.config}${run.identity.scope ? ` (${run.identity.scope})` : ''}`;
      const created = await api.createIssue(title, body, [DRIFT_LABEL]);
      run.say('info', `connops: opened drift issue #${created.number}`);
    }
  } else if (existing && !incomplete) {
    await api.createIssueComment(
      existing.number,
      `No drift any more: live state matches git (${summaryLine(plan)}) as of ${when}${runUrl ? ` ([run](${runUrl}))` : ''}. Closing.`,
    );
    await api.updateIssue(existing.number, { state: 'closed' });
    run.say('info', `connops: closed drift issue #${existing.number}`);
  }
}

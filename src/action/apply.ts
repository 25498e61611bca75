/**
 * The apply job, on a push to the default branch: find the plan reviewed in
 * the merged pull request, re-plan, refuse when they differ, otherwise apply
 * the plan just made (without reading the estate again) and report.
 */
import { resolve } from 'node:path';
import { EXIT } from '../core/exit-codes.ts';
import type { Plan } from '../core/plan.ts';
import { renderPlanMarkdown, renderPlanText, summaryLine } from '../core/render-plan.ts';
import {
  renderApplyResults,
  renderApplyShortfall,
  renderLimitsRefused,
  renderNumberRepairs,
} from '../core/render-run.ts';
import { executeApply, prepareApply } from '../engine/apply-project.ts';
import type { PlannedProject } from '../engine/project.ts';
import { AuditLog } from '../io/audit-log.ts';
import { SIGNAL_EXIT, type StopSignal } from '../io/signals.ts';
import type { ChangeResult } from '../engine/apply.ts';
import { explainPlanChange, parseMarker, sameIdentity } from './markers.ts';
import { changedAccountsSince, isOutcome, makePlan, type Planned } from './plan.ts';
import { applyReport, tellPull } from './apply-report.ts';
import { ourComments } from './pull-request.ts';
import { changeCount, INCOMPLETE, mdCell, title, type Outcome, type Run } from './run.ts';
import { validateStrict } from './validate.ts';

/** The longest apply log shown in the summary; the step log has all of it. */
const APPLY_LOG_LIMIT = 200_000;

interface Reviewed {
  readonly pr: number;
  readonly fingerprint: string;
  readonly body: string;
  /** `accounts`: the reviewed plan read only the accounts the PR changed. */
  readonly planned?: string;
}

/** The PR this push merged, if any. */
async function mergedPull(run: Run, sha: string): Promise<number | undefined> {
  const api = run.api();
  if (!api || run.eventName !== 'push') return undefined;
  const pulls = await api.pullsForCommit(sha);
  const merged =
    pulls.find((p) => p.merged_at && p.merge_commit_sha === sha) ?? pulls.find((p) => p.merged_at);
  return merged?.number;
}

/**
 * The plan reviewed in the merged PR: the fingerprint in the comment the
 * token's own identity wrote (INVARIANTS.md 18), never one a person pasted.
 */
async function findReviewedPlan(
  run: Run,
  sha: string,
  pr: number | undefined,
): Promise<Reviewed | string> {
  const api = run.api();
  if (!api) return 'no github-token, so the merged pull request cannot be looked up';
  if (pr === undefined) return `commit ${sha.slice(0, 12)} is not the merge of a pull request`;
  const comment = (
    await ourComments(api, pr, (c) => sameIdentity(parseMarker(c.body, 'plan'), run.identity))
  )[0];
  const marker = parseMarker(comment?.body, 'plan');
  const fingerprint = marker?.['fingerprint'];
  if (!comment || !marker)
    return `pull request #${pr} has no connops plan comment for ${run.identity.config}`;
  if (!fingerprint)
    return `pull request #${pr} was merged without a reviewed plan: its last connops comment says the head commit ${(marker['sha'] ?? '').slice(0, 12)} was ${marker['state'] ?? 'not planned'}`;
  return {
    pr,
    fingerprint,
    body: comment.body,
    ...(marker['planned'] ? { planned: marker['planned'] } : {}),
  };
}

export async function applyOnPush(run: Run): Promise<Outcome> {
  const sha = run.env['GITHUB_SHA'] ?? '';
  const defaultBranch = run.event.repository?.default_branch;
  if (run.eventName === 'push' && run.env['GITHUB_REF'] !== `refs/heads/${defaultBranch ?? ''}`)
    return {
      code: EXIT.FAILURE,
      reason: `connops: apply runs on pushes to the default branch (${defaultBranch ?? 'unknown'}) only; this push is to ${run.env['GITHUB_REF'] ?? 'an unknown ref'}. Nothing was written.`,
    };
  const invalid = await validateStrict(run);
  if (invalid) return invalid;
  // Fails closed: an API error here is a failed step, never an unreviewed apply.
  const pr = await mergedPull(run, sha);
  const reviewed =
    run.eventName === 'push'
      ? await findReviewedPlan(run, sha, pr)
      : `apply was started by ${run.eventName || 'an unknown event'}, not by a push that merged a reviewed pull request`;
  // The reviewed scope (issue 24 item 1): a plan of the changed accounts is re-made
  // over the accounts this push changes, i.e. the merged PR's files compared with the
  // branch before the merge, so a PR merged after another sees only its own changes.
  // The accounts enter the fingerprint, so a different scope is refused below.
  const scoped =
    typeof reviewed !== 'string' && reviewed.planned === 'accounts'
      ? await changedAccountsSince(run, run.event.before, 'previous commit of the push (before)')
      : undefined;
  // The plan's sessions stay open: the apply below writes from this very plan.
  const p = await makePlan(run, true, scoped);
  if (isOutcome(p)) {
    await tellPull(
      run,
      pr,
      `**Apply failed before planning**: ${p.reason ?? 'see the run'}. Nothing was written.`,
    );
    return p;
  }
  try {
    const result = await applyReviewed(run, p, reviewed);
    await tellPull(run, pr, result.report);
    return result.outcome;
  } finally {
    await p.project?.pool.closeAll();
  }
}

interface Applied {
  readonly outcome: Outcome;
  /** Markdown for the merged PR: applied with counts, refused with reasons, or failed with what was and was not written. */
  readonly report: string;
}

async function applyReviewed(run: Run, p: Planned, reviewed: Reviewed | string): Promise<Applied> {
  const { plan } = p;
  const heading = title(run, 'connops apply');
  if (p.trouble) {
    const why = (plan.incomplete ?? []).map((r) => `- ${mdCell(r)}`).join('\n');
    await run.summary(
      `### ${heading}\n\n**Apply refused: the plan is incomplete** (see the log).\n\n${why}\n`,
    );
    return {
      outcome: INCOMPLETE,
      report: `**Apply refused: the plan is INCOMPLETE**; nothing was written.\n\n${why}`,
    };
  }
  if (changeCount(plan) === 0) {
    await run.summary(`### ${heading}\n\n**Nothing to apply:** ${summaryLine(plan)}\n`);
    return { outcome: { code: EXIT.OK }, report: `**Nothing to apply:** ${summaryLine(plan)}` };
  }
  const notes: string[] = [];
  if (typeof reviewed === 'string') {
    const text = `No reviewed plan: ${reviewed}.`;
    if (!run.inputs.allowPlanChange) return refuse(run, heading, plan, [text]);
    notes.push(`${text} Applying anyway because \`allow-plan-change\` is true.`);
  } else if (reviewed.fingerprint !== plan.fingerprint) {
    const reasons = explainPlanChange(reviewed.body, plan) ?? [
      'the live state or the documents changed since the reviewed plan was made',
    ];
    const text = `The plan differs from the one reviewed in #${reviewed.pr} (fingerprint ${reviewed.fingerprint.slice(0, 16)}…, now ${plan.fingerprint.slice(0, 16)}…): ${reasons.join('; ')}.`;
    if (!run.inputs.allowPlanChange) return refuse(run, heading, plan, [text]);
    notes.push(`${text} Applying anyway because \`allow-plan-change\` is true.`);
  } else {
    notes.push(`The plan matches the one reviewed in #${reviewed.pr}.`);
  }
  for (const n of notes) run.say(n.includes('anyway') ? 'warning' : 'info', `connops: ${n}`);
  const { code, log, results } = await runApply(run, p.project as PlannedProject);
  const shown =
    log.length > APPLY_LOG_LIMIT ? `${log.slice(0, APPLY_LOG_LIMIT)}\n…(see the step log)` : log;
  await run.summary(
    [
      `### ${heading}`,
      '',
      ...notes.map((n) => `> ${n}`),
      '',
      code === EXIT.OK ? '**Applied.**' : '**Apply failed** (see the log).',
      '',
      '```text',
      shown.replaceAll('```', "'''").trimEnd(),
      '```',
      '',
      renderPlanMarkdown(plan, { title: 'The plan applied' }),
    ].join('\n'),
  );
  return {
    outcome:
      code === EXIT.OK
        ? { code }
        : { code, reason: 'connops: apply did not complete (see the log and the job summary)' },
    report: applyReport(code, notes, results, log),
  };
}

async function refuse(run: Run, heading: string, plan: Plan, reasons: string[]): Promise<Applied> {
  const advice =
    'Nothing was written. Open a pull request (or re-run its plan) so the current plan is reviewed, or re-run this job with `allow-plan-change: true` to apply the plan as it is now.';
  await run.summary(
    [
      `### ${heading}`,
      '',
      '**Apply refused.**',
      '',
      ...reasons.map((r) => `- ${r}`),
      '',
      advice,
      '',
      renderPlanMarkdown(plan, { title: 'The plan as it is now (not applied)' }),
    ].join('\n'),
  );
  return {
    outcome: {
      code: EXIT.FAILURE,
      reason: `connops: apply refused. ${reasons.join(' ')} ${advice}`,
    },
    report: [
      '**Apply refused**; nothing was written.',
      '',
      ...reasons.map((r) => `- ${mdCell(r)}`),
      '',
      advice,
    ].join('\n'),
  };
}

/**
 * Applies the plan just compared with the reviewed one, without reading live
 * state again: each write carries the revision it was planned against, so a
 * document changed since is refused (409/412), not overwritten. The log is
 * kept for the job summary as well as written to the step log.
 */
async function runApply(
  run: Run,
  project: PlannedProject,
): Promise<{ code: number; log: string; results?: ChangeResult[] }> {
  let log = '';
  let written: ChangeResult[] | undefined;
  const say = (text: string): void => {
    log += text;
    run.log(text);
  };
  const code = await run.untrusted(async () => {
    const prepared = prepareApply(project, { only: run.flags.only, force: run.flags.force });
    if (prepared.refused === 'incomplete') return EXIT.FAILURE; // the caller checked
    say(renderPlanText(prepared.shown, { color: false }));
    if (prepared.writes === 0) {
      say('Nothing to apply.\n');
      return EXIT.OK;
    }
    if (prepared.refused === 'limits') {
      say(renderLimitsRefused(prepared.reasons));
      return EXIT.FAILURE;
    }
    const logFile = run.flags['log-file'];
    const audit = logFile ? AuditLog.open(resolve(run.cwd, logFile), run.secrets) : undefined;
    let signal: StopSignal | undefined;
    const stopListening = run.onStopSignal?.((s) => {
      signal = s;
      say(`connops: ${s}: starting no new write; the writes in flight finish and are reported\n`);
    });
    try {
      const { results, numbers } = await executeApply(project, prepared.selected, {
        ...(audit ? { audit: (r) => audit.append(r) } : {}),
        stop: () => (signal ? `interrupted by ${signal}` : undefined),
      });
      written = results;
      say(renderApplyResults(results));
      say(renderNumberRepairs(numbers));
      if (signal) return SIGNAL_EXIT[signal];
      const shortfall = renderApplyShortfall(results, numbers);
      if (shortfall === undefined) return EXIT.OK;
      say(shortfall);
      return EXIT.FAILURE;
    } finally {
      stopListening?.();
      audit?.close();
    }
  });
  return { code, log: run.secrets.redact(log), ...(written ? { results: written } : {}) };
}

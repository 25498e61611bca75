/**
 * Planning in the Action: the engine's planProject with the run's flags, its
 * text in the step log, the JSON plan in a file and the step's outputs; and the
 * plain `plan` job (not a pull request), which ends in the job summary.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EXIT } from '../core/exit-codes.ts';
import type { Plan } from '../core/plan.ts';
import { renderPlanJson, renderPlanMarkdown, renderPlanText } from '../core/render-plan.ts';
import { renderInvalidDocuments, renderLoaded, renderPlanTrouble } from '../core/render-run.ts';
import { narrowPlan } from '../engine/apply-project.ts';
import { planOptionsFromFlags, planProject, type PlannedProject } from '../engine/project.ts';
import { GitRepo } from '../io/git.ts';
import { changeCount, INCOMPLETE, title, type Outcome, type Run } from './run.ts';
import { validateStrict } from './validate.ts';

export interface Planned {
  readonly plan: Plan;
  /** Read failures or plan problems: the plan is incomplete. */
  readonly trouble: boolean;
  /** With `keepOpen`: the planned project, sessions open, for an apply (the caller closes it). */
  readonly project?: PlannedProject;
}

export function isOutcome(x: Planned | Outcome): x is Outcome {
  return 'code' in x;
}

/**
 * A plan scoped to the accounts changed since `since` (`--changed-since since
 * --scope accounts`), when git can compare with that commit here; otherwise
 * undefined (the caller plans everything), with a warning saying why. A full
 * plan is never less safe than a scoped one, only slower.
 */
export async function changedAccountsSince(
  run: Run,
  since: string | undefined,
  what: string,
): Promise<{ readonly changedSince: string; readonly scope: 'accounts' } | undefined> {
  if (run.flags['changed-since'] !== undefined) return undefined; // args chose already
  const why = await (async (): Promise<string | undefined> => {
    if (since === undefined || !/^[0-9a-f]{40}$/.test(since))
      return `the event payload has no ${what}`;
    try {
      const repo = await GitRepo.find(dirname(run.configPath), run.env);
      if (!repo) return 'the workspace is not a git checkout';
      await repo.mergeBase(await repo.resolveRef(since), await repo.headCommit());
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  })();
  if (why === undefined) return { changedSince: since as string, scope: 'accounts' };
  run.say(
    'warning',
    `connops: planning every account instead of only the changed ones: ${why} (check out with enough history, e.g. actions/checkout with fetch-depth: 2)`,
  );
  return undefined;
}

/** Plans with the engine, logs the text plan, writes the JSON plan and the outputs. */
export async function makePlan(
  run: Run,
  keepOpen = false,
  scoped?: { readonly changedSince: string; readonly scope: 'accounts' },
): Promise<Planned | Outcome> {
  const planned = await run.untrusted(async () => {
    const result = await planProject({
      ...planOptionsFromFlags(run.flags),
      ...(scoped ?? {}),
      configPath: run.configPath,
      cwd: run.cwd,
      env: run.env,
      secrets: run.secrets,
      onLoaded(loaded) {
        for (const line of renderLoaded(loaded, run.flags.quiet === true)) run.log(line);
      },
    });
    if (result.invalid) run.log(renderInvalidDocuments(result.diagnostics));
    return result;
  });
  if (planned.invalid)
    return { code: EXIT.INVALID, reason: 'connops: the documents are invalid (see the log)' };
  let handedOver = false;
  try {
    // `--only`: shown, saved, fingerprinted and compared as the selection only (INVARIANTS.md 12).
    const plan = narrowPlan(planned.plan, run.flags.only);
    await run.untrusted(async () => {
      for (const line of renderPlanTrouble(planned.failures, planned.plan)) run.log(line);
      run.log(renderPlanText(plan, { color: false }));
    });
    const trouble = !planned.complete;
    const digest = createHash('sha256')
      .update(`${run.identity.config}\n${run.identity.scope}`)
      .digest('hex')
      .slice(0, 12);
    const file = join(run.env['RUNNER_TEMP'] || tmpdir(), `connops-plan-${digest}.json`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, run.secrets.redact(renderPlanJson(plan)), { mode: 0o600 });
    run.core.setOutput('has-changes', changeCount(plan) > 0 ? 'true' : 'false');
    run.core.setOutput('fingerprint', plan.fingerprint);
    run.core.setOutput('plan-json', file);
    handedOver = keepOpen;
    return keepOpen ? { plan, trouble, project: planned } : { plan, trouble };
  } finally {
    if (!handedOver) await planned.pool.closeAll();
  }
}

/** `command: plan` outside a pull request: the plan in the log and the job summary. */
export async function plainPlan(run: Run): Promise<Outcome> {
  const invalid = await validateStrict(run);
  if (invalid) return invalid;
  const p = await makePlan(run);
  if (isOutcome(p)) return p;
  await run.summary(renderPlanMarkdown(p.plan, { title: title(run, 'connops plan') }));
  return p.trouble ? INCOMPLETE : { code: EXIT.OK };
}

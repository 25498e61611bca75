/**
 * The GitHub Action (SPEC.md §6), a thin driver over the engine: validate and
 * plan on pull requests (one comment per config, updated in place), apply on
 * pushes to the default branch only when the plan still matches the one
 * reviewed in the merged PR, and drift on a schedule (optionally one issue
 * kept up to date). Each job lives in its own module; this one reads the
 * inputs, dispatches, and maps the outcome to the step's result.
 */
import { ConnopsError, UsageError } from '../core/errors.ts';
import { EXIT } from '../core/exit-codes.ts';
import type { Env } from '../engine/project.ts';
import { onStopSignal } from '../io/signals.ts';
import { applyOnPush } from './apply.ts';
import { drift } from './drift.ts';
import { createGitHubApi, GitHubApiError, type GitHubApi } from './github.ts';
import { InputError } from './inputs.ts';
import { plainPlan } from './plan.ts';
import { pullRequestPlan } from './pull-request.ts';
import {
  isPullRequest,
  prepare,
  toolkitCore,
  type ActionCore,
  type Outcome,
  type Run,
} from './run.ts';
import { validate, validationSummary } from './validate.ts';

export type { ActionCore } from './run.ts';
export { toolkitCore } from './run.ts';

/**
 * The action as `@github/local-action` and GitHub's TypeScript template expect
 * it: an exported `run()` that reads the environment and sets the exit code
 * (the process entry, entry.ts, calls it too).
 */
export async function run(): Promise<void> {
  // A copy: each read of process.env asks the C library, which scans every variable.
  process.exitCode = await runAction({ ...process.env }, { core: toolkitCore(), onStopSignal });
}

export interface ActionDeps {
  readonly core: ActionCore;
  /** The process's SIGINT/SIGTERM (a cancelled workflow run sends them); none in tests of the logic. */
  readonly onStopSignal?: Run['onStopSignal'];
}

export async function runAction(
  env: Env,
  deps: ActionDeps = { core: toolkitCore() },
): Promise<number> {
  const core = deps.core;
  let run: Run | undefined;
  let api: GitHubApi | undefined;
  let outcome: Outcome;
  try {
    run = prepare(env, core, () => api, deps.onStopSignal);
    const token = run.inputs.githubToken;
    if (token !== '' && run.repository !== '')
      api = createGitHubApi({
        apiUrl: env['GITHUB_API_URL'] || 'https://api.github.com',
        repository: run.repository,
        token,
        secrets: run.secrets,
        onWarning: (m) => core.warning(m),
      });
    outcome = await dispatch(run);
  } catch (err) {
    outcome = failureOf(err, env);
  } finally {
    await api?.close();
  }
  if (outcome.code !== EXIT.OK) {
    const reason =
      outcome.reason ?? `connops ${env['INPUT_COMMAND'] ?? ''} failed (exit ${outcome.code})`;
    core.setFailed(run ? run.secrets.redact(reason) : reason);
  }
  return outcome.code;
}

function failureOf(err: unknown, env: Env): Outcome {
  if (err instanceof InputError || err instanceof UsageError)
    return { code: EXIT.USAGE, reason: `connops action: ${err.message}` };
  if (err instanceof ConnopsError || err instanceof GitHubApiError)
    return { code: EXIT.FAILURE, reason: `connops: ${err.message}` };
  const e = err as Error;
  return {
    code: EXIT.FAILURE,
    reason: `connops action: internal error: ${e?.message ?? String(err)}${env['CONNOPS_DEBUG'] ? `\n${e?.stack ?? ''}` : ''}`,
  };
}

async function dispatch(run: Run): Promise<Outcome> {
  switch (run.inputs.command) {
    case 'validate': {
      const v = await validate(run, { lenientEnv: isPullRequest(run) });
      await run.summary(validationSummary(run, v));
      return v.outcome;
    }
    case 'plan':
      return isPullRequest(run) ? pullRequestPlan(run) : plainPlan(run);
    case 'drift':
      return drift(run);
    case 'apply':
      return applyOnPush(run);
  }
}

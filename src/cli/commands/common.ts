/**
 * What plan, drift and apply share on the CLI side: flags → engine options,
 * and printing what the engine's planProject returns besides the plan
 * (diagnostics, notes, read failures).
 */
import { EXIT } from '../../core/exit-codes.ts';
import { renderInvalidDocuments, renderLoaded, renderPlanTrouble } from '../../core/render-run.ts';
import { planOptionsFromFlags, planProject, type PlannedProject } from '../../engine/project.ts';
import type { Selection } from '../../engine/reconcile.ts';
import type { CommandContext } from '../context.ts';
import { progressReporter } from '../progress.ts';

/**
 * Plans with the engine, printing diagnostics and notes on stderr. Returns an
 * exit code instead of a plan when the documents are invalid.
 */
export async function loadAndPlan(
  ctx: CommandContext,
  options: { selection?: Selection; prune?: boolean } = {},
): Promise<PlannedProject | number> {
  // Flags first: a usage mistake is reported before any file is read.
  const fromFlags = planOptionsFromFlags(ctx.flags);
  const result = await planProject({
    ...fromFlags,
    configPath: ctx.configPath,
    cwd: ctx.io.cwd,
    env: ctx.io.env,
    secrets: ctx.secrets,
    ...(options.selection ? { selection: options.selection } : {}),
    ...(options.prune !== undefined ? { prune: options.prune } : {}),
    onProgress: progressReporter(ctx),
    onLoaded(loaded) {
      for (const line of renderLoaded(loaded, ctx.flags.quiet === true)) ctx.err(line);
    },
  });
  if (result.invalid) {
    ctx.err(renderInvalidDocuments(result.diagnostics));
    return EXIT.INVALID;
  }
  return result;
}

/** Prints read failures and plan problems; returns true when the plan is incomplete. */
export function reportPlanTrouble(ctx: CommandContext, run: PlannedProject): boolean {
  for (const line of renderPlanTrouble(run.failures, run.plan)) ctx.err(line);
  return !run.complete;
}

/**
 * `connops apply [plan.json]`: re-plan, refuse a stale plan, check limits, ask,
 * execute, verify, audit.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConnopsError, UsageError } from '../../core/errors.ts';
import { EXIT } from '../../core/exit-codes.ts';
import { renderPlanText, type PlanJson } from '../../core/render-plan.ts';
import {
  renderApplyResults,
  renderApplyShortfall,
  renderLimitsRefused,
  renderNumberRepairs,
} from '../../core/render-run.ts';
import type { AuditRecord } from '../../engine/apply.ts';
import {
  executeApply,
  narrowPlan,
  type ApplyOutcome,
  prepareApply,
  staleReasons,
} from '../../engine/apply-project.ts';
import { savedSelection, type PlannedProject } from '../../engine/project.ts';
import { AuditLog } from '../../io/audit-log.ts';
import { SIGNAL_EXIT, type StopSignal } from '../../io/signals.ts';
import type { CommandContext } from '../context.ts';
import { progressReporter } from '../progress.ts';
import { loadAndPlan, reportPlanTrouble } from './common.ts';

export async function applyCommand(ctx: CommandContext): Promise<number> {
  const planFile = ctx.positionals[0];
  let saved: PlanJson | undefined;
  if (planFile !== undefined) saved = await readSavedPlan(resolve(ctx.io.cwd, planFile));
  if (saved && (saved.complete === false || (saved.incomplete?.length ?? 0) > 0)) {
    ctx.err(
      `connops: apply refused: ${planFile} is an INCOMPLETE plan (${(saved.incomplete ?? []).join('; ') || 'some live state could not be read'}). Nothing was read or written; fix the cause, plan again and review the new plan.\n`,
    );
    return EXIT.FAILURE;
  }
  const fromSaved = saved ? savedSelection(saved.meta) : undefined;
  if (fromSaved?.only && ctx.flags.only)
    throw new UsageError(
      `--only: ${planFile} was saved with --only ${fromSaved.only.join(' ')}; apply applies exactly that selection, so give no --only`,
    );
  const only = fromSaved?.only ?? ctx.flags.only;
  const run = await loadAndPlan(ctx, fromSaved ?? {});
  if (typeof run === 'number') return run;
  // Compared as reviewed: the saved plan holds the selection's writes only.
  let stale: string[] | undefined;
  try {
    stale = run.complete
      ? staleReasons(narrowPlan(run.plan, only), {
          saved,
          fingerprint: ctx.flags['expect-fingerprint'],
        })
      : undefined;
  } catch (err) {
    await run.pool.closeAll();
    throw err;
  }
  if (stale) {
    await run.pool.closeAll();
    ctx.err(
      `connops: plan is stale: ${stale.join('; ')}.\nNothing was written. Run \`connops plan\` again and review the new plan (fingerprint ${run.plan.fingerprint}).\n`,
    );
    return EXIT.FAILURE;
  }
  return applyPlanned(ctx, run, only);
}

/**
 * Applies a plan just made in this process (its sessions still open): shows
 * what the engine selected, asks, executes and reports. Closes the plan's
 * sessions. Every write carries the revision it was planned against, so
 * anything changed since is refused, not overwritten.
 */
async function applyPlanned(
  ctx: CommandContext,
  run: PlannedProject,
  only: readonly string[] | undefined,
): Promise<number> {
  try {
    if (reportPlanTrouble(ctx, run)) {
      ctx.err('connops: apply refused: the plan is incomplete (see above); nothing was written.\n');
      return EXIT.FAILURE;
    }
    const prepared = prepareApply(run, { only, force: ctx.flags.force });
    if (prepared.refused === 'incomplete') return EXIT.FAILURE; // reported above
    ctx.out(renderPlanText(prepared.shown, { color: ctx.color }));
    if (prepared.writes === 0) {
      ctx.out('Nothing to apply.\n');
      return EXIT.OK;
    }
    if (prepared.refused === 'limits') {
      ctx.err(renderLimitsRefused(prepared.reasons));
      return EXIT.FAILURE;
    }
    if (!ctx.flags.yes) {
      if (!ctx.io.stdinIsTTY || !ctx.io.prompt) {
        ctx.err(
          'connops: apply needs --yes when it is not run on a terminal (nothing was written).\n',
        );
        return EXIT.FAILURE;
      }
      const answer = await ctx.io.prompt(
        `\nApply ${prepared.writes} change${prepared.writes === 1 ? '' : 's'} to live systems? Only 'yes' is accepted: `,
      );
      if (answer.trim() !== 'yes') {
        ctx.err('Apply cancelled; nothing was written.\n');
        return EXIT.FAILURE;
      }
    }
    const logFile = ctx.flags['log-file'];
    // Opened before the first write: a log that cannot be written stops the apply here.
    const audit = logFile ? AuditLog.open(resolve(ctx.io.cwd, logFile), ctx.secrets) : undefined;
    let outcome: ApplyOutcome;
    let signal: StopSignal | undefined;
    const stopListening = ctx.io.onStopSignal?.((s) => {
      signal = s;
      ctx.err(
        `\nconnops: ${s}: starting no new write; the writes in flight finish and are reported${audit ? ' and audited' : ''} (${s} again stops at once, leaving those unrecorded)\n`,
      );
    });
    try {
      outcome = await executeApply(run, prepared.selected, {
        ...(audit ? { audit: (r: AuditRecord) => audit.append(r) } : {}),
        onProgress: progressReporter(ctx),
        stop: () => (signal ? `interrupted by ${signal}` : undefined),
      });
    } finally {
      stopListening?.();
      audit?.close();
    }
    const { results, numbers } = outcome;
    ctx.out(renderApplyResults(results));
    ctx.out(renderNumberRepairs(numbers));
    if (signal) {
      ctx.err(
        `connops: apply interrupted by ${signal}: the writes not started are listed as skipped. Run \`connops plan\` to see what is left.\n`,
      );
      return SIGNAL_EXIT[signal];
    }
    const shortfall = renderApplyShortfall(results, numbers);
    if (shortfall === undefined) return EXIT.OK;
    ctx.err(shortfall);
    return EXIT.FAILURE;
  } finally {
    await run.pool.closeAll();
  }
}

async function readSavedPlan(path: string): Promise<PlanJson> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read the saved plan ${path}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConnopsError(
      'STALE_PLAN',
      `${path} is not a connops plan (not JSON); save one with \`connops plan --out ${path}\``,
    );
  }
  const p = json as Partial<PlanJson>;
  if (typeof p.fingerprint !== 'string' || !Array.isArray(p.changes) || p.format_version !== '1') {
    throw new ConnopsError(
      'STALE_PLAN',
      `${path} is not a connops plan of format 1; save one with \`connops plan --out\``,
    );
  }
  return p as PlanJson;
}

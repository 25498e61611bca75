/**
 * `connops plan` and `connops drift`.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  renderPlanJson,
  renderPlanMarkdown,
  renderPlanText,
  summaryLine,
} from '../../core/render-plan.ts';
import { formatFlag } from '../../core/options.ts';
import type { CommandContext } from '../context.ts';
import { EXIT } from '../../core/exit-codes.ts';
import { narrowPlan } from '../../engine/apply-project.ts';
import { loadAndPlan, reportPlanTrouble } from './common.ts';

export async function planCommand(ctx: CommandContext): Promise<number> {
  return runPlan(ctx, 'plan');
}

export async function driftCommand(ctx: CommandContext): Promise<number> {
  return runPlan(ctx, 'drift');
}

async function runPlan(ctx: CommandContext, mode: 'plan' | 'drift'): Promise<number> {
  const format = formatFlag(ctx.flags, ['text', 'markdown', 'json'] as const, 'text');
  const run = await loadAndPlan(ctx);
  if (typeof run === 'number') return run;
  try {
    // `--only`: the plan shows, saves and fingerprints only the selection (INVARIANTS.md 12).
    const plan = narrowPlan(run.plan, ctx.flags.only);
    const trouble = reportPlanTrouble(ctx, run);
    if (format === 'json') ctx.out(renderPlanJson(plan));
    else if (format === 'markdown')
      ctx.out(
        renderPlanMarkdown(plan, {
          title: mode === 'drift' ? 'connops drift report' : 'connops plan',
        }),
      );
    else {
      ctx.out(renderPlanText(plan, { color: ctx.color }));
      if (mode === 'drift')
        ctx.out(
          trouble
            ? 'INCOMPLETE: drift is unknown where live state could not be read (see above).\n'
            : plan.summary.create + plan.summary.update + plan.summary.delete > 0
              ? 'Drift detected: live state differs from git.\n'
              : plan.unmanaged > 0
                ? `No drift in the declared objects; ${plan.unmanaged} live object${plan.unmanaged === 1 ? ' is' : 's are'} not declared by any document (listed above).\n`
                : 'No drift: live state matches git.\n',
        );
    }
    if (ctx.flags.out) {
      await writeFile(
        resolve(ctx.io.cwd, ctx.flags.out),
        ctx.secrets.redact(renderPlanJson(plan)),
        { mode: 0o600 },
      );
      ctx.err(
        `Saved the plan to ${ctx.flags.out} (no secret values). Apply it with: connops apply ${ctx.flags.out}\n`,
      );
    }
    if (format !== 'text') ctx.err(summaryLine(plan) + '\n');
    if (trouble) return EXIT.FAILURE;
    const changes = plan.summary.create + plan.summary.update + plan.summary.delete;
    if (mode === 'drift' || ctx.flags['detailed-exitcode'])
      return changes > 0 ? EXIT.CHANGES : EXIT.OK;
    return EXIT.OK;
  } finally {
    await run.pool.closeAll();
  }
}

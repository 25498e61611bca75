/**
 * `connops report merge FILE… [--format text|markdown|json] [--out FILE]`:
 * one report from the JSON plans of `--shard i/n` jobs (see docs/git-and-scale.md).
 */
import { writeFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { UsageError } from '../../core/errors.ts';
import { checkPlanJson, mergePlans, type ShardInput } from '../../core/merge-plans.ts';
import {
  planFromJson,
  renderPlanMarkdown,
  renderPlanText,
  summaryLine,
  type PlanJson,
} from '../../core/render-plan.ts';
import { readTextFile } from '../../io/files.ts';
import { formatFlag } from '../../core/options.ts';
import type { CommandContext } from '../context.ts';
import { EXIT } from '../../core/exit-codes.ts';

export async function reportCommand(ctx: CommandContext): Promise<number> {
  const [sub, ...files] = ctx.positionals;
  if (sub !== 'merge')
    throw new UsageError(
      `report needs a subcommand: connops report merge FILE… (got ${sub === undefined ? 'none' : `"${sub}"`})`,
    );
  if (files.length === 0)
    throw new UsageError('report merge needs the plan JSON files of the shards');
  const format = formatFlag(ctx.flags, ['text', 'markdown', 'json'] as const, 'text');

  const inputs: ShardInput[] = [];
  let bad = 0;
  for (const file of files) {
    const path = resolve(ctx.io.cwd, file);
    const res = await readTextFile(path);
    let reason: string | undefined;
    let value: unknown;
    if (!res.ok) reason = res.reason;
    else {
      try {
        value = JSON.parse(res.text);
        reason = checkPlanJson(value);
      } catch (err) {
        reason = `not JSON (${(err as Error).message})`;
      }
    }
    if (reason !== undefined) {
      ctx.err(`connops: ${file}: ${reason}\n`);
      bad++;
    } else inputs.push({ file: relative(ctx.io.cwd, path) || file, plan: value as PlanJson });
  }
  if (bad > 0) return EXIT.INVALID;

  const merged = mergePlans(inputs);
  if (!merged.ok) {
    for (const e of merged.errors) ctx.err(`connops: ${e}\n`);
    return EXIT.INVALID;
  }
  for (const w of merged.warnings) ctx.err(`connops: warning: ${w}\n`);
  const plan = merged.plan;
  const title = `connops plan (${inputs.length} shard${inputs.length === 1 ? '' : 's'} merged)`;
  const text =
    format === 'json'
      ? JSON.stringify(plan, null, 2) + '\n'
      : format === 'markdown'
        ? renderPlanMarkdown(planFromJson(plan), { title })
        : renderPlanText(planFromJson(plan), { color: ctx.color && !ctx.flags.out });
  if (ctx.flags.out) {
    await writeFile(resolve(ctx.io.cwd, ctx.flags.out), text, { mode: 0o600 });
    ctx.err(`Wrote the merged report to ${ctx.flags.out}. ${summaryLine(planFromJson(plan))}\n`);
  } else ctx.out(text);
  const changes = plan.summary.create + plan.summary.update + plan.summary.delete;
  if (plan.complete === false) {
    ctx.err(`connops: the merged report is INCOMPLETE: ${(plan.incomplete ?? []).join('; ')}\n`);
    return EXIT.FAILURE;
  }
  if (plan.problems.length > 0) return EXIT.FAILURE;
  return ctx.flags['detailed-exitcode'] && changes > 0 ? EXIT.CHANGES : EXIT.OK;
}

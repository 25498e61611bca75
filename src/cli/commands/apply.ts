/**
 * `connops apply [plan.json]`: re-plan, refuse a stale plan, check limits, ask,
 * execute, verify, audit.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConnopsError, UsageError } from '../../core/errors.ts';
import { keyString } from '../../core/model.ts';
import { explainStale, renderPlanText, type PlanJson } from '../../core/render-plan.ts';
import { globToRegExp } from '../../io/files.ts';
import {
  applyPlan,
  verifyApplied,
  type AuditRecord,
  type ChangeResult,
} from '../../engine/apply.ts';
import type { Selection } from '../../engine/reconcile.ts';
import { PROVIDERS } from '../../providers/registry.ts';
import type { CommandContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { progressReporter } from '../progress.ts';
import { loadAndPlan, planIsIncomplete, reportPlanTrouble, type PlannedProject } from './common.ts';

export async function applyCommand(ctx: CommandContext): Promise<number> {
  const planFile = ctx.positionals[0];
  let saved: PlanJson | undefined;
  if (planFile !== undefined) saved = await readSavedPlan(resolve(ctx.io.cwd, planFile));
  const expected = saved?.fingerprint ?? ctx.flags['expect-fingerprint'];
  const run = await loadAndPlan(ctx, saved ? savedSelection(saved) : {});
  if (typeof run === 'number') return run;
  const { plan } = run;
  if (!planIsIncomplete(run) && expected !== undefined && expected !== plan.fingerprint) {
    await run.pool.closeAll();
    const reasons = saved
      ? explainStale(saved, plan)
      : ['the live state or the documents changed since the plan with that fingerprint was made'];
    ctx.err(
      `connops: plan is stale: ${reasons.join('; ')}.\nNothing was written. Run \`connops plan\` again and review the new plan (fingerprint ${plan.fingerprint}).\n`,
    );
    return EXIT.FAILURE;
  }
  return applyPlanned(ctx, run);
}

/**
 * Applies a plan just made in this process (its sessions still open): refuses
 * an incomplete plan, applies `--only`, the policy limits and the prompt, then
 * executes, verifies and reports. Closes the plan's sessions. The Action uses
 * it after comparing the plan with the reviewed one, so it does not read the
 * whole estate a second time; every write still carries the revision it was
 * planned against, so anything changed since is refused, not overwritten.
 */
export async function applyPlanned(ctx: CommandContext, run: PlannedProject): Promise<number> {
  try {
    const { plan } = run;
    if (reportPlanTrouble(ctx, run)) {
      ctx.err('connops: apply refused: the plan is incomplete (see above); nothing was written.\n');
      return EXIT.FAILURE;
    }
    const selected = selectChanges(
      plan.changes.map((c) => keyString(c.key)),
      ctx.flags.only,
    );
    const chosen = plan.changes.filter((c, i) => c.action !== 'noop' && selected.has(i));
    ctx.out(
      renderPlanText(
        { ...plan, changes: plan.changes.filter((_, i) => selected.has(i)) },
        { color: ctx.color },
      ),
    );
    if (chosen.length === 0) {
      ctx.out('Nothing to apply.\n');
      return EXIT.OK;
    }
    const deletes = chosen.filter((c) => c.action === 'delete').length;
    const { max_deletes, max_changes } = run.config.policy;
    const over: string[] = [];
    if (deletes > max_deletes)
      over.push(`${deletes} deletes exceed policy.max_deletes (${max_deletes})`);
    if (chosen.length > max_changes)
      over.push(`${chosen.length} changes exceed policy.max_changes (${max_changes})`);
    if (over.length > 0 && !ctx.flags.force) {
      ctx.err(
        `connops: apply refused: ${over.join('; ')}. Review the plan, then re-run with --force if it is intended.\n`,
      );
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
        `\nApply ${chosen.length} change${chosen.length === 1 ? '' : 's'} to live systems? Only 'yes' is accepted: `,
      );
      if (answer.trim() !== 'yes') {
        ctx.err('Apply cancelled; nothing was written.\n');
        return EXIT.FAILURE;
      }
    }
    const logFile = ctx.flags['log-file'] ? resolve(ctx.io.cwd, ctx.flags['log-file']) : undefined;
    const auditLines: string[] = [];
    const onProgress = progressReporter(ctx);
    const options = {
      providers: PROVIDERS,
      pool: run.pool,
      config: run.config,
      selected,
      now: () => new Date(),
      audit: (r: AuditRecord) => void auditLines.push(ctx.secrets.redact(JSON.stringify(r))),
      ...(onProgress ? { onProgress } : {}),
    };
    let results: ChangeResult[];
    try {
      results = await applyPlan(plan, options);
    } finally {
      if (logFile && auditLines.length > 0)
        await appendFile(logFile, auditLines.join('\n') + '\n', { mode: 0o600 });
    }
    const ignoreOf = new Map(run.documents.map((d) => [keyString(d.key), d.ignore]));
    results = await verifyApplied(plan, results, options, (k) => ignoreOf.get(keyString(k)) ?? []);
    return report(ctx, results);
  } finally {
    await run.pool.closeAll();
  }
}

function report(ctx: CommandContext, results: readonly ChangeResult[]): number {
  const count = { created: 0, updated: 0, deleted: 0, failed: 0, skipped: 0, unverified: 0 };
  for (const r of results) {
    const mark =
      r.status === 'ok' ? (r.verified === false ? '!' : '✓') : r.status === 'skipped' ? '-' : '✗';
    ctx.out(
      `${mark} ${r.action} ${r.key.kind} "${r.key.name}" (account ${r.key.account}): ${r.message}${r.requestId ? ` [request ${r.requestId}]` : ''}\n`,
    );
    if (r.status === 'failed') count.failed++;
    else if (r.status === 'skipped') count.skipped++;
    else {
      if (r.verified === false) count.unverified++;
      if (r.action === 'create') count.created++;
      if (r.action === 'update') count.updated++;
      if (r.action === 'delete') count.deleted++;
    }
  }
  ctx.out(
    `Apply: ${count.created} created, ${count.updated} updated, ${count.deleted} deleted, ${count.failed} failed, ${count.skipped} skipped${count.unverified ? `, ${count.unverified} not converged` : ''}.\n`,
  );
  if (count.failed + count.skipped + count.unverified > 0) {
    ctx.err(
      'connops: some changes did not complete; the others were applied. Run `connops plan` to see what is left, then apply again.\n',
    );
    return EXIT.FAILURE;
  }
  return EXIT.OK;
}

/** Indices of changes matching --only (glob against the full address or the name); all when absent. */
export function selectChanges(
  addresses: readonly string[],
  only: readonly string[] | undefined,
): Set<number> {
  if (!only || only.length === 0) return new Set(addresses.map((_, i) => i));
  const patterns = only.map(
    (g) => new RegExp(globToRegExp(g).source.replaceAll('[^/]*', '.*').replaceAll('[^/]', '.')),
  );
  const out = new Set<number>();
  addresses.forEach((a, i) => {
    const name = a.split('/').pop() ?? a;
    if (patterns.some((p) => p.test(a) || p.test(name))) out.add(i);
  });
  if (out.size === 0)
    throw new UsageError(`--only ${only.join(', ')} matches no document in the plan`);
  return out;
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

function savedSelection(saved: PlanJson): { selection: Selection; prune?: boolean } {
  const s = (saved.meta?.selection ?? {}) as {
    targets?: string[];
    accounts?: string[];
    shard?: string | null;
    prune?: boolean;
  };
  const m = typeof s.shard === 'string' ? /^(\d+)\/(\d+)$/.exec(s.shard) : null;
  return {
    selection: {
      ...(s.targets?.length ? { targets: s.targets } : {}),
      ...(s.accounts?.length ? { accounts: s.accounts } : {}),
      ...(m ? { shard: { index: Number(m[1]), count: Number(m[2]) } } : {}),
    },
    ...(typeof s.prune === 'boolean' ? { prune: s.prune } : {}),
  };
}

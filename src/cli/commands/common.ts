/**
 * What plan, drift and apply share: load and validate, select, connect, plan.
 */
import { dirname } from 'node:path';
import { countDiagnostics, renderDiagnosticLine } from '../../core/render-diagnostics.ts';
import { ConnopsError, UsageError } from '../../core/errors.ts';
import type { Config, DesiredDocument, DocumentKey } from '../../core/model.ts';
import type { Plan, PlanMeta } from '../../core/plan.ts';
import { recordRequestId } from '../../engine/apply.ts';
import { loadProject, type FileSource } from '../../engine/load.ts';
import {
  inSelection,
  planDocuments,
  selectDocuments,
  type ReadFailure,
  type Selection,
} from '../../engine/reconcile.ts';
import { SessionPool } from '../../engine/sessions.ts';
import type { HttpDeps } from '../../io/http-types.ts';
import { PROVIDERS } from '../../providers/registry.ts';
import { shardFlag } from '../args.ts';
import type { CommandContext } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { progressReporter } from '../progress.ts';

export interface PlannedProject {
  readonly config: Config;
  readonly documents: DesiredDocument[];
  readonly plan: Plan;
  readonly failures: ReadFailure[];
  readonly pool: SessionPool;
  readonly selection: Selection;
}

/** Extra inputs from the git-aware layer (src/io/git.ts), when used. */
export interface GitInputs {
  readonly source?: FileSource;
  readonly keys?: ReadonlySet<string>;
  readonly deleted?: readonly DocumentKey[];
  readonly meta?: PlanMeta['git'];
}

/** Hook for the git layer; replaced by commands that support --ref/--changed-since. */
export type GitResolver = (ctx: CommandContext, config?: Config) => Promise<GitInputs>;

export const noGit: GitResolver = async (ctx) => {
  if (ctx.flags.ref !== undefined || ctx.flags['changed-since'] !== undefined) {
    const { resolveGitInputs } = await import('../../io/git-inputs.ts');
    return resolveGitInputs(ctx);
  }
  // Every run inside a repository records the commit it planned from (two cheap
  // git calls); outside one, or without git, the plan simply has no git meta.
  const { readGitMeta } = await import('../../io/git.ts');
  const meta = await readGitMeta(dirname(ctx.configPath), ctx.io.env);
  return meta ? { meta } : {};
};

export function selectionFromFlags(ctx: CommandContext): Selection {
  const shard = shardFlag(ctx.flags);
  return {
    ...(ctx.flags.target ? { targets: ctx.flags.target } : {}),
    ...(ctx.flags.account ? { accounts: ctx.flags.account } : {}),
    ...(shard ? { shard } : {}),
  };
}

/** Extra HTTP dependencies (tests inject a dispatcher or count requests). */
export const httpOverrides: { deps: HttpDeps } = { deps: {} };

/**
 * Loads, validates (printing diagnostics; invalid input returns exit 3), and
 * plans. Returns an exit code instead of a plan when it cannot go on.
 */
export async function loadAndPlan(
  ctx: CommandContext,
  options: { selection?: Selection; prune?: boolean; git?: GitResolver } = {},
): Promise<PlannedProject | number> {
  // Flags first: a usage mistake is reported before any file is read.
  const base = options.selection ?? selectionFromFlags(ctx);
  const git = await (options.git ?? noGit)(ctx);
  const project = await loadProject({
    configPath: ctx.configPath,
    env: ctx.io.env,
    cwd: ctx.io.cwd,
    ...(git.source ? { source: git.source } : {}),
  });
  for (const s of project.secrets) ctx.secrets.add(s);
  const { errors } = countDiagnostics(project.diagnostics);
  for (const d of project.diagnostics)
    if (d.severity === 'error' || !ctx.flags.quiet) ctx.err(renderDiagnosticLine(d) + '\n');
  if (errors > 0 || !project.config) {
    ctx.err(
      `connops: ${errors} error${errors === 1 ? '' : 's'} in the documents; nothing was read from or written to any API (run \`connops validate\` for the full report)\n`,
    );
    return EXIT.INVALID;
  }
  const config = project.config;
  const selection: Selection = { ...base, ...(git.keys ? { keys: git.keys } : {}) };
  for (const t of selection.targets ?? [])
    if (!config.targets[t])
      throw new UsageError(
        `--target ${t}: the config has no such target (known: ${Object.keys(config.targets).join(', ')})`,
      );
  const documents = selectDocuments(project.documents, selection);
  for (const t of Object.values(config.targets)) {
    if (Object.keys(t.auth).length === 0 && documents.some((d) => d.key.target === t.name)) {
      throw new ConnopsError(
        'CONFIG',
        `target "${t.name}" has no \`auth\`; set it in ${ctx.configPath} (e.g. auth: { api_key: \${env:KAZOO_API_KEY} })`,
      );
    }
    if (
      t.url === undefined &&
      t.type === 'kazoo' &&
      documents.some((d) => d.key.target === t.name)
    ) {
      throw new ConnopsError(
        'CONFIG',
        `target "${t.name}" has no \`url\` (e.g. https://kazoo.example.net:8000/v2)`,
      );
    }
  }
  const userOnRequest = httpOverrides.deps.onRequest;
  const pool = new SessionPool({
    ...httpOverrides.deps,
    secrets: ctx.secrets,
    onRequest: (e) => {
      recordRequestId(e);
      userOnRequest?.(e);
    },
  });
  const prune = options.prune ?? (ctx.flags.prune === true || config.policy.prune);
  const deleted = (git.deleted ?? []).filter((k) => inSelection(base, k.target, k.account));
  const onProgress = progressReporter(ctx);
  try {
    const run = await planDocuments(config, documents, {
      providers: PROVIDERS,
      pool,
      prune,
      deleted,
      ...(git.keys ? { partial: true } : {}),
      meta: {
        generated_at: new Date().toISOString(),
        ...(git.meta ? { git: git.meta } : {}),
        selection: { ...selectionRecord(base), prune },
      },
      ...(onProgress ? { onProgress } : {}),
    });
    return { config, documents, plan: run.plan, failures: run.failures, pool, selection };
  } catch (err) {
    await pool.closeAll();
    throw err;
  }
}

function selectionRecord(s: Selection): Record<string, unknown> {
  return {
    targets: s.targets ?? [],
    accounts: s.accounts ?? [],
    shard: s.shard ? `${s.shard.index}/${s.shard.count}` : null,
  };
}

/** Prints read failures and plan problems; returns true when there were any. */
export function reportPlanTrouble(ctx: CommandContext, run: PlannedProject): boolean {
  for (const f of run.failures)
    ctx.err(
      `connops: cannot read ${f.kind} objects in account ${f.account} on ${f.target}: ${f.message}\n`,
    );
  for (const p of run.plan.problems)
    ctx.err(
      `connops: ${p.source ? `${p.source.file}:${p.source.line}:${p.source.col}: ` : ''}${p.message}\n`,
    );
  return planIsIncomplete(run);
}

/** True when some live state could not be read or part of the plan could not be made. */
export function planIsIncomplete(run: PlannedProject): boolean {
  return run.failures.length > 0 || run.plan.problems.length > 0;
}

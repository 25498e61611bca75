/**
 * A whole run up to a plan, as one function both drivers call: load and
 * validate, resolve the git inputs, select, check that the selected targets can
 * be reached, open the sessions, read live state and plan. It takes values and
 * returns values and prints nothing: diagnostics, notes and read failures come
 * back in the result, and the driver (CLI or Action) renders them.
 */
import { dirname, relative } from 'node:path';
import { ConnopsError, UsageError } from '../core/errors.ts';
import {
  splitScope,
  type Config,
  type DesiredDocument,
  type Diagnostic,
  type DocumentKey,
  type TargetConfig,
} from '../core/model.ts';
import { scopeFlag, shardFlag, type Flags } from '../core/options.ts';
import type { Plan, PlanMeta } from '../core/plan.ts';
import { countDiagnostics } from '../core/render-diagnostics.ts';
import type { HttpDeps } from '../io/http-types.ts';
import type { SecretSet } from '../io/redact.ts';
import { PROVIDERS } from '../providers/registry.ts';
import { recordRequestId } from './apply.ts';
import { loadProject, type FileSource } from './load.ts';
import { LivePrefetch } from './prefetch.ts';
import {
  inSelection,
  planDocuments,
  scopeOf,
  selectDocuments,
  type ProgressEvent,
  type ReadFailure,
  type Selection,
} from './reconcile.ts';
import { SessionPool } from './sessions.ts';

export type Env = Readonly<Record<string, string | undefined>>;

/** What the git layer (src/engine/git-inputs.ts) adds to a run, when it is used. */
export interface GitInputs {
  readonly source?: FileSource;
  readonly keys?: ReadonlySet<string>;
  readonly deleted?: readonly DocumentKey[];
  readonly meta?: PlanMeta['git'];
  /** Things the user should know about the git inputs (printed by the driver). */
  readonly notes?: readonly string[];
  /**
   * With `scope: 'accounts'`: the accounts (scopeOf) the changed files touch,
   * or undefined with `why` when the whole estate must be planned.
   */
  readonly scope?: {
    readonly since: string;
    readonly accounts: ReadonlySet<string> | undefined;
    readonly why?: string;
  };
}

/** Where a run reads its documents from, and as of which git revisions. */
export interface ProjectSource {
  /** Absolute path of the config file. */
  readonly configPath: string;
  readonly cwd: string;
  readonly env: Env;
  /** `--ref`: read the documents as of this revision. */
  readonly ref?: string | undefined;
  /** `--changed-since`: plan only what changed since this revision. */
  readonly changedSince?: string | undefined;
  /**
   * What `changedSince` selects: the documents in changed files (default), or
   * every document of each account those files touch (`--scope accounts`, the
   * PR plan's default), so the plan of each touched account is complete.
   */
  readonly scope?: 'documents' | 'accounts' | undefined;
}

export interface PlanProjectOptions extends ProjectSource {
  /** Every secret seen (credentials, `${env:}` values) is added here; drivers redact with it. */
  readonly secrets: SecretSet;
  /** Targets, accounts and shard to plan (empty: everything). */
  readonly selection?: Selection;
  /**
   * Where the document files are read from, instead of the working tree (or
   * `ref`'s commit); the config file too. For callers with their own source.
   */
  readonly source?: FileSource;
  /** Overrides `policy.prune` when set (the --prune flag, or a saved plan's choice). */
  readonly prune?: boolean | undefined;
  readonly onProgress?: ((e: ProgressEvent) => void) | undefined;
  /**
   * Called once the documents are loaded, before any selector or target is
   * checked (which may throw): a driver prints the diagnostics and notes here so
   * that warnings are shown even when the run then stops.
   */
  readonly onLoaded?:
    | ((loaded: {
        diagnostics: readonly Diagnostic[];
        notes: readonly string[];
        /** The config's path as the diagnostics show it. */
        configFile: string;
      }) => void)
    | undefined;
}

export interface PlannedProject {
  readonly config: Config;
  readonly documents: DesiredDocument[];
  readonly plan: Plan;
  /** Scopes (target, kind, account) whose live state could not be read. */
  readonly failures: ReadFailure[];
  /** False when some live state could not be read or part of the plan could not be made. */
  readonly complete: boolean;
  /** Open sessions; the caller closes them (`pool.closeAll()`), or hands them to apply. */
  readonly pool: SessionPool;
  readonly selection: Selection;
  /** Warnings from loading (errors stop the run before this point). */
  readonly diagnostics: readonly Diagnostic[];
  readonly notes: readonly string[];
}

/** Loading found errors: nothing was read from or written to any API. */
export interface InvalidProject {
  readonly invalid: true;
  readonly diagnostics: readonly Diagnostic[];
  readonly errors: number;
  readonly notes: readonly string[];
}

export type PlanProjectResult = (PlannedProject & { readonly invalid?: false }) | InvalidProject;

/** The plan options the shared command-line flags ask for (both drivers parse the same flags). */
export function planOptionsFromFlags(
  flags: Flags,
): Pick<PlanProjectOptions, 'selection' | 'ref' | 'changedSince' | 'scope' | 'prune'> {
  const shard = shardFlag(flags);
  return {
    selection: {
      ...(flags.target ? { targets: flags.target } : {}),
      ...(flags.account ? { accounts: flags.account } : {}),
      ...(shard ? { shard } : {}),
    },
    ref: flags.ref,
    changedSince: flags['changed-since'],
    scope: scopeFlag(flags),
    prune: flags.prune === true ? true : undefined,
  };
}

/** Extra HTTP dependencies for every session the engine opens (tests inject a dispatcher or count requests). */
export const httpOverrides: { deps: HttpDeps } = { deps: {} };

/** Opens a session pool whose requests record their ids for the audit log and whose secrets are redacted. */
export function openSessions(secrets: SecretSet): SessionPool {
  const userOnRequest = httpOverrides.deps.onRequest;
  return new SessionPool({
    ...httpOverrides.deps,
    secrets,
    onRequest: (e) => {
      recordRequestId(e);
      userOnRequest?.(e);
    },
  });
}

/** The git inputs of a run: a commit source for --ref, changed and deleted keys for --changed-since, meta.git always. */
export async function readGitInputs(source: ProjectSource): Promise<GitInputs> {
  if (source.ref !== undefined || source.changedSince !== undefined) {
    const { resolveGitInputs } = await import('./git-inputs.ts');
    return resolveGitInputs(source);
  }
  // Every run inside a repository records the commit it planned from (two cheap
  // git calls); outside one, or without git, the plan simply has no git meta.
  const { readGitMeta } = await import('../io/git.ts');
  const meta = await readGitMeta(dirname(source.configPath), source.env);
  return meta ? { meta } : {};
}

/**
 * Loads, validates and plans. Invalid documents come back as `{ invalid: true }`
 * before any request; a selector naming no target is a UsageError; a target
 * without auth or url (that the selection needs) is a ConnopsError.
 */
export async function planProject(options: PlanProjectOptions): Promise<PlanProjectResult> {
  const base = options.selection ?? {};
  const git = await readGitInputs(options);
  const notes = [...(git.notes ?? [])];
  const selection: Selection = {
    ...base,
    ...(git.keys ? { keys: git.keys } : {}),
    ...(git.scope?.accounts ? { scopes: git.scope.accounts } : {}),
  };
  // Live state is read while the documents load (engine/prefetch.ts); nothing
  // read is used unless every document passes its checks.
  const pool = openSessions(options.secrets);
  let prefetch: LivePrefetch | undefined;
  try {
    const project = await loadProject({
      configPath: options.configPath,
      env: options.env,
      cwd: options.cwd,
      ...((options.source ?? git.source) ? { source: options.source ?? git.source } : {}),
      onConfig: (config, secrets) => {
        for (const s of secrets) options.secrets.add(s);
        if (!prefetchOn(options.env)) return;
        prefetch = new LivePrefetch({
          config,
          providers: PROVIDERS,
          pool,
          selection,
          reachable: (t) => unreachable(t, options.configPath) === undefined,
        });
      },
      // A plan of a few accounts needs the specs of those only (the offline
      // checks still cover every document, in threads on a large repository).
      ...(selection.scopes || selection.accounts?.length
        ? { planned: (t: string, a: string) => inSelection(selection, t, a) }
        : {}),
      onFile: (documents, secrets) => {
        for (const s of secrets) options.secrets.add(s);
        prefetch?.offer(documents);
      },
    });
    for (const s of project.secrets) options.secrets.add(s);
    options.onLoaded?.({
      diagnostics: project.diagnostics,
      notes,
      configFile: relative(options.cwd, options.configPath) || options.configPath,
    });
    const { errors } = countDiagnostics(project.diagnostics);
    if (errors > 0 || !project.config) {
      await stop(pool, prefetch);
      return { invalid: true, diagnostics: project.diagnostics, errors, notes };
    }
    const config = project.config;
    for (const t of selection.targets ?? [])
      if (!config.targets[t])
        throw new UsageError(
          `--target ${t}: the config has no such target (known: ${Object.keys(config.targets).join(', ')})`,
        );
    checkAccountsDeclared(selection, project.declared, git.deleted ?? []);
    const documents = selectDocuments(project.documents, selection);
    checkReachable(config, documents, options.configPath);
    const prune = options.prune ?? config.policy.prune;
    const deleted = (git.deleted ?? []).filter((k) => inSelection(selection, k.target, k.account));
    const run = await planDocuments(config, documents, {
      providers: PROVIDERS,
      pool,
      prune,
      deleted,
      ...(prefetch ? { prefetch } : {}),
      ...(git.keys ? { partial: true } : {}),
      meta: {
        generated_at: new Date().toISOString(),
        ...(git.meta ? { git: git.meta } : {}),
        selection: {
          ...selectionRecord(base),
          prune,
          ...(git.scope ? { scope: scopeRecord(git.scope, project.declared, documents) } : {}),
        },
      },
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    return {
      config,
      documents,
      plan: run.plan,
      failures: run.failures,
      complete: run.failures.length === 0 && run.plan.problems.length === 0,
      pool,
      selection,
      diagnostics: project.diagnostics,
      notes,
    };
  } catch (err) {
    await stop(pool, prefetch);
    throw err;
  }
}

/** `CONNOPS_PREFETCH=0` reads live state only after loading, as before (for measuring the overlap). */
function prefetchOn(env: Env): boolean {
  return env['CONNOPS_PREFETCH'] !== '0';
}

/** Ends a run that makes no plan: reads started early are stopped and dropped, sessions closed. */
async function stop(pool: SessionPool, prefetch: LivePrefetch | undefined): Promise<void> {
  prefetch?.abort();
  await pool.closeAll();
}

/**
 * `--account A` that no document (of the selected targets) declares is a typo,
 * not an empty plan: a drift job with it would report "no changes" forever.
 */
function checkAccountsDeclared(
  selection: Selection,
  scopes: ReadonlySet<string>,
  deleted: readonly DocumentKey[],
): void {
  const targets = selection.targets;
  const pairs = [...[...scopes].map(splitScope), ...deleted.map((k) => [k.target, k.account])];
  const declared = new Set(
    pairs.filter(([t]) => !targets?.length || targets.includes(t as string)).map(([, a]) => a),
  );
  for (const a of selection.accounts ?? [])
    if (!declared.has(a))
      throw new UsageError(
        `--account ${a}: no document${targets?.length ? ` of target ${targets.join(', ')}` : ''} declares this account (declared: ${[...declared].sort().join(', ') || 'none'})`,
      );
}

/** Every target the selected documents use has the auth and url it needs to be read. */
function checkReachable(
  config: Config,
  documents: readonly DesiredDocument[],
  configPath: string,
): void {
  for (const t of Object.values(config.targets)) {
    if (!documents.some((d) => d.key.target === t.name)) continue;
    const why = unreachable(t, configPath);
    if (why !== undefined) throw new ConnopsError('CONFIG', why);
  }
}

/** Why a target cannot be read (a setting from an unset variable, no auth, no url), or undefined. */
function unreachable(t: TargetConfig, configPath: string): string | undefined {
  // A setting whose variable is unset or empty was left out of the target (core/config.ts).
  const unset = t.unset ?? [];
  if (unset.length > 0)
    return `target "${t.name}" cannot be reached: ${unset.map((u) => (u.variable === '(empty)' ? `${u.setting} comes from an environment variable that is empty` : `${u.setting} comes from \${env:${u.variable}}, which is not set`)).join('; ')}`;
  if (Object.values(t.auth).every((v) => v === ''))
    return `target "${t.name}" has no \`auth\`; set it in ${configPath} (e.g. auth: { api_key: "\${env:KAZOO_API_KEY}" })`;
  if (t.url === undefined && t.type === 'kazoo')
    return `target "${t.name}" has no \`url\` (e.g. https://kazoo.example.net:8000/v2)`;
  return undefined;
}

/**
 * What a scoped plan read, for the plan JSON, the comment and the fingerprint:
 * the revision, the accounts planned, and how many accounts the repo declares.
 */
function scopeRecord(
  scope: NonNullable<GitInputs['scope']>,
  declared: ReadonlySet<string>,
  selected: readonly DesiredDocument[],
): Record<string, unknown> {
  return {
    kind: 'accounts',
    since: scope.since,
    accounts: scope.accounts ? [...scope.accounts].sort() : null,
    planned_accounts: new Set(selected.map((d) => scopeOf(d.key.target, d.key.account))).size,
    declared_accounts: declared.size,
    ...(scope.why ? { whole_estate_because: scope.why } : {}),
  };
}

function selectionRecord(s: Selection): Record<string, unknown> {
  return {
    targets: s.targets ?? [],
    accounts: s.accounts ?? [],
    shard: s.shard ? `${s.shard.index}/${s.shard.count}` : null,
  };
}

/** The selection and prune choice a saved plan was made with (its `meta.selection`). */
export function savedSelection(meta: { readonly selection?: unknown } | undefined): {
  selection: Selection;
  prune?: boolean;
  /** `--only` the plan was saved with: apply applies only it. */
  only?: string[];
} {
  const s = (meta?.selection ?? {}) as {
    targets?: string[];
    accounts?: string[];
    shard?: string | null;
    prune?: boolean;
    only?: unknown;
  };
  const only = Array.isArray(s.only) ? s.only.filter((x) => typeof x === 'string') : [];
  const m = typeof s.shard === 'string' ? /^(\d+)\/(\d+)$/.exec(s.shard) : null;
  return {
    selection: {
      ...(s.targets?.length ? { targets: s.targets } : {}),
      ...(s.accounts?.length ? { accounts: s.accounts } : {}),
      ...(m ? { shard: { index: Number(m[1]), count: Number(m[2]) } } : {}),
    },
    ...(typeof s.prune === 'boolean' ? { prune: s.prune } : {}),
    ...(only.length > 0 ? { only } : {}),
  };
}

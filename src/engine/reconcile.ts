/**
 * read → validate → fetch live → plan. Selection (target, account, shard,
 * changed documents) narrows what is read and planned.
 */
import { ConnopsError } from '../core/errors.ts';
import { keyString, type Config, type DesiredDocument, type DocumentKey } from '../core/model.ts';
import {
  Planner,
  scopeKey,
  type AccountClaim,
  type LiveScope,
  type Plan,
  type PlanMeta,
} from '../core/plan.ts';
import { shardOf } from '../core/shard.ts';
import { Semaphore } from '../io/http.ts';
import type { LiveObject, Provider } from '../providers/types.ts';
import type { LivePrefetch } from './prefetch.ts';
import type { SessionPool } from './sessions.ts';

export interface Selection {
  readonly targets?: readonly string[];
  readonly accounts?: readonly string[];
  readonly shard?: { readonly index: number; readonly count: number };
  /** Keep only documents whose key string is in this set (from --changed-since). */
  readonly keys?: ReadonlySet<string>;
  /** Keep only these `target/account` pairs (from --changed-since with --scope accounts). */
  readonly scopes?: ReadonlySet<string>;
}

export interface ProgressEvent {
  readonly phase: 'read' | 'apply' | 'verify';
  readonly done: number;
  readonly total: number;
  readonly current?: string;
}

/** The (target, account) pair as one string, for scoped selections. */
export function scopeOf(target: string, account: string): string {
  return `${target}/${account}`;
}

/** True when a (target, account) pair is in the selection. */
export function inSelection(selection: Selection, target: string, account: string): boolean {
  if (selection.targets && selection.targets.length > 0 && !selection.targets.includes(target))
    return false;
  if (selection.accounts && selection.accounts.length > 0 && !selection.accounts.includes(account))
    return false;
  if (selection.shard && shardOf(target, account, selection.shard.count) !== selection.shard.index)
    return false;
  if (selection.scopes && !selection.scopes.has(scopeOf(target, account))) return false;
  return true;
}

export function selectDocuments(
  documents: readonly DesiredDocument[],
  selection: Selection,
): DesiredDocument[] {
  return documents.filter(
    (d) =>
      inSelection(selection, d.key.target, d.key.account) &&
      (!selection.keys ||
        selection.keys.has(`${d.key.target}/${d.key.account}/${d.key.kind}/${d.key.name}`)),
  );
}

export interface ReadFailure {
  readonly target: string;
  readonly account: string;
  readonly kind: string;
  readonly message: string;
}

/**
 * Lists live objects for every (target, kind, account) the documents (and
 * deletions) touch, handing each scope to `onScope` as soon as it is read (so
 * the caller can plan it and let its bodies go). Returns the scopes that could
 * not be read and how many could.
 *
 * Scopes are read a window at a time (as many as the targets' concurrency
 * allows requests), not all at once: each target's request limit keeps its
 * connections full either way, but starting every account together would queue
 * each account's document reads behind every other account's, so early
 * documents would wait, in memory, for the whole estate.
 */
export async function readLiveState(
  config: Config,
  documents: readonly DesiredDocument[],
  deleted: readonly DocumentKey[],
  providers: ReadonlyMap<string, Provider>,
  pool: SessionPool,
  onScope: (scope: LiveScope) => readonly AccountClaim[],
  onFacts?: (
    scope: Omit<LiveScope, 'objects'>,
    claims: readonly AccountClaim[],
    facts: unknown,
  ) => void,
  onProgress?: (e: ProgressEvent) => void,
  prefetch?: LivePrefetch,
): Promise<{ readonly read: number; readonly failures: ReadFailure[] }> {
  const wanted = new Map<string, { target: string; kind: string; account: string }>();
  for (const k of [...documents.map((d) => d.key), ...deleted])
    wanted.set(scopeKey(k.target, k.kind, k.account), {
      target: k.target,
      kind: k.kind,
      account: k.account,
    });
  const list = [...wanted.values()];
  const touched = new Set(list.map((s) => s.target));
  const window = new Semaphore(
    [...touched].reduce((sum, t) => sum + (config.targets[t]?.concurrency ?? 1), 0),
  );
  const failures: ReadFailure[] = [];
  let read = 0;
  let done = 0;
  onProgress?.({ phase: 'read', done, total: list.length });
  await Promise.all(
    list.map(async (s) => {
      const provider = providers.get(s.kind);
      const target = config.targets[s.target];
      if (!provider || !target) return;
      let objects: LiveObject[] | undefined;
      const session = pool.get(provider, target);
      // A scope read while the documents were loading (engine/prefetch.ts) is not read again.
      const early = prefetch?.take(s.target, s.kind, s.account);
      if (!early) await window.acquire();
      try {
        if (early) {
          const r = await early;
          if (r.error !== undefined) throw r.error;
          objects = r.objects;
        } else objects = await session.list(s.account);
      } catch (err) {
        failures.push({ ...s, message: err instanceof Error ? err.message : String(err) });
      } finally {
        if (!early) window.release();
        done++;
        onProgress?.({
          phase: 'read',
          done,
          total: list.length,
          current: `${s.target}/${s.account}`,
        });
      }
      // Outside the try: a failure while planning is a bug to surface, not an unreadable account.
      if (!objects) return;
      read++;
      const claims = onScope({ ...s, objects });
      // The live bodies are planned; the facts read below must not keep them alive.
      objects = undefined;
      // What the account check needs besides the objects (Kazoo: the number
      // manager, §12), read only where the plan claims something to check.
      // Not in the window: the window bounds live bodies in memory, and this
      // read holds none (queued behind every account still waiting for the
      // window, the checks would all run after the last listing).
      if (claims.length === 0 || !session.readAccountFacts || !onFacts) return;
      let facts: unknown;
      try {
        const values = [...new Set(claims.flatMap((c) => c.values))];
        facts = await session.readAccountFacts(s.account, values);
      } catch (err) {
        failures.push({ ...s, message: err instanceof Error ? err.message : String(err) });
        return;
      }
      onFacts(s, claims, facts);
    }),
  );
  return { read, failures };
}

export interface PlanRun {
  readonly plan: Plan;
  readonly failures: ReadFailure[];
}

/** Reads live state and plans each account as it arrives (see Planner). */
export async function planDocuments(
  config: Config,
  documents: readonly DesiredDocument[],
  options: {
    readonly providers: ReadonlyMap<string, Provider>;
    readonly pool: SessionPool;
    readonly prune: boolean;
    readonly deleted?: readonly DocumentKey[];
    /** Documents are a subset of their accounts' declarations (see PlanContext.partial). */
    readonly partial?: boolean;
    readonly meta: PlanMeta;
    readonly onProgress?: (e: ProgressEvent) => void;
    /** Scopes already being read (while the documents loaded). */
    readonly prefetch?: LivePrefetch;
  },
): Promise<PlanRun> {
  const deleted = options.deleted ?? [];
  const planner = new Planner({
    documents,
    targets: config.targets,
    providers: options.providers,
    prune: options.prune,
    deleted,
    ...(options.partial ? { partial: true } : {}),
    limits: config.policy,
    meta: options.meta,
  });
  const live = await readLiveState(
    config,
    documents,
    deleted,
    options.providers,
    options.pool,
    (scope) => planner.addScope(scope),
    (scope, claims, facts) => planner.addFacts(scope, claims, facts),
    options.onProgress,
    options.prefetch,
  );
  if (live.failures.length > 0 && live.read === 0 && documents.length > 0) {
    const first = live.failures[0] as ReadFailure;
    throw new ConnopsError(
      'API',
      `Cannot read live state: ${first.message}${live.failures.length > 1 ? ` (and ${live.failures.length - 1} more accounts)` : ''}`,
    );
  }
  // Documents whose account could not be read are left out rather than planned as creates.
  const failedScopes = new Set(live.failures.map((f) => scopeKey(f.target, f.kind, f.account)));
  const plan = planner.finish(failedScopes);
  return { plan: withIncomplete(plan, live.failures), failures: live.failures };
}

/**
 * The plan with its incompleteness recorded (INVARIANTS.md 10): each scope
 * that could not be read, and each problem that kept a document out of the plan.
 */
export function withIncomplete(plan: Plan, failures: readonly ReadFailure[]): Plan {
  const reasons = [
    ...failures.map(
      (f) =>
        `cannot read ${f.kind} objects in account ${f.account} on target ${f.target}: ${f.message}`,
    ),
    ...plan.problems.map((p) => (p.key ? `${keyString(p.key)}: ${p.message}` : p.message)),
  ];
  return reasons.length === 0 ? plan : { ...plan, incomplete: reasons };
}

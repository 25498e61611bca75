/**
 * Applying a planned project, in the two halves a driver needs around its own
 * rendering and prompt: `prepareApply` decides what would be written (refusing
 * incomplete plans, applying `--only` and the policy limits), and
 * `executeApply` writes it, verifies it and returns every result. Neither
 * prints: the driver shows the plan, asks, and reports.
 */
import { UsageError } from '../core/errors.ts';
import { keyString, type DocumentKey } from '../core/model.ts';
import { sealWrites, type Plan, type PlanChange } from '../core/plan.ts';
import { explainStale, type PlanJson } from '../core/render-plan.ts';
import { globToRegExp } from '../io/files.ts';
import { PROVIDERS } from '../providers/registry.ts';
import {
  applyPlan,
  repairNumbers,
  verifyApplied,
  type AuditRecord,
  type ChangeResult,
  type NumberRepair,
} from './apply.ts';
import type { PlannedProject } from './project.ts';
import type { ProgressEvent } from './reconcile.ts';

interface Selected {
  /** Indices of plan.changes selected by `--only` (every change without it). */
  readonly selected: ReadonlySet<number>;
  /** The plan narrowed to the selection, for showing before the prompt. */
  readonly shown: Plan;
  /** How many selected changes write (noops excluded). */
  readonly writes: number;
}

export type PreparedApply =
  | { readonly refused: 'incomplete' }
  | (Selected & {
      readonly refused: 'limits';
      /** Each policy limit the selection exceeds, in the user's terms. */
      readonly reasons: readonly string[];
    })
  | (Selected & { readonly refused?: undefined });

/**
 * What an apply of `project` would write. Refuses an incomplete plan (some
 * live state unread) and, without `force`, one over `policy.max_deletes` or
 * `policy.max_changes`. `--only` that matches nothing is a UsageError.
 */
export function prepareApply(
  project: PlannedProject,
  options: { readonly only?: readonly string[] | undefined; readonly force?: boolean | undefined },
): PreparedApply {
  const { plan } = project;
  if (!project.complete) return { refused: 'incomplete' };
  const selected = selectChanges(
    plan.changes.map((c) => keyString(c.key)),
    options.only,
  );
  refuseReleaseWithoutClaim(plan, selected);
  const chosen = plan.changes.filter((c, i) => c.action !== 'noop' && selected.has(i));
  const shown = { ...plan, changes: plan.changes.filter((_, i) => selected.has(i)) };
  const deletes = chosen.filter((c) => c.action === 'delete').length;
  const { max_deletes, max_changes } = project.config.policy;
  const over: string[] = [];
  if (deletes > max_deletes)
    over.push(`${deletes} deletes exceed policy.max_deletes (${max_deletes})`);
  if (chosen.length > max_changes)
    over.push(`${chosen.length} changes exceed policy.max_changes (${max_changes})`);
  const ready = { selected, shown, writes: chosen.length };
  if (chosen.length > 0 && over.length > 0 && !options.force)
    return { ...ready, refused: 'limits', reasons: over };
  return ready;
}

export interface ExecuteOptions {
  readonly audit?: ((record: AuditRecord) => void) | undefined;
  readonly onProgress?: ((e: ProgressEvent) => void) | undefined;
  readonly now?: (() => Date) | undefined;
  /** Asked before each write starts; a reason stops new writes (signals: the driver decides). */
  readonly stop?: (() => string | undefined) | undefined;
}

/** What an apply did: each write's result, and each account's number repair. */
export interface ApplyOutcome {
  readonly results: ChangeResult[];
  /** One per account whose numbers the writes moved (engine/apply.ts repairNumbers). */
  readonly numbers: NumberRepair[];
}

/** True when every number repair was made (or the target turned it off). */
export function numbersRepaired(numbers: readonly NumberRepair[]): boolean {
  return numbers.every((n) => n.status === 'ok' || n.status === 'off');
}

/**
 * Writes the selected changes of a prepared apply (each with the revision it
 * was planned against), has the number manager recompute `used_by` in every
 * account whose numbers moved, then reads every written object back and marks
 * what did not converge. The repairs are sent before the read-backs so that
 * `used_by` is wrong for as short a time as possible (verification is a GET
 * per write), and the read-backs run beside them rather than after. The
 * sessions stay open; the caller closes the pool.
 */
export async function executeApply(
  project: PlannedProject,
  selected: ReadonlySet<number>,
  options: ExecuteOptions = {},
): Promise<ApplyOutcome> {
  const ignores = new Map(project.documents.map((d) => [keyString(d.key), d.ignore]));
  const ignoreOf = (k: DocumentKey): readonly string[] => ignores.get(keyString(k)) ?? [];
  const apply = {
    providers: PROVIDERS,
    pool: project.pool,
    config: project.config,
    selected,
    now: options.now ?? (() => new Date()),
    ignoreOf,
    ...(options.audit ? { audit: options.audit } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.stop ? { stop: options.stop } : {}),
  };
  const written = await applyPlan(project.plan, apply);
  // The repairs are started first, so they go out ahead of the read-backs
  // (the HTTP layer sends in order); the read-backs fill the other slots.
  const repaired = repairNumbers(project.plan, written, apply);
  const verified = verifyApplied(project.plan, written, apply, ignoreOf);
  const [numbers, results] = await Promise.all([repaired, verified]);
  return { results, numbers };
}

/**
 * Compares a fresh plan with the one the user reviewed (a saved plan, or just
 * its fingerprint). Returns why they differ, or undefined when they agree.
 */
export function staleReasons(
  plan: Plan,
  expected: { readonly saved?: PlanJson | undefined; readonly fingerprint?: string | undefined },
): string[] | undefined {
  const fingerprint = expected.saved?.fingerprint ?? expected.fingerprint;
  if (fingerprint === undefined || fingerprint === plan.fingerprint) return undefined;
  return expected.saved
    ? explainStale(expected.saved, plan)
    : ['the live state or the documents changed since the plan with that fingerprint was made'];
}

/**
 * `--only` must not release a number without the change that claims it
 * (INVARIANTS.md item 1): applied alone, the release would leave the number in
 * no document. Refused rather than widened, so what runs is what was asked
 * for; the message names both changes and the numbers.
 */
function refuseReleaseWithoutClaim(plan: Plan, selected: ReadonlySet<number>): void {
  const missing: string[] = [];
  plan.changes.forEach((c, i) => {
    if (!selected.has(i) || c.action === 'noop') return;
    for (const d of c.dependsOn) {
      if (selected.has(d)) continue;
      const claimer = plan.changes[d];
      if (!claimer) continue;
      const numbers = c.releases.filter((r) => claimer.claims.includes(r));
      missing.push(
        `"${c.key.name}" releases ${numbers.join(', ')}, which "${claimer.key.name}" claims (${keyString(claimer.key)})`,
      );
    }
  });
  if (missing.length > 0)
    throw new UsageError(
      `--only would release numbers without the changes that claim them, leaving them in no document: ${missing.join('; ')}. Add the claiming documents to --only, or apply without it`,
    );
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

/**
 * The plan narrowed to `--only` (INVARIANTS.md 12): only the matching changes,
 * their writes and counts, a fingerprint over those writes, and the selection
 * recorded in `meta.selection.only` so that `apply plan.json` applies only it.
 * For showing, saving and comparing; apply writes from the full plan with the
 * same selection (`prepareApply`). `--only` that matches nothing is a UsageError.
 */
export function narrowPlan(plan: Plan, only: readonly string[] | undefined): Plan {
  if (!only || only.length === 0) return plan;
  const selected = selectChanges(
    plan.changes.map((c) => keyString(c.key)),
    only,
  );
  const changes: PlanChange[] = plan.changes
    .filter((_, i) => selected.has(i))
    .map((c) => ({ ...c, dependsOn: [] }));
  const summary = { create: 0, update: 0, delete: 0, noop: 0 };
  for (const c of changes) summary[c.action]++;
  const sealed = sealWrites(
    changes.flatMap((c) => (c.write ? [c.write] : [])),
    plan.policy ?? { prune: false, max_deletes: null, max_changes: null },
  );
  return {
    ...plan,
    changes,
    summary,
    ...sealed,
    meta: { ...plan.meta, selection: { ...plan.meta.selection, only: [...only] } },
  };
}

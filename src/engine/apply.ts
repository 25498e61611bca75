/**
 * Executes a plan: dependency waves (DID releases before claims), independent
 * changes continue after a failure, every result reported, then every written
 * object is read back and compared (a post-apply plan must be empty).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ApiError } from '../core/errors.ts';
import { deepEqual } from '../core/json.ts';
import { keyString, type Config, type DocumentKey } from '../core/model.ts';
import { withoutIgnored, type Plan, type PlanChange } from '../core/plan.ts';
import { Semaphore } from '../io/http.ts';
import type { RequestEvent } from '../io/http-types.ts';
import type { Provider } from '../providers/types.ts';
import { mapInOrder } from './concurrency.ts';
import { outcomeMayBeLost, readBack } from './readback.ts';
import type { ProgressEvent } from './reconcile.ts';
import type { SessionPool } from './sessions.ts';

/**
 * `unknown`: the answer was lost and reading the object back could not tell
 * whether the write took effect (INVARIANTS.md item 14: never called failed).
 */
export type ResultStatus = 'ok' | 'failed' | 'skipped' | 'unknown';

export interface ChangeResult {
  readonly key: DocumentKey;
  readonly action: PlanChange['action'];
  readonly status: ResultStatus;
  readonly message: string;
  readonly id?: string;
  readonly requestId?: string;
  /** After verification: false when the object read back differs from the plan. */
  readonly verified?: boolean;
}

export interface AuditRecord {
  readonly time: string;
  readonly commit: string | null;
  /** True when the documents had uncommitted changes (meta.git.dirty); null outside git. */
  readonly dirty: boolean | null;
  readonly target: string;
  readonly account: string;
  readonly kind: string;
  readonly name: string;
  readonly action: string;
  readonly id: string | null;
  readonly request_id: string | null;
  readonly status: ResultStatus;
  readonly error?: string;
}

export interface ApplyOptions {
  readonly providers: ReadonlyMap<string, Provider>;
  readonly pool: SessionPool;
  readonly config: Config;
  /** Indices of plan.changes to execute (default: every non-noop change). */
  readonly selected?: ReadonlySet<number>;
  readonly now: () => Date;
  readonly audit?: (record: AuditRecord) => void;
  readonly onProgress?: (e: ProgressEvent) => void;
  /** Max changes in flight at once (the HTTP layer also limits per target). */
  readonly parallel?: number;
  /** The document's `ignore` pointers, for reading back a write whose answer was lost. */
  readonly ignoreOf?: (key: DocumentKey) => readonly string[];
  /**
   * Asked before each write starts: a reason (e.g. "interrupted by SIGTERM")
   * stops new writes; those already in flight finish and are reported.
   */
  readonly stop?: () => string | undefined;
}

/** Tracks which change an HTTP request belongs to, so its request id reaches the audit log. */
export const requestContext = new AsyncLocalStorage<{ requestId?: string }>();

/** Pass as HttpDeps.onRequest (chained) so writes learn their server request ids. */
export function recordRequestId(event: RequestEvent): void {
  const store = requestContext.getStore();
  if (store && event.requestId) store.requestId = event.requestId;
}

export async function applyPlan(plan: Plan, options: ApplyOptions): Promise<ChangeResult[]> {
  const indices = plan.changes
    .map((_, i) => i)
    .filter(
      (i) => plan.changes[i]?.action !== 'noop' && (!options.selected || options.selected.has(i)),
    );
  const results = new Map<number, ChangeResult>();
  const failed = new Set<number>();
  const pending = new Set(indices);
  const total = indices.length;
  let done = 0;
  const parallel = options.parallel ?? 64;
  // Writes in flight per target: its request limit, so the writes started are
  // the ones on the wire (the HTTP layer would queue the rest unseen).
  const slots = new Map<string, Semaphore>();
  const slotOf = (target: string): Semaphore => {
    let slot = slots.get(target);
    if (!slot) {
      slot = new Semaphore(options.config.targets[target]?.concurrency ?? 1);
      slots.set(target, slot);
    }
    return slot;
  };
  options.onProgress?.({ phase: 'apply', done, total });

  while (pending.size > 0) {
    // A wave: every pending change whose dependencies have all finished.
    const wave = [...pending].filter((i) =>
      (plan.changes[i]?.dependsOn ?? []).every((d) => !pending.has(d)),
    );
    if (wave.length === 0) break; // cycles were reported as plan problems; leave the rest
    for (const i of wave) pending.delete(i);
    await mapInOrder(wave, parallel, async (i) => {
      const change = plan.changes[i] as PlanChange;
      const blocker = change.dependsOn.find((d) => failed.has(d));
      let stopped: string | undefined;
      let result: ChangeResult;
      if (blocker !== undefined) {
        const b = plan.changes[blocker] as PlanChange;
        result = {
          key: change.key,
          action: change.action,
          status: 'skipped',
          message: `skipped: it claims DIDs that "${b.key.name}" was to release, and that change failed`,
        };
      } else {
        // A write starts when it holds one of its target's slots; only then is
        // `stop` asked, so a stop leaves queued writes unsent, not half-started.
        const slot = slotOf(change.key.target);
        await slot.acquire();
        try {
          stopped = options.stop?.();
          result =
            stopped !== undefined
              ? {
                  key: change.key,
                  action: change.action,
                  status: 'skipped',
                  message: `not started: ${stopped}`,
                }
              : await runChange(change, options);
        } finally {
          slot.release();
        }
      }
      if (result.status !== 'ok') failed.add(i);
      results.set(i, result);
      // Not-started changes were never sent: nothing to record.
      if (stopped === undefined) options.audit?.(auditOf(result, options, plan));
      done++;
      options.onProgress?.({
        phase: 'apply',
        done,
        total,
        current: `${change.key.account}/${change.key.name}`,
      });
    });
  }
  for (const i of pending) {
    const c = plan.changes[i] as PlanChange;
    results.set(i, {
      key: c.key,
      action: c.action,
      status: 'skipped',
      message: 'skipped: part of a DID swap that cannot be ordered',
    });
  }
  return indices.map((i) => results.get(i) as ChangeResult);
}

async function runChange(change: PlanChange, options: ApplyOptions): Promise<ChangeResult> {
  const provider = options.providers.get(change.key.kind);
  const target = options.config.targets[change.key.target];
  if (!provider || !target)
    return {
      key: change.key,
      action: change.action,
      status: 'failed',
      message: 'unknown provider or target',
    };
  const session = options.pool.get(provider, target);
  const store: { requestId?: string } = {};
  return requestContext.run(store, async () => {
    try {
      let id = change.id;
      if (change.action === 'create') {
        const created = await session.create(
          change.key.account,
          change.request?.body ?? {},
          change.id,
        );
        id = created.id;
      } else if (change.action === 'update') {
        if (!change.live || !change.request) throw new Error('update without live object');
        await session.update(change.key.account, change.live, change.request);
      } else if (change.action === 'delete') {
        if (!change.live) throw new Error('delete without live object');
        await session.delete(change.key.account, change.live);
      }
      return {
        key: change.key,
        action: change.action,
        status: 'ok' as const,
        message: `${change.action}d`,
        ...(id !== undefined ? { id } : {}),
        ...(store.requestId ? { requestId: store.requestId } : {}),
      };
    } catch (err) {
      const requestId = err instanceof ApiError ? err.requestId : store.requestId;
      if (outcomeMayBeLost(err)) {
        const ignore = options.ignoreOf?.(change.key) ?? [];
        const back = await readBack(change, { session, provider, target, ignore });
        const lost = `the answer was lost (${err instanceof Error ? err.message : String(err)})`;
        if (back.applied !== false) {
          const id = back.applied === true ? (back.id ?? change.id) : change.id;
          return {
            key: change.key,
            action: change.action,
            status: back.applied === true ? 'ok' : 'unknown',
            message:
              back.applied === true
                ? `${change.action}d (${lost}; reading it back shows it applied)`
                : `outcome unknown: ${lost}, and ${back.why}. Run plan to see the live state.`,
            ...(id !== undefined ? { id } : {}),
            ...(requestId ? { requestId } : {}),
          };
        }
        return {
          key: change.key,
          action: change.action,
          status: 'failed' as const,
          message: `${describeFailure(change, err)} (not applied: ${back.why})`,
          ...(change.id !== undefined ? { id: change.id } : {}),
          ...(requestId ? { requestId } : {}),
        };
      }
      const message = describeFailure(change, err);
      return {
        key: change.key,
        action: change.action,
        status: 'failed' as const,
        message,
        ...(change.id !== undefined ? { id: change.id } : {}),
        ...(requestId ? { requestId } : {}),
      };
    }
  });
}

function describeFailure(change: PlanChange, err: unknown): string {
  const what = `Cannot ${change.action} ${change.key.kind} "${change.key.name}" in account ${change.key.account}`;
  if (err instanceof ApiError && err.code === 'CONFLICT') {
    return `${what}: the server changed it since the plan (revision ${change.revision ?? '?'} is no longer current); nothing was overwritten. Run plan again and review the new changes.`;
  }
  const msg = err instanceof Error ? err.message : String(err);
  return msg.startsWith('Cannot ') ? msg : `${what}: ${msg}`;
}

function auditOf(r: ChangeResult, options: ApplyOptions, plan: Plan): AuditRecord {
  return {
    time: options.now().toISOString(),
    commit: plan.meta.git?.commit ?? null,
    dirty: plan.meta.git?.dirty ?? null,
    target: r.key.target,
    account: r.key.account,
    kind: r.key.kind,
    name: r.key.name,
    action: r.action,
    id: r.id ?? null,
    request_id: r.requestId ?? null,
    status: r.status,
    ...(r.status !== 'ok' ? { error: r.message } : {}),
  };
}

/**
 * Reads back every object that was written and compares it with the plan:
 * creates and updates must now equal the desired body, deletes must be gone.
 */
export async function verifyApplied(
  plan: Plan,
  results: readonly ChangeResult[],
  options: ApplyOptions,
  ignoreOf: (key: DocumentKey) => readonly string[],
): Promise<ChangeResult[]> {
  const byKey = new Map(plan.changes.map((c) => [keyString(c.key), c]));
  let done = 0;
  const ok = results.filter((r) => r.status === 'ok');
  options.onProgress?.({ phase: 'verify', done, total: ok.length });
  return Promise.all(
    results.map(async (r) => {
      if (r.status !== 'ok' || r.id === undefined) return r;
      const change = byKey.get(keyString(r.key));
      const provider = options.providers.get(r.key.kind);
      const target = options.config.targets[r.key.target];
      if (!change || !provider || !target) return r;
      try {
        const live = await options.pool.get(provider, target).get(r.key.account, r.id);
        let verified: boolean;
        if (r.action === 'delete') verified = live === undefined;
        else if (!live) verified = false;
        else {
          const ignore = ignoreOf(r.key);
          const liveN = provider.normalize(live.body, target);
          const want = change.after ?? {};
          verified = deepEqual(withoutIgnored(liveN, ignore), want);
        }
        return {
          ...r,
          verified,
          ...(verified
            ? {}
            : {
                message: `${r.message}, but the object read back differs from the plan (the API did not converge)`,
              }),
        };
      } catch (err) {
        return {
          ...r,
          verified: false,
          message: `${r.message}, but reading it back failed: ${err instanceof Error ? err.message : String(err)}`,
        };
      } finally {
        done++;
        options.onProgress?.({ phase: 'verify', done, total: ok.length });
      }
    }),
  );
}

/**
 * Executes a plan: dependency waves (DID claims before releases), independent
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
import { derivedId } from '../core/ids.ts';
import { ignoredIn } from '../core/ignore.ts';
import type { LiveObject, LiveRef, Provider, ProviderSession } from '../providers/types.ts';
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

/**
 * One write of a change: most changes are one write; an update on a swap is
 * its claiming write (`claim`) and then its final write (PlanChange.claimFirst).
 */
interface Step {
  readonly index: number;
  readonly phase: 'claim' | 'final';
}

export async function applyPlan(plan: Plan, options: ApplyOptions): Promise<ChangeResult[]> {
  const indices = plan.changes
    .map((_, i) => i)
    .filter(
      (i) => plan.changes[i]?.action !== 'noop' && (!options.selected || options.selected.has(i)),
    );
  const chosen = new Set(indices);
  const results = new Map<number, ChangeResult>();
  /** Changes whose claiming write did not land (failed or skipped). */
  const unclaimed = new Map<number, string>();
  /** Revisions the claiming writes of split changes produced. */
  const claimedRevision = new Map<number, string | undefined>();
  const stepKey = (s: Step) => `${s.index}:${s.phase}`;
  const changeOf = (i: number) => plan.changes[i] as PlanChange;
  const claimStep = (i: number): Step => ({
    index: i,
    phase: changeOf(i).claimFirst ? 'claim' : 'final',
  });
  const steps: Step[] = indices.flatMap((i) =>
    changeOf(i).claimFirst
      ? [
          { index: i, phase: 'claim' as const },
          { index: i, phase: 'final' as const },
        ]
      : [{ index: i, phase: 'final' as const }],
  );
  const depsOf = (s: Step): Step[] =>
    s.phase === 'claim'
      ? []
      : [
          ...(changeOf(s.index).claimFirst ? [{ index: s.index, phase: 'claim' as const }] : []),
          ...changeOf(s.index)
            .dependsOn.filter((d) => chosen.has(d))
            .map(claimStep),
        ];
  const pending = new Map(steps.map((s) => [stepKey(s), s]));
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
  /**
   * Runs one write of a change once it holds one of its target's slots; only
   * then is `stop` asked, so a stop leaves queued writes unsent, not half-started.
   */
  const start = async <T>(
    change: PlanChange,
    write: () => Promise<T>,
  ): Promise<{ readonly stopped: string } | { readonly done: T }> => {
    const slot = slotOf(change.key.target);
    await slot.acquire();
    try {
      const stopped = options.stop?.();
      return stopped !== undefined ? { stopped } : { done: await write() };
    } finally {
      slot.release();
    }
  };
  /** Changes a stop kept from starting (one of their writes was never sent). */
  const notStarted = new Map<number, string>();
  options.onProgress?.({ phase: 'apply', done, total });

  const finish = (i: number, result: ChangeResult): void => {
    results.set(i, result);
    // A change that was never sent has nothing to record.
    if (!notStarted.has(i)) options.audit?.(auditOf(result, options, plan));
    done++;
    const change = changeOf(i);
    options.onProgress?.({
      phase: 'apply',
      done,
      total,
      current: `${change.key.account}/${change.key.name}`,
    });
  };

  while (pending.size > 0) {
    // A wave: every pending write whose claims it waits for have all finished.
    const wave = [...pending.values()].filter((s) =>
      depsOf(s).every((d) => !pending.has(stepKey(d))),
    );
    if (wave.length === 0) break; // cycles were reported as plan problems; leave the rest
    for (const s of wave) pending.delete(stepKey(s));
    await mapInOrder(wave, parallel, async (step) => {
      const i = step.index;
      const change = changeOf(i);
      const split = change.claimFirst !== undefined;
      if (step.phase === 'final' && notStarted.has(i)) {
        finish(i, {
          key: change.key,
          action: change.action,
          status: 'skipped',
          message: `not started: ${notStarted.get(i) as string}`,
        });
        return;
      }
      if (step.phase === 'final' && split && unclaimed.has(i)) {
        // Its claiming write failed: that failure is this change's result.
        finish(i, {
          key: change.key,
          action: change.action,
          status: 'failed',
          message: unclaimed.get(i) as string,
        });
        return;
      }
      const unselected = change.dependsOn.find((d) => !chosen.has(d));
      const blocker =
        step.phase === 'final' ? change.dependsOn.find((d) => unclaimed.has(d)) : undefined;
      if (step.phase === 'final' && (blocker !== undefined || unselected !== undefined)) {
        const b = changeOf((blocker ?? unselected) as number);
        const moving = change.releases.filter((r) => b.claims.includes(r));
        const kept = split
          ? ` (its claiming write landed; it still holds ${moving.join(', ')})`
          : '';
        // Skipped whole, it claimed nothing either: releases waiting on it must wait too.
        if (!split) unclaimed.set(i, `"${change.key.name}" was skipped`);
        finish(i, {
          key: change.key,
          action: change.action,
          status: 'skipped',
          message:
            blocker !== undefined
              ? `skipped: it releases ${moving.join(', ')}, which "${b.key.name}" was to claim first, and that change did not land; the numbers stay routed here${kept}`
              : `skipped: it releases ${moving.join(', ')}, which "${b.key.name}" claims, and that change is not part of this apply${kept}`,
        });
        return;
      }
      if (step.phase === 'claim') {
        const c = await start(change, () => runChange(change, options, 'claim'));
        if ('stopped' in c) {
          notStarted.set(i, c.stopped);
          unclaimed.set(i, `"${change.key.name}" was not started`);
        } else if (c.done.result.status !== 'ok') unclaimed.set(i, c.done.result.message);
        else claimedRevision.set(i, c.done.revision);
        return;
      }
      const f = await start(change, () =>
        runChange(
          change,
          options,
          split ? 'then' : 'only',
          split ? claimedRevision.get(i) : undefined,
        ),
      );
      if ('stopped' in f) {
        notStarted.set(i, f.stopped);
        if (!split) unclaimed.set(i, `"${change.key.name}" was not started`);
        finish(i, {
          key: change.key,
          action: change.action,
          status: 'skipped',
          message: `not started: ${f.stopped}`,
        });
        return;
      }
      const r = f.done;
      // A change whose only write failed claimed nothing: releases waiting on it stay put.
      if (r.result.status !== 'ok' && !split) unclaimed.set(i, r.result.message);
      finish(i, r.result);
    });
  }
  for (const i of indices) {
    if (results.has(i)) continue;
    const c = changeOf(i);
    results.set(i, {
      key: c.key,
      action: c.action,
      status: 'skipped',
      message: 'skipped: part of a DID swap that cannot be ordered',
    });
  }
  return indices.map((i) => results.get(i) as ChangeResult);
}

async function runChange(
  change: PlanChange,
  options: ApplyOptions,
  write: 'only' | 'claim' | 'then',
  revision?: string,
): Promise<{ result: ChangeResult; revision?: string }> {
  const provider = options.providers.get(change.key.kind);
  const target = options.config.targets[change.key.target];
  if (!provider || !target)
    return {
      result: {
        key: change.key,
        action: change.action,
        status: 'failed',
        message: 'unknown provider or target',
      },
    };
  const session = options.pool.get(provider, target);
  const store: { requestId?: string } = {};
  return requestContext.run(store, async () => {
    try {
      let id = change.id;
      let landed: string | undefined;
      let adopted = false;
      if (change.action === 'create') {
        const created = await createOnce(change, session, provider);
        id = created.live.id;
        adopted = created.adopted;
      } else if (change.action === 'update') {
        const request =
          write === 'claim'
            ? change.claimFirst?.request
            : write === 'then'
              ? change.claimFirst?.then
              : change.request;
        if (!change.live || !request) throw new Error('update without live object');
        const live = write === 'then' ? { ...change.live, revision } : change.live;
        landed = (await session.update(change.key.account, live as LiveRef, request)).revision;
      } else if (change.action === 'delete') {
        if (!change.live) throw new Error('delete without live object');
        await session.delete(change.key.account, change.live);
      }
      return {
        result: {
          key: change.key,
          action: change.action,
          status: 'ok' as const,
          message: adopted
            ? 'created (by another run at the same moment: the same document under the same id, adopted)'
            : write === 'then'
              ? 'updated (in two writes: its new numbers first, then releasing the old ones)'
              : `${change.action}d`,
          ...(id !== undefined ? { id } : {}),
          ...(store.requestId ? { requestId: store.requestId } : {}),
        },
        ...(landed !== undefined ? { revision: landed } : {}),
      };
    } catch (err) {
      const requestId = err instanceof ApiError ? err.requestId : store.requestId;
      // The second write of a split update is compared by its own final body as usual.
      if (write !== 'claim' && outcomeMayBeLost(err)) {
        const ignore = options.ignoreOf?.(change.key) ?? [];
        const back = await readBack(change, {
          session,
          provider,
          target,
          ignore,
          identities: provider.identities ?? {},
        });
        const lost = `the answer was lost (${err instanceof Error ? err.message : String(err)})`;
        const id = back.applied === true ? (back.id ?? change.id) : change.id;
        return {
          result: {
            key: change.key,
            action: change.action,
            status: back.applied === true ? 'ok' : back.applied === false ? 'failed' : 'unknown',
            message:
              back.applied === true
                ? `${change.action}d (${lost}; reading it back shows it applied)`
                : back.applied === false
                  ? `${describeFailure(change, err)} (not applied: ${back.why})`
                  : `outcome unknown: ${lost}, and ${back.why}. Run plan to see the live state.`,
            ...(id !== undefined ? { id } : {}),
            ...(requestId ? { requestId } : {}),
          },
        };
      }
      const message = describeFailure(change, err);
      return {
        result: {
          key: change.key,
          action: change.action,
          status: 'failed' as const,
          message,
          ...(change.id !== undefined ? { id: change.id } : {}),
          ...(requestId ? { requestId } : {}),
        },
      };
    }
  });
}

/**
 * A create that cannot make a second object for one document (INVARIANTS.md
 * item 6): with a pinned id, that id; where the API lets the client choose ids
 * (Kazoo), the document's derived ids by generation; elsewhere (Cloudflare,
 * whose names are unique per account, 5101) the API refuses the duplicate and
 * the session adopts the service of that name.
 */
async function createOnce(
  change: PlanChange,
  session: ProviderSession,
  provider: Provider,
): Promise<{ live: LiveObject; adopted: boolean }> {
  const body = change.request?.body ?? {};
  const id =
    change.id ?? (provider.createWithId ? (g: number) => derivedId(change.key, g) : undefined);
  const created = await session.create(change.key.account, body, id);
  return { live: created, adopted: created.adopted === true };
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
 * The API's record of which application uses each number, recomputed in one
 * account after an apply (INVARIANTS.md item 4). `off`: the target turns it
 * off (`fix_numbers: false`).
 */
export interface NumberRepair {
  readonly target: string;
  readonly account: string;
  /** The document kind whose writes moved the numbers. */
  readonly kind: string;
  readonly status: 'ok' | 'failed' | 'skipped' | 'off';
  readonly message: string;
  readonly requestId?: string;
}

/**
 * After the writes: once per account in which a write that landed (or may
 * have: `unknown`) claimed or released numbers, creates and deletes included,
 * asks the session to recompute the API's record of their use
 * (`ProviderSession.repairNumbers`; Kazoo: `used_by`, reference/kazoo-api.md
 * §12). Kazoo's own writes leave it wrong after a create (PUT does not track
 * it) and after every move made claim-first (the claim marks the number, the
 * release then clears it). A failure is reported, never undoes a write. Honours
 * `stop` like a write: a stopped apply starts no repair.
 */
export async function repairNumbers(
  plan: Plan,
  results: readonly ChangeResult[],
  options: ApplyOptions,
): Promise<NumberRepair[]> {
  const byKey = new Map(plan.changes.map((c) => [keyString(c.key), c]));
  const groups = new Map<string, { target: string; account: string; kind: string }>();
  for (const r of results) {
    if (r.status !== 'ok' && r.status !== 'unknown') continue;
    const change = byKey.get(keyString(r.key));
    if (!change || change.claims.length + change.releases.length === 0) continue;
    const { target, account, kind } = r.key;
    groups.set(`${target}\u0000${account}\u0000${kind}`, { target, account, kind });
  }
  const todo = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, g]) => g);
  const out = await Promise.all(
    todo.map(async (g): Promise<NumberRepair | undefined> => {
      const provider = options.providers.get(g.kind);
      const target = options.config.targets[g.target];
      if (!provider || !target) return undefined;
      const session = options.pool.get(provider, target);
      if (!session.repairNumbers) return undefined;
      const base = { target: g.target, account: g.account, kind: g.kind };
      if (target.fix_numbers === false)
        return {
          ...base,
          status: 'off',
          message:
            'not recomputed (fix_numbers: false): the number manager may show numbers this apply created or moved as unused',
        };
      const stopped = options.stop?.();
      if (stopped !== undefined)
        return { ...base, status: 'skipped', message: `not recomputed: ${stopped}` };
      const store: { requestId?: string } = {};
      const repair = session.repairNumbers.bind(session);
      const result = await requestContext.run(store, async (): Promise<NumberRepair> => {
        try {
          await repair(g.account);
          return {
            ...base,
            status: 'ok',
            message: 'used_by recomputed from the live documents',
            ...(store.requestId ? { requestId: store.requestId } : {}),
          };
        } catch (err) {
          const requestId = err instanceof ApiError ? err.requestId : store.requestId;
          return {
            ...base,
            status: 'failed',
            message: `${err instanceof Error ? err.message : String(err)}. The writes stand (nothing was undone); until used_by is recomputed the number manager may show numbers this apply created or moved as unused`,
            ...(requestId ? { requestId } : {}),
          };
        }
      });
      options.audit?.({
        time: options.now().toISOString(),
        commit: plan.meta.git?.commit ?? null,
        dirty: plan.meta.git?.dirty ?? null,
        target: g.target,
        account: g.account,
        kind: g.kind,
        name: '',
        action: 'repair-numbers',
        id: null,
        request_id: result.requestId ?? null,
        status: result.status === 'ok' ? 'ok' : 'failed',
        ...(result.status !== 'ok' ? { error: result.message } : {}),
      });
      return result;
    }),
  );
  return out.filter((r): r is NumberRepair => r !== undefined);
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
          const own = ignoredIn(ignore, liveN, provider.identities ?? {});
          verified = deepEqual(withoutIgnored(liveN, own), want);
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

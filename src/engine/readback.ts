/**
 * A write whose answer was lost is read back before it is called anything
 * (INVARIANTS.md item 14): a connection dropped after the server processed the
 * request, a truncated or unreadable 2xx, or a 5xx from a proxy in front of a
 * server that did the work. Reading the object tells applied from not applied; what the
 * read cannot settle is "unknown", never "failed".
 */
import { ApiError, HttpError } from '../core/errors.ts';
import { deepEqual } from '../core/json.ts';
import type { TargetConfig } from '../core/model.ts';
import { ignoredIn, type Identities } from '../core/ignore.ts';
import { withoutIgnored, type PlanChange } from '../core/plan.ts';
import type { LiveObject, Provider, ProviderSession } from '../providers/types.ts';

/** True when the server may have processed the write although the client saw an error. */
export function outcomeMayBeLost(err: unknown): boolean {
  if (err instanceof HttpError) return true;
  if (!(err instanceof ApiError)) return false;
  // 2xx: the server answered success but the body was unusable (cut, not JSON, no data).
  // 5xx: a proxy or the server failed after the work may have been done.
  // Not 409/412: the revision guard refused the write, so it did not happen. (A
  // repeat meeting its own first attempt is resolved by the client already:
  // providers/kazoo/client.ts guardedWrite.)
  return (err.status >= 200 && err.status < 300) || err.status >= 500;
}

export type ReadBack =
  | { readonly applied: true; readonly id?: string }
  | { readonly applied: false; readonly why: string }
  | { readonly applied: 'unknown'; readonly why: string };

export interface ReadBackContext {
  readonly session: ProviderSession;
  readonly provider: Provider;
  readonly target: TargetConfig;
  /** The document's `ignore` pointers (compared as absent, as the plan did). */
  readonly ignore: readonly string[];
  /** How the provider names array items, for identity pointers (`/servers[name=…]/…`). */
  readonly identities: Identities;
}

/** Reads the object a failed write was for and says whether the write took effect. */
export async function readBack(change: PlanChange, ctx: ReadBackContext): Promise<ReadBack> {
  const { session, provider, target } = ctx;
  const account = change.key.account;
  const matches = (live: LiveObject): boolean => {
    const normalized = provider.normalize(live.body, target);
    const own = ignoredIn(ctx.ignore, normalized, ctx.identities);
    return deepEqual(withoutIgnored(normalized, own), change.after ?? {});
  };
  try {
    if (change.action === 'delete') {
      const id = change.live?.id ?? change.id;
      if (id === undefined) return { applied: 'unknown', why: 'the object has no id to read' };
      const live = await session.get(account, id);
      if (live === undefined) return { applied: true };
      return { applied: false, why: 'reading it back shows the object still there' };
    }
    if (change.action === 'update') {
      const id = change.live?.id ?? change.id;
      if (id === undefined) return { applied: 'unknown', why: 'the object has no id to read' };
      const live = await session.get(account, id);
      if (live === undefined)
        return { applied: false, why: 'reading it back finds the object gone' };
      if (matches(live)) return { applied: true, id };
      if (change.revision !== undefined && live.revision === change.revision)
        return { applied: false, why: 'reading it back shows the revision it was planned against' };
      return {
        applied: 'unknown',
        why: 'reading it back shows neither the planned body nor the revision it was planned against (someone else may have written it)',
      };
    }
    if (change.action === 'create') {
      const candidates =
        change.id !== undefined
          ? [await session.get(account, change.id)].filter((o): o is LiveObject => o !== undefined)
          : (await session.list(account)).filter(
              (o) => provider.nameOf(o.body) === change.key.name,
            );
      if (candidates.length === 0)
        return { applied: false, why: 'reading it back finds no such object' };
      const only = candidates.length === 1 ? candidates[0] : undefined;
      if (only && matches(only)) return { applied: true, id: only.id };
      return {
        applied: 'unknown',
        why:
          candidates.length > 1
            ? `reading it back finds ${candidates.length} objects named "${change.key.name}"`
            : 'reading it back finds an object that differs from the plan',
      };
    }
    return { applied: 'unknown', why: `nothing to read back for ${change.action}` };
  } catch (err) {
    return {
      applied: 'unknown',
      why: `reading it back failed too: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

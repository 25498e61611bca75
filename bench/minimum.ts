/**
 * The fewest requests a plan or an apply of the bench estate can make; the
 * bench reports any run above it ("no request beyond the minimum"). Pure.
 *
 * - Kazoo: one sign-in (api_auth), one listing page per account (an account
 *   holds far fewer documents than a page, 50), one GET per document, and in
 *   each account where the plan routes DIDs anew, one number-manager `identify`
 *   per such DID, or the account's listing (500 numbers a page) when it routes
 *   more than IDENTIFY_MAX (providers/kazoo/session.ts).
 * - Cloudflare: one listing per 1,000 services (per_page maximum, §3 SPEC), at
 *   least one; the session stops on a short page or at result_info.total_pages.
 * - An apply adds, per written object, its write and exactly one read-back GET
 *   (engine/apply.ts verifyApplied): Kazoo PATCH + GET, Cloudflare PUT + GET;
 *   and per Kazoo account in which a write claimed or released a DID, one
 *   `POST /phone_numbers/fix` (engine/apply.ts repairNumbers, INVARIANTS.md 4).
 */
import type { JsonObject } from '../src/core/json.ts';
import { PAGE_SIZE as CLOUDFLARE_PAGE } from '../src/providers/cloudflare/session.ts';
import { kazooConnectivity } from '../src/providers/kazoo/provider.ts';
import { IDENTIFY_MAX } from '../src/providers/kazoo/session.ts';

export interface EstateShape {
  readonly kazooAccounts: number;
  readonly kazooDocs: number;
  /** Number-manager requests of the plan-time ownership check (§12): see numberReads. */
  readonly kazooNumberReads: number;
  /** Cloudflare services (0: no Cloudflare target). */
  readonly services: number;
}

export interface Writes {
  readonly kazoo: number;
  readonly cloudflare: number;
  /** Kazoo accounts whose DIDs the writes changed (one number fix each). */
  readonly numberAccounts?: number;
}

/** Numbers per page of the number manager's listing the client asks for (client.ts listNumbers). */
export const NUMBER_PAGE = 500;

/**
 * The number-manager requests of a plan that routes `claimed.get(account)`
 * DIDs anew in each account, on an estate whose every DID is owned by its
 * document's account: one identify per DID, or the account's listing pages
 * (max(1, ceil(numbers / NUMBER_PAGE))) when more than IDENTIFY_MAX.
 */
export function numberReads(
  docs: Iterable<{ readonly account: string; readonly live: JsonObject }>,
  claimed: ReadonlyMap<string, number>,
): number {
  const owned = new Map<string, number>();
  for (const d of docs)
    if (claimed.has(d.account))
      owned.set(d.account, (owned.get(d.account) ?? 0) + kazooConnectivity.claims(d.live).length);
  let reads = 0;
  for (const [account, n] of claimed)
    reads += n <= IDENTIFY_MAX ? n : numberPages([owned.get(account) ?? 0]);
  return reads;
}

/** The number-manager pages of accounts holding these many numbers each. */
export function numberPages(numbersPerAccount: Iterable<number>): number {
  let pages = 0;
  for (const n of numbersPerAccount) pages += Math.max(1, Math.ceil(n / NUMBER_PAGE));
  return pages;
}

export function minimumPlanRequests(shape: EstateShape): number {
  const kazoo =
    shape.kazooDocs > 0 ? 1 + shape.kazooAccounts + shape.kazooDocs + shape.kazooNumberReads : 0;
  const cloudflare =
    shape.services > 0 ? Math.max(1, Math.ceil(shape.services / CLOUDFLARE_PAGE)) : 0;
  return kazoo + cloudflare;
}

export function minimumApplyRequests(shape: EstateShape, writes: Writes): number {
  return (
    minimumPlanRequests(shape) +
    2 * writes.kazoo +
    2 * writes.cloudflare +
    (writes.numberAccounts ?? 0)
  );
}

/**
 * The fewest requests a plan or an apply of the bench estate can make; the
 * bench reports any run above it ("no request beyond the minimum"). Pure.
 *
 * - Kazoo: one sign-in (api_auth), one listing page per account (an account
 *   holds far fewer documents than a page, 50), one GET per document.
 * - Cloudflare: one listing per 1,000 services (per_page maximum, §3 SPEC), at
 *   least one; the session stops on a short page or at result_info.total_pages.
 * - An apply adds, per written object, its write and exactly one read-back GET
 *   (engine/apply.ts verifyApplied): Kazoo PATCH + GET, Cloudflare PUT + GET;
 *   and per Kazoo account in which a write claimed or released a DID, one
 *   `POST /phone_numbers/fix` (engine/apply.ts repairNumbers, INVARIANTS.md 4).
 */
import { PAGE_SIZE as CLOUDFLARE_PAGE } from '../src/providers/cloudflare/session.ts';
export interface EstateShape {
  readonly kazooAccounts: number;
  readonly kazooDocs: number;
  /** Cloudflare services (0: no Cloudflare target). */
  readonly services: number;
}

export interface Writes {
  readonly kazoo: number;
  readonly cloudflare: number;
  /** Kazoo accounts whose DIDs the writes changed (one number fix each). */
  readonly numberAccounts?: number;
}

export function minimumPlanRequests(shape: EstateShape): number {
  const kazoo = shape.kazooDocs > 0 ? 1 + shape.kazooAccounts + shape.kazooDocs : 0;
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

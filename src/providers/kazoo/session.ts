/**
 * The `ProviderSession` of kazoo/connectivity: the engine's view of one Kazoo
 * target, on top of `KazooClient`.
 */
import { ConnopsError } from '../../core/errors.ts';
import type { JsonObject } from '../../core/json.ts';
import type { TargetConfig } from '../../core/model.ts';
import type { LiveObject, LiveRef, ProviderSession, WriteRequest } from '../types.ts';
import { KazooClient } from './client.ts';
import type { KazooDeps } from './client.ts';
import type { NumberFacts } from './numbers.ts';

/**
 * Up to this many numbers to check in one account are looked up one by one
 * (`identify`, a few hundred bytes each); more read the account's whole
 * listing (pages of 500 numbers, ~85 KB each). An account that gains a
 * handful of DIDs is the usual change, and its listing may hold thousands:
 * on the bench estate (10,000 documents) a plan that routes ~3 DIDs in each of
 * 1,000 accounts read 2,000 listing pages (170 MB of JSON) before this.
 * A port of many numbers reads the listing, which is fewer requests.
 */
export const IDENTIFY_MAX = 16;

/** The facts of one account's numbers for the ownership check: identify each, or the listing. */
async function readNumberFacts(
  client: KazooClient,
  account: string,
  values: readonly string[],
  signal?: AbortSignal,
): Promise<NumberFacts> {
  const numbers = [...new Set(values)];
  if (numbers.length > IDENTIFY_MAX)
    return { kind: 'listing', numbers: await client.listNumbers(account, signal) };
  // The HTTP client's limiter bounds how many run at once.
  const owners = await Promise.all(numbers.map((n) => client.identifyNumber(account, n, signal)));
  return { kind: 'owners', owners };
}

function requireRevision(account: string, live: LiveRef, verb: string): string {
  // Every Kazoo read carries a revision (§4); without one the write could not be guarded, so refuse it.
  if (live.revision === undefined) {
    throw new ConnopsError(
      'INTERNAL',
      `Cannot ${verb} kazoo/connectivity ${live.id} in account ${account}: its revision is unknown`,
    );
  }
  return live.revision;
}

/**
 * Opens a session on a Kazoo target. Signing in happens on the first call.
 *
 * @param target the target settings
 * @param deps HTTP dependencies (a MockAgent dispatcher in tests) and secrets to mask
 * @returns a session whose writes are guarded with `If-Match` on the live revision
 * @throws ConnopsError code CONFIG for a target without url or usable auth
 */
export function createKazooSession(target: TargetConfig, deps: KazooDeps): ProviderSession {
  const client = new KazooClient(target, deps);
  return {
    list: (account, signal) => client.list(account, signal),
    get: (account, id, signal) => client.get(account, id, signal),
    create: (account, body, id) => client.create(account, body, id),
    async update(account: string, live: LiveRef, request: WriteRequest): Promise<LiveObject> {
      const revision = requireRevision(account, live, 'update');
      const body: JsonObject = request.body ?? {};
      switch (request.method) {
        case 'PATCH':
          return client.patch(account, live.id, revision, body);
        case 'POST':
          return client.replace(account, live.id, revision, body);
        case 'DELETE':
        case 'PUT':
          // PUT only creates on this API (§1.1) and deletes go through delete(): either is a bug in the caller.
          throw new ConnopsError(
            'INTERNAL',
            `Cannot update kazoo/connectivity ${live.id} in account ${account} with ${request.method} (Kazoo updates with PATCH or POST)`,
          );
      }
    },
    delete: (account, live) =>
      client.delete(account, live.id, requireRevision(account, live, 'delete')),
    // The number manager, for the plan-time ownership check (§12);
    // `check_numbers: false` on the target leaves it out.
    ...(target.check_numbers === false
      ? {}
      : {
          readAccountFacts: (account: string, values: readonly string[], signal?: AbortSignal) =>
            readNumberFacts(client, account, values, signal),
        }),
    repairNumbers: (account) => client.fixNumbers(account),
    close: () => client.close(),
  };
}

/**
 * Where a connectivity body routes numbers, for the plan's numbers view
 * (core/numbers.ts): every key of `servers[].DIDs` (kazoo-api.md §7.1: the
 * `trunkstore/lookup_did` view is keyed by them). Pure.
 */
import { escapePointerToken, isObject, type JsonObject } from '../../core/json.ts';
import type { NumberSite } from '../../core/numbers.ts';
import { normalizeKazoo } from './normalize.ts';
import type { KazooSchemaVersion } from './schema.ts';

const PROBE = '+10000000000';
const defaultsCache = new Map<KazooSchemaVersion, JsonObject>();

/**
 * What the server fills into a DID's options by itself: the schema's defaults
 * (`force_outbound: false` on every version, kazoo-api.md §13: "the server then
 * adds force_outbound:false"), found by normalising an empty DID, so that a
 * schema with more defaults needs no change here.
 */
export function didDefaults(version: KazooSchemaVersion): JsonObject {
  let d = defaultsCache.get(version);
  if (!d) {
    const n = normalizeKazoo({ servers: [{ DIDs: { [PROBE]: {} } }] }, version);
    const servers = n['servers'];
    const server = Array.isArray(servers) ? servers[0] : undefined;
    const dids = isObject(server) ? server['DIDs'] : undefined;
    const probe = isObject(dids) ? dids[PROBE] : undefined;
    d = isObject(probe) ? probe : {};
    defaultsCache.set(version, d);
  }
  return d;
}

export function kazooNumbers(
  body: JsonObject,
  version: KazooSchemaVersion,
  skip?: ReadonlySet<number>,
): NumberSite[] {
  const servers = body['servers'];
  if (!Array.isArray(servers)) return [];
  const defaults = didDefaults(version);
  const { parts, partKeys } = serverKeys(servers);
  const out: NumberSite[] = [];
  servers.forEach((s, i) => {
    if (skip?.has(i) || !isObject(s) || !isObject(s['DIDs'])) return;
    const part = parts[i] as string;
    const partKey = partKeys[i] as string;
    for (const [did, options] of Object.entries(s['DIDs']))
      out.push({
        number: did,
        pointer: `/servers/${i}/DIDs/${escapePointerToken(did)}`,
        part,
        partKey,
        options,
        defaults,
      });
  });
  return out;
}

/**
 * Each server's name as a reviewer reads it (its `name`, else `servers[i]`)
 * and its identity across the two sides of a change (its name, else its SIP
 * user or IP, when no other server of the body shares it; else its index).
 */
function serverKeys(servers: readonly unknown[]): { parts: string[]; partKeys: string[] } {
  const names = servers.map((s) =>
    isObject(s) && typeof s['name'] === 'string' ? s['name'] : undefined,
  );
  const keys = servers.map((s, i) => {
    const name = names[i];
    return name !== undefined ? `name:${name}` : isObject(s) ? identity(s) : undefined;
  });
  const count = new Map<string, number>();
  for (const k of [...names.map((n) => (n === undefined ? undefined : `label:${n}`)), ...keys])
    if (k !== undefined) count.set(k, (count.get(k) ?? 0) + 1);
  return {
    parts: names.map((name, i) =>
      name !== undefined && count.get(`label:${name}`) === 1 ? name : `servers[${i}]`,
    ),
    partKeys: keys.map((key, i) =>
      key !== undefined && count.get(key) === 1 ? key : `index:${i}`,
    ),
  };
}

/**
 * The numbers of both sides of a change, leaving out each server whose DID map
 * is the very same object on both sides under the same identity: the plan
 * shares the parts of the live body that the desired one does not change
 * (core/plan.ts), so such a server routes the same numbers the same way, and a
 * plan that changes a trunk count in 10,000 documents need not list their
 * 775,000 DIDs twice. `numberDelta` of the result equals that of every site.
 */
export function kazooNumberPair(
  before: JsonObject | undefined,
  after: JsonObject | undefined,
  version: KazooSchemaVersion,
): { before: NumberSite[]; after: NumberSite[] } {
  const bs = before?.['servers'];
  const as = after?.['servers'];
  const skipBefore = new Set<number>();
  const skipAfter = new Set<number>();
  if (Array.isArray(bs) && Array.isArray(as)) {
    const bKeys = serverKeys(bs).partKeys;
    const aKeys = serverKeys(as).partKeys;
    const byKey = new Map<string, number>();
    bKeys.forEach((k, i) => byKey.set(k, i));
    aKeys.forEach((k, j) => {
      const i = byKey.get(k);
      if (i === undefined) return;
      const b = bs[i];
      const a = as[j];
      if (isObject(b) && isObject(a) && isObject(b['DIDs']) && b['DIDs'] === a['DIDs']) {
        skipBefore.add(i);
        skipAfter.add(j);
      }
    });
  }
  return {
    before: before ? kazooNumbers(before, version, skipBefore) : [],
    after: after ? kazooNumbers(after, version, skipAfter) : [],
  };
}

/** An unnamed server's identity: its SIP user, else its IP (issue 25 item 4 matches servers the same way). */
function identity(server: JsonObject): string | undefined {
  const auth = server['auth'];
  if (!isObject(auth)) return undefined;
  if (typeof auth['auth_user'] === 'string') return `user:${auth['auth_user'].toLowerCase()}`;
  if (typeof auth['ip'] === 'string') return `ip:${auth['ip']}`;
  return undefined;
}

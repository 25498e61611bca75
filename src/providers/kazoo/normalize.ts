/**
 * Pure normalisation and patch building for Kazoo connectivity bodies.
 */
import {
  deepEqual,
  isObject,
  objectFor,
  setKey,
  type JsonObject,
  type JsonValue,
} from '../../core/json.ts';
import { coerceDefaultAndSort, preparedEqual } from '../../core/schema-walk.ts';
import { kazooConnectivitySchema, type KazooSchemaVersion } from './schema.ts';

/**
 * Key connops writes into every document it creates or updates, so prune can
 * tell its objects from others. Kazoo keeps unknown keys (kazoo-api.md §2.2) and
 * a plain key survives, unlike `_`/`pvt_` keys which the server strips (§6.4).
 */
export const MANAGED_MARKER = 'connops_managed';

/**
 * Comparable form of a connectivity body, desired or live:
 * - private keys (`_*`, `pvt_*`), `id` and connops' marker dropped;
 * - the server's coercions and schema defaults applied (§2.3, §2.4), so a
 *   desired doc that omits `delay: 0` equals the live doc that stores it;
 * - from 4.3 on, `account.auth_realm` dropped: the server forces it (§1.4), and
 *   an `account` left empty by that is dropped too;
 * - keys sorted.
 */
export function normalizeKazoo(body: JsonObject, version: KazooSchemaVersion): JsonObject {
  // One walk coerces, fills defaults and sorts keys; dropping the realm keeps the order.
  const out = coerceDefaultAndSort(
    kazooConnectivitySchema(version),
    publicPart(body),
  ) as JsonObject;
  return realmForced(version) ? dropForcedRealm(out) : out;
}

/**
 * `deepEqual(normalizeKazoo(a, version), normalizeKazoo(b, version))`, without
 * building either copy (see preparedEqual). The realm is dropped before the
 * walk rather than after: the same thing, because from 4.3 on neither
 * `account` nor anything in it has a default (normalize.test.ts checks the two
 * agree).
 */
export function kazooSameNormalized(a: JsonObject, b: JsonObject, version: KazooSchemaVersion) {
  const view = (body: JsonObject): JsonObject => {
    const pub = publicPart(body);
    return realmForced(version) ? dropForcedRealm(pub) : pub;
  };
  return preparedEqual(kazooConnectivitySchema(version), view(a), view(b));
}

/** The body without server-owned keys (the body itself when it has none). */
function publicPart(body: JsonObject): JsonObject {
  const keys = Object.keys(body);
  if (!keys.some(isServerOwned)) return body;
  const out = objectFor(keys.length);
  for (const k of keys) if (!isServerOwned(k)) setKey(out, k, body[k] as JsonValue);
  return out;
}

function isServerOwned(key: string): boolean {
  return key.startsWith('_') || key.startsWith('pvt_') || key === 'id' || key === MANAGED_MARKER;
}

/** From 4.3 on the server sets `account.auth_realm` itself (§1.4), whatever was sent. */
function realmForced(version: KazooSchemaVersion): boolean {
  return version === '4.3' || version === '5';
}

function dropForcedRealm(body: JsonObject): JsonObject {
  const account = body['account'];
  if (!isObject(account) || !Object.hasOwn(account, 'auth_realm')) return body;
  const { auth_realm: _realm, ...rest } = account;
  const out = { ...body };
  if (Object.keys(rest).length === 0) delete out['account'];
  else out['account'] = rest;
  return out;
}

/**
 * The smallest Kazoo PATCH body turning `live` into `desired` under Kazoo's
 * merge rules (kazoo-api.md §1.7): nested objects merge, so only changed keys
 * are sent; arrays and scalars replace whole; `null` deletes a key; and an
 * empty object `{}` replaces rather than merges, so it is sent as such.
 */
export function buildMergePatch(live: JsonObject, desired: JsonObject): JsonObject {
  const patch: JsonObject = {};
  for (const [key, want] of Object.entries(desired)) {
    const have = Object.hasOwn(live, key) ? live[key] : undefined;
    if (have !== undefined && deepEqual(have, want)) continue;
    if (isObject(want) && isObject(have) && Object.keys(want).length > 0) {
      const sub = buildMergePatch(have, want);
      if (Object.keys(sub).length > 0) patch[key] = sub;
    } else {
      patch[key] = stripNulls(want);
    }
  }
  for (const key of Object.keys(live)) {
    if (!Object.hasOwn(desired, key)) patch[key] = null;
  }
  return patch;
}

/**
 * Kazoo drops nulls inside objects that a PATCH introduces (§1.7), so never
 * send them there. A value with no null inside is returned as it is, not
 * copied: bodies are never changed once built, and a patch that replaces a
 * server array would otherwise copy every DID map in it.
 */
function stripNulls(value: JsonValue): JsonValue {
  if (Array.isArray(value)) {
    let out: JsonValue[] | undefined;
    value.forEach((v, i) => {
      const next = stripNulls(v);
      if (next !== v) (out ??= [...value])[i] = next;
    });
    return out ?? value;
  }
  if (!isObject(value)) return value;
  const keys = Object.keys(value);
  const next = keys.map((k) => {
    const v = value[k] as JsonValue;
    return v === null ? null : stripNulls(v);
  });
  if (next.every((v, i) => v !== null && v === value[keys[i] as string])) return value;
  const out = objectFor(keys.length);
  keys.forEach((k, i) => {
    const v = next[i] as JsonValue;
    if (v !== null) setKey(out, k, v);
  });
  return out;
}

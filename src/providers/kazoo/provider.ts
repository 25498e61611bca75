/**
 * The Kazoo `connectivity` provider: kind `kazoo/connectivity` on targets of
 * type `kazoo`. Offline parts are pure; `connect` opens a Crossbar session.
 */
import { cloneJson, getAtPointer, isObject, type JsonValue } from '../../core/json.ts';
import type { TargetConfig } from '../../core/model.ts';
import type { ExclusiveValue, Provider, TargetProblem, WriteRequest } from '../types.ts';
import {
  checkKazooAll,
  checkKazooSpec,
  kazooDuplicateInTarget,
  kazooFacts,
  kazooUniqueInTarget,
} from './checks.ts';
import { kazooNumberPair, kazooNumbers } from './number-view.ts';
import { factFindings, type NumberFacts } from './numbers.ts';
import {
  buildMergePatch,
  kazooSameNormalized,
  MANAGED_MARKER,
  normalizeKazoo,
} from './normalize.ts';
import { DEFAULT_KAZOO_SCHEMA, KAZOO_SCHEMA_ALIASES, resolveKazooSchemaVersion } from './schema.ts';
import { createKazooSession } from './session.ts';

/**
 * What tells two servers of a document apart (INVARIANTS.md item 9): its
 * `name`, else its SIP user, else its IP (reference/kazoo-api.md §7.3: a
 * server is found at call time by auth_user or ip).
 */
const SERVER_IDENTITY = { name: '/name', auth_user: '/auth/auth_user', ip: '/auth/ip' } as const;

/** "name=pbx-1", "auth_user=…" or "ip=…" of a server; undefined when it has none of them. */
export function serverIdentity(server: JsonValue): string | undefined {
  for (const [key, pointer] of Object.entries(SERVER_IDENTITY)) {
    const v = getAtPointer(server, pointer);
    if (typeof v === 'string' && v !== '') return `${key}=${v}`;
  }
  return undefined;
}

function versionOf(target: TargetConfig) {
  return resolveKazooSchemaVersion(target.schema) ?? DEFAULT_KAZOO_SCHEMA;
}

export const kazooConnectivity: Provider = {
  kind: 'kazoo/connectivity',
  targetType: 'kazoo',
  verbs: { create: 'PUT', update: 'PATCH', delete: 'DELETE' },
  // Crossbar honours a client-supplied data.id on PUT (kazoo-api.md §1.4).
  createWithId: true,
  // Updates and deletes send If-Match with the document's rev (kazoo-api.md).
  conditionalWrites: true,

  checkTarget(target) {
    const problems: TargetProblem[] = [];
    if (resolveKazooSchemaVersion(target.schema) === undefined) {
      problems.push({
        setting: 'schema',
        message: `schema "${target.schema ?? ''}" is not a Kazoo version connops knows; use one of ${Object.keys(KAZOO_SCHEMA_ALIASES).join(', ')}`,
      });
    }
    const a = target.auth;
    const hasKey = typeof a['api_key'] === 'string';
    const hasUser =
      typeof a['username'] === 'string' &&
      typeof a['password'] === 'string' &&
      (typeof a['account_name'] === 'string' || typeof a['account_realm'] === 'string');
    if (Object.keys(a).length > 0 && !hasKey && !hasUser) {
      problems.push({
        setting: 'auth',
        message: 'auth must be { api_key } or { username, password, account_name | account_realm }',
      });
    }
    return problems;
  },

  defaultAccount: () => undefined,

  checkAccount(account) {
    // Crossbar answers 404 for account ids that are not 32 characters (kazoo-api.md §3.4).
    return /^[0-9a-f]{32}$/.test(account)
      ? undefined
      : `account "${account}" is not a Kazoo account id (32 lowercase hex characters)`;
  },

  checkSpec: (spec, target) => checkKazooSpec(spec, versionOf(target)),
  facts: (spec) => kazooFacts(spec),
  checkAll: (docs) => checkKazooAll(docs),
  uniqueInTarget: (facts) => kazooUniqueInTarget(facts),
  duplicateInTarget: (did, first, again) => kazooDuplicateInTarget(did, first, again),
  numbers: (body, target) => kazooNumbers(body, versionOf(target)),
  numberPair: (before, after, target) => kazooNumberPair(before, after, versionOf(target)),

  secretPointers(spec) {
    const out: string[] = [];
    const servers = spec['servers'];
    if (!Array.isArray(servers)) return out;
    servers.forEach((s, i) => {
      if (isObject(s) && isObject(s['auth']) && s['auth']['auth_password'] !== undefined)
        out.push(`/servers/${i}/auth/auth_password`);
    });
    return out;
  },

  normalize: (body, target) => normalizeKazoo(body, versionOf(target)),
  sameNormalized: (a, b, target) => kazooSameNormalized(a, b, versionOf(target)),
  nameOf: (body) => (typeof body['name'] === 'string' ? body['name'] : undefined),
  buildCreate: (desired) => ({ ...desired }),

  buildUpdate(liveNormalized, desiredNormalized): WriteRequest {
    return { method: 'PATCH', body: buildMergePatch(liveNormalized, desiredNormalized) };
  },

  claims(spec) {
    const out: string[] = [];
    const servers = spec['servers'];
    if (!Array.isArray(servers)) return out;
    for (const s of servers)
      if (isObject(s) && isObject(s['DIDs'])) out.push(...Object.keys(s['DIDs']));
    return out;
  },

  keepReleased(liveN, desiredN, released) {
    const out = cloneJson(desiredN);
    const servers = Array.isArray(out['servers']) ? out['servers'] : [];
    out['servers'] = servers;
    const liveServers = Array.isArray(liveN['servers']) ? liveN['servers'] : [];
    for (const did of released) {
      const from = liveServers.find((s) => isObject(s) && isObject(s['DIDs']) && did in s['DIDs']);
      if (!isObject(from) || !isObject(from['DIDs'])) continue;
      const value = cloneJson(from['DIDs'][did] ?? {});
      const id = serverIdentity(from);
      // Back on the same server (by identity), else the first; a document left
      // with no server keeps the live one for the moment.
      let to = servers.find((s) => isObject(s) && id !== undefined && serverIdentity(s) === id);
      if (!isObject(to)) to = servers.find((s) => isObject(s));
      if (!isObject(to)) {
        servers.push({ ...cloneJson(from), DIDs: { [did]: value } });
        continue;
      }
      const dids = isObject(to['DIDs']) ? to['DIDs'] : {};
      dids[did] = value;
      to['DIDs'] = dids;
    }
    return out;
  },

  identities: { '/servers': SERVER_IDENTITY },

  checkAccountFacts(account, claims, facts) {
    return claims.flatMap(({ doc, values }) =>
      factFindings(account, values, facts as NumberFacts).map((f) => ({
        doc,
        message: `${doc.key.kind} "${doc.key.name}": ${f.message}`,
      })),
    );
  },

  exclusiveValues(body) {
    const out: ExclusiveValue[] = [];
    const servers = body['servers'];
    if (!Array.isArray(servers)) return out;
    for (const s of servers) {
      if (!isObject(s)) continue;
      // A DID routes to one document in the whole cluster (§7.1), a SIP user
      // registers once per account realm (§7.3, §7.6 item 5).
      if (isObject(s['DIDs']))
        for (const did of Object.keys(s['DIDs']))
          out.push({ label: 'DID', value: did, scope: 'target' });
      const auth = s['auth'];
      const password =
        String(isObject(auth) ? (auth['auth_method'] ?? 'password') : '').toLowerCase() ===
        'password';
      if (isObject(auth) && password && typeof auth['auth_user'] === 'string')
        out.push({ label: 'SIP user', value: auth['auth_user'], scope: 'account' });
    }
    return out;
  },

  isManaged: (body) => body[MANAGED_MARKER] === true,
  markManaged: (body) => ({ ...body, [MANAGED_MARKER]: true }),
  connect: (target, deps) => createKazooSession(target, deps),
};

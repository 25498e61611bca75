/**
 * The Kazoo `connectivity` provider: kind `kazoo/connectivity` on targets of
 * type `kazoo`. Offline parts are pure; `connect` opens a Crossbar session.
 */
import { isObject } from '../../core/json.ts';
import type { TargetConfig } from '../../core/model.ts';
import type { Provider, TargetProblem, WriteRequest } from '../types.ts';
import { checkKazooAll, checkKazooSpec, kazooFacts } from './checks.ts';
import {
  buildMergePatch,
  kazooSameNormalized,
  MANAGED_MARKER,
  normalizeKazoo,
} from './normalize.ts';
import { DEFAULT_KAZOO_SCHEMA, KAZOO_SCHEMA_ALIASES, resolveKazooSchemaVersion } from './schema.ts';
import { createKazooSession } from './session.ts';

function versionOf(target: TargetConfig) {
  return resolveKazooSchemaVersion(target.schema) ?? DEFAULT_KAZOO_SCHEMA;
}

export const kazooConnectivity: Provider = {
  kind: 'kazoo/connectivity',
  targetType: 'kazoo',
  verbs: { create: 'PUT', update: 'PATCH', delete: 'DELETE' },
  // Crossbar honours a client-supplied data.id on PUT (kazoo-api.md §1.4).
  createWithId: true,

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

  isManaged: (body) => body[MANAGED_MARKER] === true,
  markManaged: (body) => ({ ...body, [MANAGED_MARKER]: true }),
  connect: (target, deps) => createKazooSession(target, deps),
};

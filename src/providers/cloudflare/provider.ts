/**
 * The `cloudflare/connectivity-service` provider: Workers VPC connectivity
 * directory services, identified by `name` within the target's account
 * (reference/cloudflare-api.md §2 "Unique per account", §10).
 */
import { canonicalJson, deepEqual, type JsonObject } from '../../core/json.ts';
import type { Diagnostic, TargetConfig } from '../../core/model.ts';
import { validateAgainst, type SchemaProblem } from '../../core/schema.ts';
import type { Provider, SpecProblem, TargetProblem, WriteRequest } from '../types.ts';
import { checkService } from './checks.ts';
import { dropNulls, normalizeService } from './normalize.ts';
import {
  BODY_FIELDS,
  CLOUDFLARE_SERVICE_SCHEMA,
  HOST_FIELDS,
  OPTIONAL_FIELDS,
  type OptionalField,
} from './schema.ts';
import { createCloudflareSession, KIND } from './session.ts';

const ACCOUNT_ID = /^[0-9a-f]{32}$/i;
const AUTH_KEYS = ['token', 'email', 'api_key'];

/**
 * Schema problems that `checks.ts` states better: the host `oneOf` branch noise
 * (one HOST_SHAPE message replaces it) and anything at a pointer checks already
 * report (e.g. tunnel_id's UUID pattern).
 */
function isHostBranchNoise(p: SchemaProblem): boolean {
  if (p.pointer === '/host' && p.keyword === 'oneOf') return true;
  const m = /^\/host\/([^/]+)$/.exec(p.pointer);
  return (
    m !== null &&
    (HOST_FIELDS as readonly string[]).includes(m[1] ?? '') &&
    (p.keyword === 'required' || p.keyword === 'false schema')
  );
}

function schemaToSpecProblem(p: SchemaProblem): SpecProblem {
  return { severity: 'error', code: 'SCHEMA', pointer: p.pointer, message: p.message };
}

/** The create body: writable keys only, nulls dropped (absent ≡ null, §3, §10). */
function buildCreateBody(desired: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const key of BODY_FIELDS) {
    const v = desired[key];
    if (v !== undefined && v !== null) out[key] = dropNulls(v);
  }
  return out;
}

/**
 * How a PUT removes an optional field, per the OpenAPI in
 * ../shared/cloudflare-schemas/ (OpenAPI 3.0.3, where `nullable: true` adds
 * null to the type but every other keyword still applies):
 * - `http_port`, `https_port`, `tcp_port`: `{type: integer, minimum: 1, nullable}`,
 *   so `null` is valid: sent, as terraform does (reference/cloudflare-api.md §3);
 * - `app_protocol`: `{enum: [postgresql, mysql], nullable}`: null is not in the
 *   enum, so it is invalid as written;
 * - `tls_settings`: `{type: object, allOf: [infra_ApiTlsSettings], nullable}`:
 *   null fails the allOf (ApiTlsSettings is a non-nullable object), invalid as written.
 * Those two are left out of the body instead. What the server does with an
 * omitted field is unverified (emulator/cloudflare/unverified.ts PUT_SEMANTICS);
 * a server that keeps it fails the read-back as "did not converge".
 * provider.test.ts validates the bodies against the OpenAPI at test time.
 */
export const REMOVAL_FORM: Readonly<Record<OptionalField, 'null' | 'omit'>> = {
  http_port: 'null',
  https_port: 'null',
  tcp_port: 'null',
  app_protocol: 'omit',
  tls_settings: 'omit',
};

export const cloudflareConnectivityService: Provider = {
  kind: KIND,
  targetType: 'cloudflare',
  verbs: { create: 'POST', update: 'PUT', delete: 'DELETE' },
  // service_id is readOnly and server-assigned (cloudflare-api.md §2).
  createWithId: false,

  checkTarget(target: TargetConfig): TargetProblem[] {
    const out: TargetProblem[] = [];
    const account = target.account_id;
    if (account === undefined || account === '') {
      out.push({
        setting: 'account_id',
        message: 'a cloudflare target needs "account_id" (the 32-character account identifier)',
      });
    } else if (!ACCOUNT_ID.test(account)) {
      out.push({
        setting: 'account_id',
        message: `"account_id" must be 32 hexadecimal characters (the Cloudflare account identifier), not "${account}"`,
      });
    }
    const auth = target.auth;
    const has = (k: string): boolean => typeof auth[k] === 'string' && auth[k] !== '';
    for (const k of Object.keys(auth)) {
      if (!AUTH_KEYS.includes(k))
        out.push({
          setting: 'auth',
          message: `unknown auth setting "${k}" (use "token", or "email" with "api_key")`,
        });
    }
    // §6: a token OR an email plus global API key; not both, so it is clear which one is used.
    if (has('token') && (has('email') || has('api_key'))) {
      out.push({
        setting: 'auth',
        message:
          'auth has both "token" and "email"/"api_key"; use one: a token, or email with api_key',
      });
    } else if (!has('token') && !(has('email') && has('api_key'))) {
      out.push({
        setting: 'auth',
        message: 'auth needs "token" (an API token), or both "email" and "api_key"',
      });
    }
    return out;
  },

  defaultAccount(target: TargetConfig): string | undefined {
    return target.account_id;
  },

  checkSpec(spec: JsonObject): SpecProblem[] {
    const checks = checkService(spec);
    const checked = new Set(checks.map((c) => c.pointer));
    const schema = validateAgainst(CLOUDFLARE_SERVICE_SCHEMA, spec)
      .filter((p) => !isHostBranchNoise(p) && !checked.has(p.pointer))
      .map(schemaToSpecProblem);
    // A host that matches no shape but has no semantic finding (e.g. wrong types inside) keeps ajv's message.
    return [...schema, ...checks];
  },

  facts: () => null,

  checkAll(): Diagnostic[] {
    // Duplicate names within (target, account) are the engine's identity check;
    // nothing else spans documents for this kind.
    return [];
  },

  secretPointers(): string[] {
    // The service body has no secret fields (§2): credentials live in the target only.
    return [];
  },

  normalize(body: JsonObject): JsonObject {
    return normalizeService(body);
  },

  sameNormalized(a: JsonObject, b: JsonObject): boolean {
    // Service bodies are small: normalising both and comparing costs little.
    return deepEqual(normalizeService(a), normalizeService(b));
  },

  nameOf(body: JsonObject): string | undefined {
    const name = body['name'];
    return typeof name === 'string' ? name : undefined;
  },

  buildCreate(desired: JsonObject): JsonObject {
    return buildCreateBody(desired);
  },

  /**
   * PUT is a full replacement (§3): send the complete desired body. For an
   * optional field the desired body leaves out while the live one differs there
   * (after normalisation), send the removal the OpenAPI allows (REMOVAL_FORM):
   * an explicit `null` for the ports, so the result does not depend on the
   * unverified omitted-field semantic (§12.1); no key at all for `app_protocol`
   * and `tls_settings`, whose schemas as written admit no null. Either way the
   * read-back after the write shows a server that kept the old value.
   */
  buildUpdate(
    liveNormalized: JsonObject,
    desiredNormalized: JsonObject,
    desired: JsonObject,
  ): WriteRequest {
    const body = buildCreateBody(desired);
    for (const key of OPTIONAL_FIELDS) {
      if (Object.hasOwn(body, key) || REMOVAL_FORM[key] === 'omit') continue;
      if (canonicalJson(liveNormalized[key]) !== canonicalJson(desiredNormalized[key]))
        body[key] = null;
    }
    return { method: 'PUT', body };
  },

  claims(): string[] {
    return [];
  },

  /**
   * The API has nowhere to store an ownership marker: no labels, tags,
   * description or free-form field, and unknown keys are not kept (§2, §4).
   * So no live service counts as connops-managed, and prune can only delete
   * services a document once declared (SPEC.md §4).
   */
  isManaged(): boolean {
    return false;
  },

  markManaged(body: JsonObject): JsonObject {
    return body;
  },

  connect(target, deps) {
    return createCloudflareSession(target, deps);
  },
};

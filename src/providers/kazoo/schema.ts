/**
 * JSON Schemas for the Kazoo `connectivity` document body, one per API version
 * documented by the seed tables (../shared/seeds/000–003). Written by us from
 * those tables; the vendor's own files are not used.
 *
 * | version | seed | what the table documents |
 * | ------- | ---- | ------------------------ |
 * | "4.0"   | 000  | `account.auth_realm` settable; DID `caller_id.cid_name/cid_number` required; `servers[].options` an unchecked object |
 * | "4.1"   | 001  | options documented (inbound_format e164/npan/1npan/username); still `account.auth_realm` (alias "4.2") |
 * | "4.3"   | 003  | the 4.3 line: no `auth_realm` (server-forced), plus dynamic_flags, flags, emergency_caller_id, hunt_* (default) |
 * | "5"     | 002  | the unversioned current documentation; its table is identical to 003 (aliases "5.x", "master") |
 *
 * On top of the tables, the constraints of the vendor's own schema that the
 * tables leave out (reference/kazoo-api.md §2.1, §2.5, §14), each checked against
 * `applications/crossbar/priv/couchdb/schemas/connectivity.json` in 2600hz/kazoo:
 *
 * | constraint | versions | vendor source |
 * | ---------- | -------- | ------------- |
 * | `account.trunks` minimum 0 | all | @dcf86cbc:37, 4.3 @223893d0:37, 4.1.0 and 4.0.58 :42 |
 * | `servers[].options.progress_timeout` minimum 1 | "4.1", "4.3", "5" ("4.0" leaves options unchecked) | @dcf86cbc:259, @223893d0:258, 4.1.0:235 |
 * | `inbound_format` enum has `strip_plus` | "5" only (PR #6512) | @dcf86cbc:236; absent from @223893d0 |
 *
 * There is no `additionalProperties` anywhere, so neither do we: Kazoo keeps
 * unknown keys (§2.2); connops reports them as warnings instead. The
 * differential test (schema.vendor.test.ts) compares these schemas with the
 * vendor files in ../shared/kazoo-schemas/ on generated documents.
 */
import type { JsonObject } from '../../core/json.ts';

export type KazooSchemaVersion = '4.0' | '4.1' | '4.3' | '5';

/** Accepted spellings of the target's `schema` setting and the version each selects. */
export const KAZOO_SCHEMA_ALIASES: Readonly<Record<string, KazooSchemaVersion>> = {
  '4.0': '4.0',
  '4.1': '4.1',
  '4.2': '4.1',
  '4.3': '4.3',
  '5': '5',
  '5.x': '5',
  master: '5',
};

export const DEFAULT_KAZOO_SCHEMA: KazooSchemaVersion = '4.3';

/** The DID key pattern of every version: note it also matches "" and numbers without "+". */
export const DID_KEY_PATTERN = '^\\+?\\d*$';

const str = (min?: number, max?: number): JsonObject => ({
  type: 'string',
  ...(min !== undefined ? { minLength: min } : {}),
  ...(max !== undefined ? { maxLength: max } : {}),
});
const strArray: JsonObject = { type: 'array', items: { type: 'string' } };
const int: JsonObject = { type: 'integer' };
const bool = (def?: boolean): JsonObject => ({
  type: 'boolean',
  ...(def !== undefined ? { default: def } : {}),
});

function callerId(min: number, required = false): JsonObject {
  return {
    type: 'object',
    properties: { cid_name: str(min, 35), cid_number: str(min, 35) },
    ...(required ? { required: ['cid_name', 'cid_number'] } : {}),
  };
}

const failover: JsonObject = {
  type: 'object',
  description: 'Route inbound call to another destination if this server fails to handle the call',
  properties: {
    e164: { type: 'string', description: 'An E.164 formatted DID to dial for failover' },
    sip: { type: 'string', description: 'A SIP URI (sip:user@host) to call for failover' },
  },
};

function serverOptions(version: KazooSchemaVersion): JsonObject {
  // Seed 000 (4.0) documents `servers.[].options` as a bare object: its keys were not validated.
  if (version === '4.0') return { type: 'object' };
  const properties: JsonObject = {
    caller_id: callerId(1),
    delay: { type: 'integer', default: 0 },
    enabled: bool(true),
    failover,
    force_outbound: bool(false),
    ignore_early_media: bool(),
    inbound_format: {
      type: 'string',
      // strip_plus arrived on master only (PR #6512, connectivity.json@dcf86cbc:236).
      enum: ['e164', 'npan', '1npan', 'username', ...(version === '5' ? ['strip_plus'] : [])],
      default: 'npan',
    },
    ip: str(),
    media_handling: { type: 'string', enum: ['process', 'bypass'], default: 'bypass' },
    port: int,
    // connectivity.json@dcf86cbc:259 (4.3 @223893d0:258): Kazoo answers 400 not_minimum below 1.
    progress_timeout: { type: 'integer', minimum: 1 },
    sip_headers: { type: 'array', items: { type: 'object' } },
    timeout: int,
  };
  if (version === '4.3' || version === '5') {
    properties['dynamic_flags'] = strArray;
    properties['emergency_caller_id'] = callerId(0);
    properties['flags'] = strArray;
    properties['hunt_account_id'] = str();
    properties['hunt_non_reconcilable'] = bool(false);
  }
  return { type: 'object', properties };
}

function buildSchema(version: KazooSchemaVersion): JsonObject {
  const account: JsonObject = {
    type: 'object',
    description: 'Information that applies to the account as a whole',
    properties: {
      caller_id: callerId(0),
      emergency_caller_id: callerId(0),
      trunks: {
        type: 'integer',
        // connectivity.json@dcf86cbc:37 (every version): Kazoo answers 400 not_minimum below 0.
        minimum: 0,
        description: 'The number of two-way trunks this account has purchased',
      },
      ...(version === '4.0' || version === '4.1' ? { auth_realm: str(1) } : {}),
    },
  };
  const did: JsonObject = {
    type: 'object',
    properties: {
      caller_id: callerId(1, version === '4.0'),
      failover,
      force_outbound: bool(false),
      options: strArray,
    },
  };
  const server: JsonObject = {
    type: 'object',
    required: ['auth'],
    properties: {
      DIDs: { type: 'object', patternProperties: { [DID_KEY_PATTERN]: did } },
      auth: {
        type: 'object',
        required: ['auth_method'],
        properties: {
          auth_method: {
            type: 'string',
            enum: ['password', 'Password', 'IP', 'ip'],
            default: 'password',
          },
          auth_password: str(1),
          auth_user: str(1),
          ip: str(),
          port: int,
        },
      },
      name: str(1),
      options: serverOptions(version),
    },
  };
  return {
    $id: `connops:kazoo/connectivity/${version}`,
    description: 'Trunkstore configuration document (Kazoo connectivity)',
    type: 'object',
    properties: {
      account,
      name: { type: 'string', description: 'Human-friendly name of the trunkstore account' },
      servers: { type: 'array', items: server, default: [] },
    },
  };
}

const cache = new Map<KazooSchemaVersion, JsonObject>();

/** The connectivity body schema for one version (built once, then shared). */
export function kazooConnectivitySchema(version: KazooSchemaVersion): JsonObject {
  let schema = cache.get(version);
  if (!schema) {
    schema = buildSchema(version);
    cache.set(version, schema);
  }
  return schema;
}

/** Resolves a target's `schema` setting, or undefined when it names no known version. */
export function resolveKazooSchemaVersion(
  setting: string | undefined,
): KazooSchemaVersion | undefined {
  if (setting === undefined) return DEFAULT_KAZOO_SCHEMA;
  return Object.hasOwn(KAZOO_SCHEMA_ALIASES, setting) ? KAZOO_SCHEMA_ALIASES[setting] : undefined;
}

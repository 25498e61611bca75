/**
 * A Kazoo Crossbar emulator for the `connectivity` (trunkstore) API on a real
 * loopback HTTP server, following reference/kazoo-api.md §9 (the fidelity
 * checklist): routes and verbs, envelopes per version, validation errors in
 * jesse's format, defaults and coercion written into the doc, forced realm,
 * revisions and ETag/If-Match, PATCH merge, soft delete, pagination, api_auth /
 * user_auth tokens, DID ownership. State is in memory.
 */
import type { Server } from 'node:http';
import { isObject, type JsonObject, type JsonValue } from '../../core/json.ts';
import { kazooConnectivitySchema, type KazooSchemaVersion } from '../../providers/kazoo/schema.ts';
import { FaultInjector, type FaultConfig } from '../faults.ts';
import {
  assertLoopback,
  closeServer,
  createEmulatorServer,
  listen,
  type EmulatorRequest,
  type EmulatorResponse,
} from '../http-util.ts';
import { bare, failure, success, type KazooVersion, type RequestContext } from './envelope.ts';
import {
  canFetch,
  handlePhoneNumbers,
  phoneNumberMethods,
  type NumberRouteDeps,
  type PhoneNumber,
} from './numbers.ts';
import {
  accountDb,
  gregorianSeconds,
  KazooStore,
  newId,
  nextRevision,
  ownerIdFor,
  userCredentials,
  type KazooSeed,
  type SeedAccount,
  type TokenRecord,
} from './store.ts';
import {
  didKeys,
  isPrivateKey,
  mergePatch,
  normalizeNumber,
  prepareAuthBody,
  prepareWrite,
  publicFields,
  privateFields,
} from './validate.ts';

export type { KazooSeed, SeedAccount } from './store.ts';
export type { NumberState, PhoneNumber, SeedNumber } from './numbers.ts';
export type { KazooVersion } from './envelope.ts';

export interface KazooEmulatorOptions {
  /** Loopback only (default 127.0.0.1). */
  host?: string;
  /** 0 = any free port (default). */
  port?: number;
  /** Emulated crossbar line: envelope keys differ (§3.1). Default '4.3'. */
  version?: KazooVersion;
  /** Connectivity schema to validate with; default '4.3' ('5' when version is '5'). */
  schema?: KazooSchemaVersion;
  /** Accounts to create (DEMO_KAZOO when neither accounts nor seed.accounts are given). */
  accounts?: SeedAccount[];
  seed?: KazooSeed;
  faults?: FaultConfig;
  /** Token lifetime (default 3600 s, §5.4). */
  tokenTtlS?: number;
  /** Default listing page size (default 50, §6.3). */
  pageSize?: number;
  /** Clock (ms since the epoch) for token expiry and timestamps; tests inject one. */
  now?: () => number;
}

export interface KazooEmulator {
  /** Base URL including `/v2`, e.g. http://127.0.0.1:PORT/v2 */
  readonly url: string;
  readonly port: number;
  readonly version: KazooVersion;
  readonly schema: KazooSchemaVersion;
  readonly faults: FaultInjector;
  close(): Promise<void>;
  /** Every account, doc (private fields included) and number owner. */
  dump(): KazooSeed;
  /** Loads more state (accounts, docs, numbers). */
  seed(seed: KazooSeed): void;
  /** HTTP requests received so far (faulted ones included). */
  requestCount(): number;
  /**
   * Called after every document write (create, update, soft or hard delete),
   * with the account id: tests check invariants on every state the store passes
   * through, not only on states a poll happens to see.
   */
  onWrite: ((accountId: string) => void) | undefined;
  createAccount(account: SeedAccount): SeedAccount;
  /** Sets (or with undefined clears) the owning account of a number (§3.4); a new number is `in_service`. */
  setNumberOwner(number: string, accountId: string | undefined): void;
  /** Adds or replaces a number in the number manager (§12), as a seed's `numbers` entry would. */
  addNumber(number: string, props?: Omit<Partial<PhoneNumber>, 'number'>): PhoneNumber;
  /** A copy of one number's record, or undefined when the number manager does not have it. */
  number(number: string): PhoneNumber | undefined;
  /** Expires every token issued so far (the next use gets 401). */
  expireTokens(): void;
  /** Issues a token for an account without an HTTP round trip. */
  issueToken(accountId: string): string;
}

/** The account seeded when no accounts are given: used by the README quick start and demos. */
export const DEMO_KAZOO = {
  accountId: 'd0e1a2b3c4d5e6f708192a3b4c5d6e7f',
  apiKey: 'demo0000000000000000000000000000000000000000000000000000000000ab',
  accountName: 'demo',
  realm: 'demo.sip.connops.local',
  username: 'demo',
  password: 'demo-password',
} as const;

export const DEFAULT_TOKEN_TTL_S = 3600;
export const DEFAULT_PAGE_SIZE = 50;

const CONNECTIVITY_COLLECTION = ['GET', 'PUT'] as const;
const CONNECTIVITY_ITEM = ['GET', 'POST', 'PATCH', 'DELETE'] as const;
const AUTH_METHODS = ['PUT'] as const;

const API_AUTH_SCHEMA: JsonObject = {
  $id: 'connops-emulator:kazoo/api_auth',
  type: 'object',
  additionalProperties: false,
  required: ['api_key'],
  properties: { api_key: { type: 'string', minLength: 64, maxLength: 64 } },
};

const USER_AUTH_SCHEMA: JsonObject = {
  $id: 'connops-emulator:kazoo/user_auth',
  type: 'object',
  required: ['credentials'],
  properties: {
    credentials: { type: 'string', minLength: 1, maxLength: 64 },
    method: { type: 'string', enum: ['md5', 'sha'], default: 'md5' },
    account_name: { type: 'string' },
    account_realm: { type: 'string', pattern: '^[.\\w_-]+$', minLength: 4, maxLength: 253 },
    phone_number: { type: 'string' },
  },
};

/** Master's token bucket: reported in `tokens`, never enforced (429s come from FaultConfig). */
const BUCKET_SIZE = 100;
const BUCKET_REFILL_PER_S = 10;
const API_AUTH_COST = 35;

type Route =
  | { readonly kind: 'api_auth' }
  | { readonly kind: 'user_auth' }
  | { readonly kind: 'collection'; readonly accountId: string }
  | { readonly kind: 'item'; readonly accountId: string; readonly docId: string }
  | {
      readonly kind: 'numbers';
      readonly accountId: string;
      readonly rest: readonly string[];
      readonly methods: readonly string[];
    };

function matchRoute(path: string): Route | undefined {
  const trimmed = path.replace(/\/+$/, '');
  if (!trimmed.startsWith('/v2/')) return undefined;
  let segs: string[];
  try {
    segs = trimmed.slice(4).split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (segs.length === 1 && segs[0] === 'api_auth') return { kind: 'api_auth' };
  if (segs.length === 1 && segs[0] === 'user_auth') return { kind: 'user_auth' };
  if (segs[0] === 'accounts' && segs[2] === 'connectivity' && segs[1] !== undefined) {
    if (segs.length === 3) return { kind: 'collection', accountId: segs[1] };
    if (segs.length === 4 && segs[3] !== undefined)
      return { kind: 'item', accountId: segs[1], docId: segs[3] };
  }
  if (segs[0] === 'accounts' && segs[2] === 'phone_numbers' && segs[1] !== undefined) {
    // The number manager's routes (§12), in numbers.ts.
    const methods = phoneNumberMethods(segs.slice(3));
    if (methods) return { kind: 'numbers', accountId: segs[1], rest: segs.slice(3), methods };
  }
  return undefined;
}

function allowedMethods(route: Route): readonly string[] {
  switch (route.kind) {
    case 'api_auth':
    case 'user_auth':
      return AUTH_METHODS;
    case 'collection':
      return CONNECTIVITY_COLLECTION;
    case 'item':
      return CONNECTIVITY_ITEM;
    case 'numbers':
      return route.methods;
  }
}

/** `term_to_binary(<<Id/binary>>)` base64url'd, as api_util:encode_start_key does (§6.3). */
export function encodeStartKey(id: string): string {
  const bytes = Buffer.from(id, 'utf8');
  const head = Buffer.alloc(6);
  head.writeUInt8(131, 0);
  head.writeUInt8(109, 1);
  head.writeUInt32BE(bytes.length, 2);
  return Buffer.concat([head, bytes]).toString('base64url');
}

/** Decodes a start key; a key that is not one of ours is used as the raw id (crossbar falls back the same way). */
export function decodeStartKey(key: string): string {
  const buf = Buffer.from(key, 'base64url');
  if (buf.length >= 6 && buf[0] === 131 && buf[1] === 109) {
    const len = buf.readUInt32BE(2);
    if (buf.length === 6 + len) return buf.subarray(6).toString('utf8');
  }
  return key;
}

interface ParsedEntityTags {
  readonly any: boolean;
  readonly tags: readonly { weak: boolean; value: string }[];
}

/** Parses If-Match / If-None-Match; undefined when malformed (cowboy answers 400). */
function parseEntityTags(header: string): ParsedEntityTags | undefined {
  if (header.trim() === '*') return { any: true, tags: [] };
  const tags: { weak: boolean; value: string }[] = [];
  for (const part of header.split(',')) {
    const m = /^(W\/)?"([^"]*)"$/.exec(part.trim());
    if (!m) return undefined;
    tags.push({ weak: m[1] !== undefined, value: m[2] ?? '' });
  }
  return { any: false, tags };
}

function headerValue(req: EmulatorRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Top-level envelope keys are normalised: lower case, `-` → `_` (§6.1). */
function normalizeEnvelope(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) out[k.toLowerCase().replaceAll('-', '_')] = v;
  return out;
}

type ParsedBody =
  | { readonly ok: true; readonly envelope: JsonObject; readonly data: JsonValue }
  | { readonly ok: false; readonly errors: JsonObject };

/** `api_util:stop_on_invalid_envelope` and the envelope schema (§3.3 "Other 400s"). */
function parseBody(text: string): ParsedBody {
  if (text.trim() === '') return { ok: true, envelope: {}, data: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const pos = /position (\d+)/.exec(msg)?.[1] ?? String(text.length);
    const reason = /end of JSON/i.test(msg) ? 'truncated_json' : 'invalid_json';
    return {
      ok: false,
      errors: { json: { invalid: { message: `${reason} around ${pos}`, target: 'body' } } },
    };
  }
  if (!isObject(parsed) || !Object.hasOwn(parsed, 'data')) {
    return {
      ok: false,
      errors: { data: { required: { message: 'Field is required but missing', value: 'data' } } },
    };
  }
  const envelope = normalizeEnvelope(parsed);
  const data = envelope['data'] as JsonValue;
  if (!isObject(data) && !Array.isArray(data)) {
    return {
      ok: false,
      errors: {
        data: {
          type: {
            message: 'Value did not match type(s): object, array',
            target: ['object', 'array'],
            value: data,
          },
        },
      },
    };
  }
  return { ok: true, envelope, data };
}

/**
 * Verb tunnelling, for every method (reference/kazoo-api.md §6.2, §14):
 * `api_util:get_http_verb` takes `cb_context:req_value(Context, "verb")`, which
 * looks in the request `data` first, then the query string, then the envelope
 * (api_util.erl@dcf86cbc:659-665, cb_context.erl@dcf86cbc:165-172; 4.3
 * @223893d0:580-586, 157-164), upper-cased; the request is then handled as that
 * verb (api_resource.erl@dcf86cbc:391-395). So a PATCH whose data holds
 * `"verb": "GET"` is a read: 200, nothing written. Non-string values are
 * ignored here (Kazoo would upper-case a number too; INFER, no client sends one).
 */
function tunnelledVerb(req: EmulatorRequest, envelope: JsonObject, data: JsonValue): string {
  const fromData = isObject(data) ? data['verb'] : undefined;
  const found = fromData ?? req.query.get('verb') ?? envelope['verb'];
  return typeof found === 'string' ? found.toUpperCase() : req.method;
}

/** Doc as crossbar returns it: public fields, `_read_only` passed through, plus `id` (§6.4). */
function publicView(doc: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(doc)) if (!isPrivateKey(k) || k === '_read_only') out[k] = v;
  out['id'] = String(doc['_id']);
  return out;
}

function alphanumName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export async function startKazooEmulator(
  options: KazooEmulatorOptions = {},
): Promise<KazooEmulator> {
  const host = options.host ?? '127.0.0.1';
  assertLoopback(host);
  const version: KazooVersion = options.version ?? '4.3';
  const schemaVersion: KazooSchemaVersion = options.schema ?? (version === '5' ? '5' : '4.3');
  const schema = kazooConnectivitySchema(schemaVersion);
  const ttlS = options.tokenTtlS ?? DEFAULT_TOKEN_TTL_S;
  const defaultPageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const now = options.now ?? Date.now;
  const faults = new FaultInjector(options.faults ?? {});
  // Filled in once the server listens; `save` reads its `onWrite` hook at call time.
  const emulator = { onWrite: undefined } as {
    onWrite: KazooEmulator['onWrite'];
  } & Partial<KazooEmulator>;
  const store = new KazooStore();
  const buckets = new Map<string, { level: number; at: number }>();
  let requests = 0;

  // Seed numbers are normalised by the number manager.
  const loadSeed = (seed: KazooSeed): void => store.load(seed, now());

  const seededAccounts = [...(options.accounts ?? []), ...(options.seed?.accounts ?? [])];
  if (seededAccounts.length === 0) {
    store.createAccount({
      id: DEMO_KAZOO.accountId,
      name: DEMO_KAZOO.accountName,
      realm: DEMO_KAZOO.realm,
      api_key: DEMO_KAZOO.apiKey,
      username: DEMO_KAZOO.username,
      password: DEMO_KAZOO.password,
    });
  }
  for (const account of options.accounts ?? []) store.createAccount(account);
  if (options.seed) loadSeed(options.seed);

  /** Master's `tokens`: refill, take `cost`, report (never below zero). */
  const consumeTokens = (ctx: RequestContext, key: string, cost: number): void => {
    if (version !== '5') return;
    const t = now();
    const b = buckets.get(key) ?? { level: BUCKET_SIZE, at: t };
    b.level = Math.min(BUCKET_SIZE, b.level + ((t - b.at) / 1000) * BUCKET_REFILL_PER_S);
    b.at = t;
    b.level = Math.max(0, b.level - cost);
    buckets.set(key, b);
    ctx.tokens = { consumed: cost, remaining: Math.floor(b.level) };
  };

  const fail = (
    ctx: RequestContext,
    status: number,
    message: string,
    data: JsonValue,
    headers = {},
  ) => failure(ctx, now(), status, message, data, headers);
  const ok = (
    ctx: RequestContext,
    status: number,
    data: JsonValue,
    extra: JsonObject = {},
    headers = {},
  ) => success(ctx, now(), status, data, extra, headers);
  const validationError = (ctx: RequestContext, errors: JsonObject) =>
    fail(ctx, 400, 'validation error', errors);
  const badIdentifier = (ctx: RequestContext, id: string) =>
    fail(ctx, 404, 'bad_identifier', { cause: id, message: 'bad identifier' });

  const isWithin = (accountId: string, ancestorId: string): boolean =>
    store.isWithin(accountId, ancestorId);
  const numberDeps: NumberRouteDeps = {
    numbers: store.numbers,
    isWithin,
    docs: (accountId) => store.db(accountId).values(),
    now,
    defaultPageSize,
    ok: (ctx, status, data, extra = {}) => ok(ctx, status, data, extra),
    fail: (ctx, status, message, data) => fail(ctx, status, message, data),
    encodeStartKey,
    decodeStartKey,
  };

  /** 403 for DIDs owned outside the authenticating account's reach (§3.4); unknown numbers pass. */
  const ownershipError = (ctx: RequestContext, doc: JsonObject, authAccountId: string) => {
    const refused = new Set<string>();
    for (const key of didKeys(doc)) {
      const num = normalizeNumber(key);
      // knm_number:validate_ownership/2 fetches with auth_by = the token's account
      // (cb_modules_util.erl@223893d0:199-211): the same rule as every number read.
      const pn = store.numbers.get(num);
      if (pn && !canFetch(pn, authAccountId, isWithin)) refused.add(num);
    }
    if (refused.size === 0) return undefined;
    return fail(ctx, 403, 'forbidden', {
      message: `unauthorized to use ${[...refused].join(', ')}`,
    });
  };

  /**
   * cowboy_rest's conditional checks, run after crossbar's validate step (§4).
   * `rev` undefined = the resource does not exist (PUT create).
   */
  const conditional = (
    ctx: RequestContext,
    req: EmulatorRequest,
    method: string,
    rev: string | undefined,
  ) => {
    const ifMatch = headerValue(req, 'if-match');
    if (ifMatch !== undefined) {
      const parsed = parseEntityTags(ifMatch);
      if (!parsed) return bare(ctx, 400);
      if (rev === undefined) return bare(ctx, 412);
      // Strong comparison: a weak tag never matches.
      if (!parsed.any && !parsed.tags.some((t) => !t.weak && t.value === rev))
        return bare(ctx, 412);
    }
    const ifNoneMatch = headerValue(req, 'if-none-match');
    if (ifNoneMatch !== undefined && rev !== undefined) {
      const parsed = parseEntityTags(ifNoneMatch);
      if (!parsed) return bare(ctx, 400);
      if (parsed.any || parsed.tags.some((t) => t.value === rev)) {
        return method === 'GET' ? bare(ctx, 304, { etag: `"${rev}"` }) : bare(ctx, 412);
      }
    }
    return undefined;
  };

  /** `crossbar_doc:save` + `update_pvt_parameters` (§1.2): bumps `_rev`, sets pvt fields. */
  const save = (
    accountId: string,
    doc: JsonObject,
    ctx: RequestContext,
    token: TokenRecord,
  ): JsonObject => {
    const t = now();
    const stored: JsonObject = { ...doc };
    const creating = typeof stored['_rev'] !== 'string';
    stored['_rev'] = nextRevision(stored['_rev']);
    if (!Object.hasOwn(stored, 'pvt_vsn')) stored['pvt_vsn'] = '1';
    stored['pvt_account_id'] = accountId;
    stored['pvt_account_db'] = accountDb(accountId);
    if (creating) stored['pvt_created'] = gregorianSeconds(t);
    stored['pvt_modified'] = gregorianSeconds(t);
    stored['pvt_request_id'] = ctx.requestId;
    stored['pvt_is_authenticated'] = true;
    stored['pvt_auth_account_id'] = token.accountId;
    if (token.ownerId !== undefined) stored['pvt_auth_user_id'] = token.ownerId;
    if (typeof stored['name'] === 'string')
      stored['pvt_alphanum_name'] = alphanumName(stored['name']);
    store.db(accountId).set(String(stored['_id']), stored);
    emulator.onWrite?.(accountId);
    return stored;
  };

  /** `kzd_connectivity:set_account_auth_realm` (§1.4): the account realm always wins. */
  const forceRealm = (doc: JsonObject, account: SeedAccount): JsonObject => {
    const current = doc['account'];
    return {
      ...doc,
      account: { ...(isObject(current) ? current : {}), auth_realm: account.realm },
    };
  };

  /** A doc crossbar would load with `expected_type = sys_info` (missing type passes, §1.5). */
  const loadTyped = (accountId: string, id: string): JsonObject | undefined => {
    const doc = store.db(accountId).get(id);
    if (!doc || doc['pvt_deleted'] === true) return undefined;
    if (Object.hasOwn(doc, 'pvt_type') && doc['pvt_type'] !== 'sys_info') return undefined;
    return doc;
  };

  const extractToken = (req: EmulatorRequest, envelope: JsonObject): string | undefined => {
    const header = headerValue(req, 'x-auth-token');
    if (header) return header;
    const fromQuery = req.query.get('auth_token');
    if (fromQuery) return fromQuery;
    const fromEnvelope = envelope['auth_token'];
    if (typeof fromEnvelope === 'string' && fromEnvelope !== '') return fromEnvelope;
    const authz = headerValue(req, 'authorization');
    const bearer = authz ? /^Bearer\s+(\S+)$/i.exec(authz) : null;
    return bearer?.[1];
  };

  const handleApiAuth = (ctx: RequestContext, data: JsonValue): EmulatorResponse => {
    consumeTokens(ctx, 'anonymous', API_AUTH_COST);
    const prepared = prepareAuthBody(API_AUTH_SCHEMA, data);
    if (!prepared.ok) return validationError(ctx, prepared.errors);
    const key = String(prepared.doc['api_key']);
    const account = store.findByApiKey(key);
    // An unknown key is 404 with the key as data, not 401 (§5.3, §8 #15).
    if (!account) return fail(ctx, 404, 'bad identifier', [key]);
    const token = store.issueToken(account.id, 'cb_api_auth', ttlS, now());
    ctx.authToken = token.token;
    return ok(ctx, 201, authData(account), version === '5' ? { revision: 'automatic' } : {});
  };

  const handleUserAuth = (ctx: RequestContext, data: JsonValue): EmulatorResponse => {
    consumeTokens(ctx, 'anonymous', 1);
    const prepared = prepareAuthBody(USER_AUTH_SCHEMA, data);
    if (!prepared.ok) return validationError(ctx, prepared.errors);
    const body = prepared.doc;
    const credentials = String(body['credentials']).toLowerCase();
    const method = body['method'] === 'sha' ? 'sha' : 'md5';
    let candidates = [...store.accounts.values()];
    const name = body['account_name'];
    const realm = body['account_realm'];
    const phone = body['phone_number'];
    if (typeof name === 'string')
      candidates = candidates.filter((a) => a.name.toLowerCase() === name.toLowerCase());
    else if (typeof realm === 'string') {
      candidates = candidates.filter((a) => a.realm.toLowerCase() === realm.toLowerCase());
    } else if (typeof phone === 'string') {
      const owner = store.numbers.ownerOf(phone);
      candidates = candidates.filter((a) => a.id === owner);
    }
    const account = candidates.find(
      (a) =>
        a.username !== undefined &&
        a.password !== undefined &&
        userCredentials(a.username, a.password, method) === credentials,
    );
    if (!account) return fail(ctx, 401, 'invalid_credentials', { message: 'invalid credentials' });
    const ownerId = ownerIdFor(account);
    const token = store.issueToken(account.id, 'cb_user_auth', ttlS, now(), ownerId);
    ctx.authToken = token.token;
    return ok(ctx, 201, { ...authData(account), owner_id: ownerId });
  };

  /** `crossbar_util:populate_resp/3` (§5.2), reduced to what an emulated account knows. */
  const authData = (account: SeedAccount): JsonObject => {
    let reseller = account;
    while (reseller.parent_id !== undefined) {
      const parent = store.accounts.get(reseller.parent_id);
      if (!parent) break;
      reseller = parent;
    }
    return {
      account_id: account.id,
      account_name: account.name,
      apps: [],
      language: 'en-US',
      is_reseller: false,
      reseller_id: reseller.id,
      is_master_account: account.parent_id === undefined,
    };
  };

  const listConnectivity = (
    ctx: RequestContext,
    req: EmulatorRequest,
    accountId: string,
  ): EmulatorResponse => {
    const ids = store.listIds(accountId);
    if (req.query.get('paginate') === 'false') return ok(ctx, 200, ids);
    const requested = Number.parseInt(req.query.get('page_size') ?? '', 10);
    const pageSize = Number.isInteger(requested) && requested > 0 ? requested : defaultPageSize;
    const startKey = req.query.get('start_key');
    const startId = startKey !== null && startKey !== '' ? decodeStartKey(startKey) : undefined;
    const from = startId === undefined ? ids : ids.filter((id) => id >= startId);
    const page = from.slice(0, pageSize);
    const extra: JsonObject = { page_size: page.length };
    if (startKey !== null && startKey !== '') extra['start_key'] = startKey;
    const next = from[pageSize];
    if (next !== undefined) extra['next_start_key'] = encodeStartKey(next);
    // No `revision` on listings (§1.3).
    return ok(ctx, 200, page, extra);
  };

  const createConnectivity = (
    ctx: RequestContext,
    req: EmulatorRequest,
    account: SeedAccount,
    token: TokenRecord,
    data: JsonValue,
  ): EmulatorResponse => {
    const prepared = prepareWrite(schema, data);
    if (!prepared.ok) return validationError(ctx, prepared.errors);
    const denied = ownershipError(ctx, prepared.doc, token.accountId);
    if (denied) return denied;
    const cond = conditional(ctx, req, 'PUT', undefined);
    if (cond) return cond;
    const requestedId =
      isObject(data) && typeof data['id'] === 'string' && data['id'] !== ''
        ? data['id']
        : undefined;
    const id = requestedId ?? newId();
    // A client-chosen data.id becomes the doc's _id (kazoo cb_context.erl@dcf86cbc:1017-1025
    // `passed/1`), checked only at save, after validation and ownership; a taken id is
    // CouchDB's conflict → 409 datastore_conflict (crossbar_doc.erl@dcf86cbc:760-762).
    // The _id stays taken after a soft delete (crossbar_doc.erl@dcf86cbc:569-575, §1.8),
    // and whatever the doc type.
    if (store.db(account.id).has(id))
      return fail(ctx, 409, 'datastore_conflict', { message: 'conflicting documents' });
    const doc: JsonObject = { ...forceRealm(prepared.doc, account), _id: id, pvt_type: 'sys_info' };
    const stored = save(account.id, doc, ctx, token);
    const location = `/v2/accounts/${account.id}/connectivity/${encodeURIComponent(id)}`;
    return ok(ctx, 201, publicView(stored), { revision: String(stored['_rev']) }, { location });
  };

  const readConnectivity = (
    ctx: RequestContext,
    req: EmulatorRequest,
    account: SeedAccount,
    id: string,
  ) => {
    const doc = loadTyped(account.id, id);
    if (!doc) return badIdentifier(ctx, id);
    const rev = String(doc['_rev']);
    const cond = conditional(ctx, req, 'GET', rev);
    if (cond) return cond;
    // cowboy sets ETag on GET/HEAD only (§4).
    return ok(ctx, 200, publicView(doc), { revision: rev }, { etag: `"${rev}"` });
  };

  const replaceConnectivity = (
    ctx: RequestContext,
    req: EmulatorRequest,
    account: SeedAccount,
    token: TokenRecord,
    id: string,
    data: JsonValue,
  ): EmulatorResponse => {
    // Validation before existence (§1.6).
    const prepared = prepareWrite(schema, data);
    if (!prepared.ok) return validationError(ctx, prepared.errors);
    const existing = loadTyped(account.id, id);
    // Ownership runs even after a failed load, so 403 can replace 404 (§9).
    const denied = ownershipError(ctx, prepared.doc, token.accountId);
    if (!existing) return denied ?? badIdentifier(ctx, id);
    return denied ?? saveUpdate(ctx, req, 'POST', account, token, existing, prepared.doc);
  };

  const patchConnectivity = (
    ctx: RequestContext,
    req: EmulatorRequest,
    account: SeedAccount,
    token: TokenRecord,
    id: string,
    data: JsonValue,
  ): EmulatorResponse => {
    // Loaded with any type; a missing doc still runs update/2 on the raw body (§1.7).
    const raw = store.db(account.id).get(id);
    const existing = raw && raw['pvt_deleted'] !== true ? raw : undefined;
    if (!existing) {
      const prepared = prepareWrite(schema, data);
      if (!prepared.ok) return validationError(ctx, prepared.errors);
      return ownershipError(ctx, prepared.doc, token.accountId) ?? badIdentifier(ctx, id);
    }
    const request = isObject(data) ? publicFields(data) : {};
    const merged = mergePatch(request, existing);
    const prepared = prepareWrite(schema, publicFields(merged));
    if (!prepared.ok) return validationError(ctx, prepared.errors);
    if (Object.hasOwn(existing, 'pvt_type') && existing['pvt_type'] !== 'sys_info')
      return badIdentifier(ctx, id);
    const denied = ownershipError(ctx, prepared.doc, token.accountId);
    return denied ?? saveUpdate(ctx, req, 'PATCH', account, token, existing, prepared.doc);
  };

  /** The end of POST and PATCH: If-Match (§4), then save with the realm forced and private fields kept (§1.6). */
  const saveUpdate = (
    ctx: RequestContext,
    req: EmulatorRequest,
    method: 'POST' | 'PATCH',
    account: SeedAccount,
    token: TokenRecord,
    existing: JsonObject,
    prepared: JsonObject,
  ): EmulatorResponse => {
    const cond = conditional(ctx, req, method, String(existing['_rev']));
    if (cond) return cond;
    const doc = { ...forceRealm(prepared, account), ...privateFields(existing) };
    const stored = save(account.id, doc, ctx, token);
    // track_assignment('post') after the save, for POST and PATCH alike (§12, numbers.ts).
    store.numbers.trackPost(account.id, existing, stored, isWithin, now());
    return ok(ctx, 200, publicView(stored), { revision: String(stored['_rev']) });
  };

  const deleteConnectivity = (
    ctx: RequestContext,
    req: EmulatorRequest,
    account: SeedAccount,
    token: TokenRecord,
    id: string,
    envelope: JsonObject,
    data: JsonValue,
  ): EmulatorResponse => {
    const existing = loadTyped(account.id, id);
    if (!existing) return badIdentifier(ctx, id);
    const rev = String(existing['_rev']);
    const cond = conditional(ctx, req, 'DELETE', rev);
    if (cond) return cond;
    const flag =
      (isObject(data) ? data['should_soft_delete'] : undefined) ??
      req.query.get('should_soft_delete') ??
      envelope['should_soft_delete'];
    const soft = !(flag === false || flag === 'false');
    if (soft) save(account.id, { ...existing, pvt_deleted: true }, ctx, token);
    else store.db(account.id).delete(id);
    // track_assignment('delete'): every DID of the doc loses used_by (§12, numbers.ts).
    store.numbers.trackDelete(account.id, existing, isWithin, now());
    if (!soft) emulator.onWrite?.(account.id);
    // The response shows the doc and rev from before the delete write (§1.8).
    const view = { ...publicView(existing), _read_only: { deleted: true } };
    return ok(ctx, 200, view, { revision: rev });
  };

  const handle = (req: EmulatorRequest): EmulatorResponse => {
    const requestIdHeader = headerValue(req, 'x-request-id');
    const ctx: RequestContext = {
      version,
      requestId:
        requestIdHeader !== undefined && requestIdHeader !== '' ? requestIdHeader : newId(),
      authenticated: false,
    };
    const route = matchRoute(req.path);
    if (!route) return fail(ctx, 404, 'not_found', { message: 'not found' });

    const body = parseBody(req.body);
    if (!body.ok) return validationError(ctx, body.errors);
    const { envelope, data } = body;

    const method = tunnelledVerb(req, envelope, data);
    const allowed = allowedMethods(route);
    if (method === 'OPTIONS') {
      return bare(ctx, 200, { allow: [...allowed, 'OPTIONS'].join(', ') });
    }
    // The tunnelled verb must be allowed (api_resource.erl@dcf86cbc:429-442), and so must
    // the real method, which cowboy checks; a real POST counts as allowed when its verb is
    // (api_util:maybe_add_post_method, api_util.erl@dcf86cbc:779-787).
    const realAllowed = allowed.includes(req.method) || req.method === 'POST';
    if (!allowed.includes(method) || !realAllowed) {
      return fail(
        ctx,
        405,
        'invalid_method',
        { message: 'method not allowed' },
        { allow: allowed.join(', ') },
      );
    }
    if (route.kind === 'api_auth') return handleApiAuth(ctx, data);
    if (route.kind === 'user_auth') return handleUserAuth(ctx, data);

    const accountId = route.accountId;
    // api_resource:malformed_request runs before authentication (§3.4).
    if (accountId.length !== 32) {
      return fail(ctx, 404, 'bad identifier', { message: `invalid account_id '${accountId}'` });
    }

    const supplied = extractToken(req, envelope);
    if (supplied === undefined) {
      consumeTokens(ctx, 'anonymous', 1);
      return fail(ctx, 401, 'invalid_credentials', { message: 'invalid credentials' });
    }
    ctx.authToken = supplied;
    const token = store.tokens.get(supplied);
    const limit = faults.config.tokenExpiresAfter;
    if (token && !token.revoked && limit !== undefined && token.uses >= limit) token.revoked = true;
    if (!token || token.revoked || now() >= token.expiresAt) {
      consumeTokens(ctx, 'anonymous', 1);
      // cb_token_auth → crossbar_util:response_401: note the space and the empty data (§3.4).
      return fail(ctx, 401, 'invalid credentials', {});
    }
    token.uses += 1;
    ctx.authenticated = true;
    consumeTokens(ctx, token.accountId, 1);

    const account = store.accounts.get(accountId);
    if (!account) return badIdentifier(ctx, accountId);
    if (!store.isWithin(account.id, token.accountId))
      return fail(ctx, 403, 'forbidden', { message: 'forbidden' });

    if (route.kind === 'numbers') {
      return handlePhoneNumbers(numberDeps, {
        ctx,
        req,
        method,
        accountId: account.id,
        authAccountId: token.accountId,
        rest: route.rest,
        data,
      });
    }
    if (route.kind === 'collection') {
      return method === 'GET'
        ? listConnectivity(ctx, req, account.id)
        : createConnectivity(ctx, req, account, token, data);
    }
    switch (method) {
      case 'GET':
        return readConnectivity(ctx, req, account, route.docId);
      case 'POST':
        return replaceConnectivity(ctx, req, account, token, route.docId, data);
      case 'PATCH':
        return patchConnectivity(ctx, req, account, token, route.docId, data);
      default:
        return deleteConnectivity(ctx, req, account, token, route.docId, envelope, data);
    }
  };

  /** Injected statuses in crossbar's own error envelope (§3.4); 502 comes from a proxy, so plain HTML. */
  const faultResponse = (
    status: number,
    _retryAfterS: number | null,
    req: EmulatorRequest,
  ): EmulatorResponse => {
    const requestIdHeader = headerValue(req, 'x-request-id');
    const ctx: RequestContext = {
      version,
      requestId:
        requestIdHeader !== undefined && requestIdHeader !== '' ? requestIdHeader : newId(),
      authenticated: false,
    };
    const supplied = extractToken(req, {});
    if (supplied !== undefined) ctx.authToken = supplied;
    switch (status) {
      case 429:
        return fail(ctx, 429, 'too_many_requests', { message: 'too many requests' });
      case 500:
        return fail(ctx, 500, 'unspecified_fault', { message: 'unknown failure' });
      case 502:
        return {
          status: 502,
          headers: { 'content-type': 'text/html' },
          body: '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>',
        };
      case 503:
        return fail(ctx, 503, 'datastore_fault', { message: 'datastore fault' });
      default:
        return fail(ctx, status, 'unspecified_fault', { message: 'unknown failure' });
    }
  };

  const server: Server = createEmulatorServer({
    faults,
    handle,
    faultResponse,
    onRequest: () => {
      requests += 1;
    },
  });
  const port = await listen(server, host, options.port ?? 0);
  const urlHost = host.includes(':') ? `[${host}]` : host;

  const api: Omit<KazooEmulator, 'onWrite'> = {
    url: `http://${urlHost}:${port}/v2`,
    port,
    version,
    schema: schemaVersion,
    faults,
    close: () => closeServer(server),
    dump: () => store.dump(),
    seed: loadSeed,
    requestCount: () => requests,
    createAccount: (account) => store.createAccount(account),
    setNumberOwner: (number, accountId) => {
      if (accountId === undefined) store.numbers.delete(number);
      else {
        if (store.numbers.get(number)) store.numbers.assign(number, accountId);
        else store.numbers.put(number, { assigned_to: accountId }, now());
      }
    },
    addNumber: (number, props = {}) => ({ ...store.numbers.put(number, props, now()) }),
    number: (number) => {
      const pn = store.numbers.get(number);
      return pn ? { ...pn, features: [...pn.features], doc: { ...pn.doc } } : undefined;
    },
    expireTokens: () => store.expireTokens(),
    issueToken: (accountId) => {
      const account = store.accounts.get(accountId);
      if (!account)
        throw new Error(`Cannot issue a token for unknown emulated account ${accountId}`);
      return store.issueToken(account.id, 'cb_api_auth', ttlS, now()).token;
    },
  };
  return Object.assign(emulator, api);
}

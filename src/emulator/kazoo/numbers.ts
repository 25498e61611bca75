/**
 * The Kazoo emulator's number manager (`kazoo_number_manager` behind
 * `cb_phone_numbers`), reference/kazoo-api.md §12: who owns a number
 * (`assigned_to`), its `state`, and which application uses it (`used_by`), on
 * Kazoo's own routes. Vendor citations are `2600hz/kazoo` at 4.3 `223893d0ba`
 * (`file@223893d0:line`); paths are under `applications/crossbar/src/` or
 * `core/kazoo_number_manager/src/` unless given in full.
 *
 * What is modelled and what is not:
 * - every emulated account may add numbers (`kzd_accounts:allow_number_additions`
 *   true) and none is the super-duper admin, so the API creates numbers only in
 *   `in_service`, `reserved` or `port_in` (`knm_number.erl@223893d0:139-181`);
 *   seeds and the in-process API may set any state;
 * - numbers are local (`knm_local`): releasing one deletes it
 *   (`knm_numbers.erl@223893d0:936-958`); reserve history, port requests,
 *   carriers, locality, services/billing and the `?filter_*` query are not modelled;
 * - the account database copy of a number doc is not modelled separately: an
 *   account's listing is the numbers assigned to it.
 */
import { isObject, type JsonObject, type JsonValue } from '../../core/json.ts';
import type { EmulatorRequest, EmulatorResponse } from '../http-util.ts';
import type { RequestContext } from './envelope.ts';
import { didKeys, normalizeNumber, publicFields } from './validate.ts';

/** `create_with_state`'s enum (`applications/crossbar/priv/couchdb/schemas/phone_numbers.json@223893d0`). */
export const NUMBER_STATES = [
  'aging',
  'available',
  'deleted',
  'discovery',
  'in_service',
  'port_in',
  'port_out',
  'released',
  'reserved',
] as const;
export type NumberState = (typeof NUMBER_STATES)[number];

/** States `identify` (and so call routing) accepts: `knm_number:check_number/1` (`knm_number.erl@223893d0:424-437`). */
export const ROUTABLE_STATES: ReadonlySet<NumberState> = new Set([
  'port_in',
  'in_service',
  'port_out',
  'reserved',
]);

/** States a non-admin may create a number in (`knm_number.erl@223893d0:139-181`; port_in bypasses the check). */
const CREATABLE_STATES: ReadonlySet<NumberState> = new Set(['in_service', 'reserved', 'port_in']);

/** States an existing number may be (re)created from (`ensure_can_load_to_create`, `knm_number.erl@223893d0:195-199`). */
const RECREATABLE_STATES: ReadonlySet<NumberState> = new Set(['aging', 'available', 'port_in']);

/** `knm_converters` default `reconcile_regex` (`converters/knm_converters.erl@223893d0:29`), on the normalised number. */
const RECONCILE_REGEX = /^(\+?1)?\d{10}$|^\+[2-9]\d{7,}$|^011\d*$|^00\d*$/;

/** One number as the number manager stores it (the `pvt_*` fields of its doc). */
export interface PhoneNumber {
  /** Normalised E.164 (`+1…`). */
  readonly number: string;
  assigned_to?: string;
  state: NumberState;
  used_by?: string;
  features: string[];
  /** Gregorian seconds, as Kazoo stores `pvt_created` / `pvt_modified`. */
  created: number;
  updated: number;
  /** Public fields sent with PUT (`public_fields` option), returned on reads. */
  doc: JsonObject;
}

/** A number in a seed: an account id (assigned, `in_service`), or its properties. */
export type SeedNumber =
  | string
  | {
      assigned_to?: string;
      state?: NumberState;
      used_by?: string;
      features?: string[];
    };

export function isNumberState(value: unknown): value is NumberState {
  return typeof value === 'string' && (NUMBER_STATES as readonly string[]).includes(value);
}

/** `knm_converters:is_reconcilable/1` with the default regex. */
export function isReconcilable(raw: string): boolean {
  return RECONCILE_REGEX.test(normalizeNumber(raw));
}

/** Gregorian seconds, which Kazoo stores in pvt_created/pvt_modified. */
function gregorian(nowMs: number): number {
  return Math.floor(nowMs / 1000) + 62_167_219_200;
}

/** Where a number may be used: true when `accountId` is `ancestorId` or below it. */
export type IsWithin = (accountId: string, ancestorId: string) => boolean;

/**
 * `knm_phone_number:handle_fetch/2` (`knm_phone_number.erl@223893d0:498-507`):
 * a number can be read and changed "by" an account when it is available, when
 * it is assigned to that account or one below it (`is_authorized`, :1667-1690),
 * or when it is reserved by an account above it (`is_reserved_from_parent`).
 * No emulated account is the super-duper admin, so an unassigned number that
 * is not available is nobody's.
 */
export function canFetch(pn: PhoneNumber, authBy: string, isWithin: IsWithin): boolean {
  if (pn.state === 'available') return true;
  if (pn.assigned_to === undefined) return false;
  if (isWithin(pn.assigned_to, authBy)) return true;
  return pn.state === 'reserved' && isWithin(authBy, pn.assigned_to);
}

export class NumberManager {
  /** Normalised number → record. Change `assigned_to` only through `put`/`assign`, which keep the index. */
  readonly records = new Map<string, PhoneNumber>();
  /**
   * Account → its numbers, sorted on demand: a plan reads every declared account's
   * listing, so a page must not scan every number of the system (775,000 in the bench).
   */
  readonly #byAccount = new Map<string, { set: Set<string>; sorted?: PhoneNumber[] }>();

  #index(pn: PhoneNumber, add: boolean): void {
    if (pn.assigned_to === undefined) return;
    let entry = this.#byAccount.get(pn.assigned_to);
    if (!entry) {
      if (!add) return;
      entry = { set: new Set() };
      this.#byAccount.set(pn.assigned_to, entry);
    }
    if (add) entry.set.add(pn.number);
    else entry.set.delete(pn.number);
    delete entry.sorted;
  }

  get(num: string): PhoneNumber | undefined {
    return this.records.get(normalizeNumber(num));
  }

  /** The owning account (`assigned_to`) of a number, if it has one. */
  ownerOf(num: string): string | undefined {
    return this.get(num)?.assigned_to;
  }

  /** Adds or replaces a number; `number` is normalised. */
  put(num: string, props: Omit<Partial<PhoneNumber>, 'number'>, nowMs: number): PhoneNumber {
    const number = normalizeNumber(num);
    const t = gregorian(nowMs);
    const pn: PhoneNumber = {
      number,
      state: props.state ?? 'in_service',
      features: [...(props.features ?? [])],
      created: props.created ?? t,
      updated: props.updated ?? t,
      doc: { ...props.doc },
      ...(props.assigned_to !== undefined ? { assigned_to: props.assigned_to } : {}),
      ...(props.used_by !== undefined ? { used_by: props.used_by } : {}),
    };
    const old = this.records.get(number);
    if (old) this.#index(old, false);
    this.records.set(number, pn);
    this.#index(pn, true);
    return pn;
  }

  delete(num: string): boolean {
    const pn = this.records.get(normalizeNumber(num));
    if (!pn) return false;
    this.#index(pn, false);
    return this.records.delete(pn.number);
  }

  /** Changes a number's owner (undefined: unassigned), keeping the account index. */
  assign(num: string, accountId: string | undefined): void {
    const pn = this.get(num);
    if (!pn) return;
    this.#index(pn, false);
    if (accountId === undefined) delete pn.assigned_to;
    else pn.assigned_to = accountId;
    this.#index(pn, true);
  }

  /** Loads seed numbers (shorthand: number → account id, assigned and `in_service`). */
  load(seed: Readonly<Record<string, SeedNumber>>, nowMs: number): void {
    for (const [num, value] of Object.entries(seed)) {
      if (typeof value === 'string') this.put(num, { assigned_to: value }, nowMs);
      else this.put(num, value, nowMs);
    }
  }

  /** Every number with its properties (for `dump()`). */
  dump(): Record<string, Exclude<SeedNumber, string> & { created: number; updated: number }> {
    const out: Record<string, Exclude<SeedNumber, string> & { created: number; updated: number }> =
      {};
    for (const pn of [...this.records.values()].sort((a, b) => cmp(a.number, b.number))) {
      out[pn.number] = {
        state: pn.state,
        features: [...pn.features],
        created: pn.created,
        updated: pn.updated,
        ...(pn.assigned_to !== undefined ? { assigned_to: pn.assigned_to } : {}),
        ...(pn.used_by !== undefined ? { used_by: pn.used_by } : {}),
      };
    }
    return out;
  }

  /** The numbers of an account's listing, ascending by number (the view's key order). */
  listFor(accountId: string): readonly PhoneNumber[] {
    const entry = this.#byAccount.get(accountId);
    if (!entry) return [];
    entry.sorted ??= [...entry.set]
      .map((n) => this.records.get(n))
      .filter((pn): pn is PhoneNumber => pn !== undefined)
      .sort((a, b) => cmp(a.number, b.number));
    return entry.sorted;
  }

  /**
   * `cb_modules_util:apply_assignment_updates/2` (`modules/cb_modules_util.erl@223893d0:225-270`):
   * `knm_numbers:assign_to_app(Nums, App, [{auth_by, AccountId}])` per target
   * value, where AccountId is the account in the URL. Numbers that are not in
   * the number manager, or that the account may not fetch (`canFetch`), are
   * left alone (their KOs are only logged). The groups run in Erlang map key
   * order, `undefined` (an atom) before `<<"trunkstore">>` (a binary), so when
   * one number is both released and claimed in one write it ends marked.
   */
  applyAssignments(
    updates: readonly (readonly [string, string | undefined])[],
    accountId: string,
    isWithin: IsWithin,
    nowMs: number,
  ): void {
    const clears = updates.filter(([, app]) => app === undefined);
    const marks = updates.filter(([, app]) => app !== undefined);
    for (const [raw, app] of [...clears, ...marks]) {
      const pn = this.get(raw);
      if (!pn || !canFetch(pn, accountId, isWithin)) continue;
      // knm_phone_number:set_used_by/2 (:1039-1045): an unchanged value is not saved.
      if (pn.used_by === app) continue;
      if (app === undefined) delete pn.used_by;
      else pn.used_by = app;
      pn.updated = gregorian(nowMs);
    }
  }

  /**
   * `track_assignment('post', Context)` after a successful POST or PATCH
   * (`modules/cb_connectivity.erl@223893d0:102-115,157-170`): DID keys of the
   * new doc that the stored doc lacks get `used_by: trunkstore`; DID keys of
   * the stored doc that the new one lacks get it cleared. Keys are compared
   * as written (`lists:member` on the raw keys), normalised only when the
   * number is fetched.
   */
  trackPost(
    accountId: string,
    stored: JsonObject,
    saved: JsonObject,
    isWithin: IsWithin,
    nowMs: number,
  ): void {
    const oldNums = didKeys(stored);
    const newNums = didKeys(saved);
    // Sets, not lists:member: a trunk may hold thousands of DIDs.
    const oldSet = new Set(oldNums);
    const newSet = new Set(newNums);
    const assigned = newNums.filter((n) => !oldSet.has(n)).map((n) => [n, 'trunkstore'] as const);
    const unassigned = oldNums.filter((n) => !newSet.has(n)).map((n) => [n, undefined] as const);
    this.applyAssignments([...assigned, ...unassigned], accountId, isWithin, nowMs);
  }

  /**
   * `track_assignment('delete', Context)` after a successful DELETE
   * (`modules/cb_connectivity.erl@223893d0:127-137,171-175`): every DID of the
   * deleted doc gets `used_by` cleared, whoever else still uses it.
   */
  trackDelete(accountId: string, deleted: JsonObject, isWithin: IsWithin, nowMs: number): void {
    this.applyAssignments(
      didKeys(deleted).map((n) => [n, undefined] as const),
      accountId,
      isWithin,
      nowMs,
    );
  }

  /**
   * `POST /phone_numbers/fix` → `kazoo_number_manager_maintenance:fix_account_db_numbers/1`
   * (`kazoo_number_manager_maintenance.erl@223893d0:1462-1469`): recomputes
   * `used_by` of every number assigned to the account from what its documents
   * reference (`get_account_dids_apps`, :1375-1435): DIDs of live `sys_info`
   * docs' servers whose `enabled` is not false (`trunkstore/lookup_did`,
   * `core/kazoo_apps/priv/couchdb/account/trunkstore.json@223893d0:17`) →
   * `trunkstore`; `numbers` of live `callflow` docs
   * (`callflows/listing_by_number`) → `callflow`; a number in both is left as
   * it is (`calltrunkflow`, :1438); a number in neither is cleared (:1442).
   */
  fixAccount(accountId: string, docs: Iterable<JsonObject>, nowMs: number): void {
    const trunkstore = new Set<string>();
    const callflow = new Set<string>();
    for (const doc of docs) {
      if (doc['pvt_deleted'] === true) continue;
      if (doc['pvt_type'] === 'sys_info') {
        const servers = doc['servers'];
        if (!Array.isArray(servers)) continue;
        for (const server of servers) {
          if (!isObject(server) || server['enabled'] === false) continue;
          const dids = server['DIDs'];
          if (isObject(dids)) for (const did of Object.keys(dids)) trunkstore.add(did);
        }
      } else if (doc['pvt_type'] === 'callflow' && Array.isArray(doc['numbers'])) {
        for (const n of doc['numbers']) if (typeof n === 'string') callflow.add(n);
      }
    }
    for (const pn of this.listFor(accountId)) {
      const inTs = trunkstore.has(pn.number);
      const inCf = callflow.has(pn.number);
      if (inTs && inCf) continue;
      const app = inTs ? 'trunkstore' : inCf ? 'callflow' : undefined;
      if (pn.used_by === app) continue;
      if (app === undefined) delete pn.used_by;
      else pn.used_by = app;
      pn.updated = gregorian(nowMs);
    }
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A listing row: the `phone_numbers/crossbar_listing` view value, public fields only (`core/kazoo_apps/priv/couchdb/account/phone_numbers.json@223893d0`). */
export function listingRow(pn: PhoneNumber): JsonObject {
  const row: JsonObject = {
    state: pn.state,
    features: [...pn.features],
    features_allowed: [],
    features_denied: [],
    assigned_to: pn.assigned_to ?? null,
    created: pn.created,
    updated: pn.updated,
    // normalize_view_results (cb_phone_numbers_v2.erl@223893d0:569-576) adds what the
    // providers allow; the emulator has no provider configuration.
    features_available: [],
  };
  if (pn.assigned_to === undefined) delete row['assigned_to'];
  // An undefined view value is left out of the JSON: no used_by key when no app uses it (§12).
  if (pn.used_by !== undefined) row['used_by'] = pn.used_by;
  return row;
}

/** `knm_phone_number:to_public_json/1` (`knm_phone_number.erl@223893d0:608-640`). */
export function publicNumber(pn: PhoneNumber): JsonObject {
  const readOnly: JsonObject = {
    created: pn.created,
    modified: pn.updated,
    state: pn.state,
    features: { available: [], settings: {} },
    carrier_module: 'local',
  };
  if (pn.used_by !== undefined) readOnly['used_by'] = pn.used_by;
  const out: JsonObject = { ...pn.doc, id: pn.number, state: pn.state };
  if (pn.used_by !== undefined) out['used_by'] = pn.used_by;
  if (pn.features.length > 0) out['features'] = [...pn.features];
  out['_read_only'] = readOnly;
  return out;
}

/** Methods per route (`allowed_methods/0,1,2`, `modules_v2/cb_phone_numbers_v2.erl@223893d0:142-178`); undefined = not modelled. */
export function phoneNumberMethods(rest: readonly string[]): readonly string[] | undefined {
  const [a, b, ...more] = rest;
  if (more.length > 0) return undefined;
  if (a === undefined) return ['GET'];
  if (b === undefined) {
    if (a === 'fix') return ['POST'];
    if (NOT_MODELLED.has(a)) return undefined;
    return ['PUT', 'POST', 'PATCH', 'DELETE', 'GET'];
  }
  if (a === 'fix') return ['POST'];
  if (b === 'identify') return ['GET'];
  return undefined;
}

const NOT_MODELLED = new Set([
  'carriers_info',
  'classifiers',
  'collection',
  'prefix',
  'locality',
  'check',
]);

/** What the route handler needs from the server. */
export interface NumberRouteDeps {
  readonly numbers: NumberManager;
  readonly isWithin: IsWithin;
  /** The raw docs of an account's database. */
  docs(accountId: string): Iterable<JsonObject>;
  now(): number;
  readonly defaultPageSize: number;
  ok(ctx: RequestContext, status: number, data: JsonValue, extra?: JsonObject): EmulatorResponse;
  fail(ctx: RequestContext, status: number, message: string, data: JsonValue): EmulatorResponse;
  encodeStartKey(key: string): string;
  decodeStartKey(key: string): string;
}

export interface NumberRequest {
  readonly ctx: RequestContext;
  readonly req: EmulatorRequest;
  readonly method: string;
  /** The account in the URL. */
  readonly accountId: string;
  /** The account the token belongs to. */
  readonly authAccountId: string;
  /** Path segments after `phone_numbers`, URL-decoded. */
  readonly rest: readonly string[];
  readonly data: JsonValue;
}

/** `reply_number_not_found/1` (`cb_phone_numbers_v2.erl@223893d0:960-965`). */
function notFound(deps: NumberRouteDeps, ctx: RequestContext): EmulatorResponse {
  return deps.fail(ctx, 404, 'bad_identifier', {
    message: 'bad identifier',
    not_found: 'The number could not be found',
  });
}

/** A knm error JSON (`knm_errors:to_json/3`, `knm_errors.erl@223893d0:128-190`) through `set_response`. */
function knmError(
  deps: NumberRouteDeps,
  ctx: RequestContext,
  code: number,
  error: string,
  cause: string,
  message: string,
): EmulatorResponse {
  return deps.fail(ctx, code, error, { code, error, cause, message });
}

/** Handles `/v2/accounts/{A}/phone_numbers[/…]` once auth and the account are checked. */
export function handlePhoneNumbers(deps: NumberRouteDeps, r: NumberRequest): EmulatorResponse {
  const [a, b] = r.rest;
  if (a === undefined) return listNumbers(deps, r);
  if (a === 'fix') {
    if (b === undefined) {
      deps.numbers.fixAccount(r.accountId, deps.docs(r.accountId), deps.now());
      // post(Context, ?FIX) answers with summary/1, the listing (:339-342).
      return listNumbers(deps, r);
    }
    // post(Context, ?FIX, Num) (:332-337) only copies the number doc into the account
    // database (kazoo_number_manager_maintenance:copy_single_number_to_account_db/2,
    // :440-470): used_by is NOT recomputed, and errors are ignored. The emulator keeps no
    // separate account copy, so this changes nothing.
    return deps.ok(r.ctx, 200, {});
  }
  if (b === 'identify') return identify(deps, r, a);
  switch (r.method) {
    case 'GET':
      return readNumber(deps, r, a);
    case 'PUT':
      return createNumber(deps, r, a);
    case 'DELETE':
      return releaseNumber(deps, r, a);
    default:
      return deps.fail(r.ctx, 501, 'not_implemented', {
        message: `${r.method} of a number is not modelled by the connops emulator`,
      });
  }
}

/**
 * `summary/1` (`cb_phone_numbers_v2.erl@223893d0:504-530`): `{cascade_quantity,
 * numbers: {NUM: row}}` paged through `crossbar_doc:load_view` like every
 * listing (§6.3): `page_size` default 50, `start_key` inclusive, opaque
 * `next_start_key` only when more rows exist (`crossbar_doc.erl@223893d0:396-440,
 * 892-930`), keys encoded by `api_util:encode_start_keys` (:1680-1698),
 * `paginate=false` for everything. `page_size` reports the rows returned, as
 * the emulator's connectivity listing does (4.3 counts the look-ahead row,
 * §6.3): clients should count `numbers` instead.
 */
function listNumbers(deps: NumberRouteDeps, r: NumberRequest): EmulatorResponse {
  const { req, ctx } = r;
  const all = deps.numbers.listFor(r.accountId);
  const body = (rows: readonly PhoneNumber[]): JsonObject => ({
    cascade_quantity: 0,
    numbers: Object.fromEntries(rows.map((pn) => [pn.number, listingRow(pn)])),
  });
  // rev_to_etag of a non-empty list of rows is 'automatic' (crossbar_doc.erl@223893d0:829).
  const revision = (rows: readonly PhoneNumber[]): JsonObject =>
    rows.length > 0 ? { revision: 'automatic' } : {};
  if (req.query.get('paginate') === 'false') return deps.ok(ctx, 200, body(all), revision(all));
  const requested = Number.parseInt(req.query.get('page_size') ?? '', 10);
  const pageSize = Number.isInteger(requested) && requested > 0 ? requested : deps.defaultPageSize;
  const startKey = req.query.get('start_key');
  const startNum = startKey !== null && startKey !== '' ? deps.decodeStartKey(startKey) : undefined;
  let lo = 0;
  if (startNum !== undefined) {
    // First row >= start_key (CouchDB startkey is inclusive), by binary search.
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((all[mid]?.number ?? '') < startNum) lo = mid + 1;
      else hi = mid;
    }
  }
  const from = all.slice(lo, lo + pageSize + 1);
  const page = from.slice(0, pageSize);
  const extra: JsonObject = { page_size: page.length, ...revision(page) };
  if (startNum !== undefined) extra['start_key'] = deps.encodeStartKey(startNum);
  const next = from[pageSize];
  if (next !== undefined) extra['next_start_key'] = deps.encodeStartKey(next.number);
  return deps.ok(ctx, 200, body(page), extra);
}

/**
 * `identify/2` (`cb_phone_numbers_v2.erl@223893d0:807-818`) → `knm_number:lookup_account/1`
 * (`knm_number.erl@223893d0:390-462`): looks the number up system-wide (no
 * authorisation check), 404 when it is not in the number manager, 400 when it
 * has no owner or is not in a routable state.
 */
function identify(deps: NumberRouteDeps, r: NumberRequest, raw: string): EmulatorResponse {
  const pn = deps.numbers.get(raw);
  if (!pn) return notFound(deps, r.ctx);
  if (pn.assigned_to === undefined) {
    // set_response({error, unassigned}) → response_400(<<"client error">>, unassigned) (:887-890).
    return deps.fail(r.ctx, 400, 'client error', 'unassigned');
  }
  if (!ROUTABLE_STATES.has(pn.state)) {
    return deps.fail(r.ctx, 400, 'client error', {
      cause: 'not_in_service',
      account_id: pn.assigned_to,
      number: pn.number,
    });
  }
  return deps.ok(r.ctx, 200, { account_id: pn.assigned_to, number: pn.number });
}

/** `summary/2` (:454-462): fetched with `auth_by` = the token's account; unreadable = not found. */
function readNumber(deps: NumberRouteDeps, r: NumberRequest, raw: string): EmulatorResponse {
  const pn = deps.numbers.get(raw);
  if (!pn || !canFetch(pn, r.authAccountId, deps.isWithin)) return notFound(deps, r.ctx);
  return deps.ok(r.ctx, 200, publicNumber(pn));
}

/**
 * `put(Context, Number)` (:367-377) → `knm_numbers:create/2`
 * (`knm_numbers.erl@223893d0:240-268`): assigned to the URL account, in
 * `create_with_state` (default `in_service` in the code,
 * `knm_number.erl@223893d0:140`; the doc says `reserved`), 201 like every
 * crossbar PUT (`core/kazoo_proper/src/pqc_cb_phone_numbers.erl@223893d0:73`).
 */
function createNumber(deps: NumberRouteDeps, r: NumberRequest, raw: string): EmulatorResponse {
  const data = isObject(r.data) ? publicFields(r.data) : {};
  const asked = data['create_with_state'];
  if (asked !== undefined && !isNumberState(asked)) {
    // validate_request/1 against the phone_numbers schema (:820-822), jesse's format (§3.3).
    const key = typeof asked === 'string' ? 'enum' : 'type';
    const detail =
      key === 'enum'
        ? {
            message: 'Value not found in enumerated list of values',
            target: [...NUMBER_STATES],
            value: asked,
          }
        : { message: 'Value did not match type(s): string', target: 'string', value: asked };
    return deps.fail(r.ctx, 400, 'validation error', { create_with_state: { [key]: detail } });
  }
  if (!isReconcilable(raw)) {
    return knmError(deps, r.ctx, 404, 'not_reconcilable', raw, `number ${raw} is not reconcilable`);
  }
  const existing = deps.numbers.get(raw);
  const number = normalizeNumber(raw);
  if (existing && !RECREATABLE_STATES.has(existing.state))
    return knmError(deps, r.ctx, 409, 'number_exists', number, `number ${number} already exists`);
  const state: NumberState = asked ?? 'in_service';
  if (!CREATABLE_STATES.has(state)) {
    return knmError(
      deps,
      r.ctx,
      403,
      'forbidden',
      'state_for_create',
      'requestor is unauthorized to perform operation',
    );
  }
  const { create_with_state: _state, ...doc } = data;
  const pn = deps.numbers.put(
    number,
    {
      assigned_to: r.accountId,
      state,
      doc,
      ...(existing ? { created: existing.created, features: existing.features } : {}),
      ...(existing?.used_by !== undefined ? { used_by: existing.used_by } : {}),
    },
    deps.now(),
  );
  return deps.ok(r.ctx, 201, publicNumber(pn));
}

/**
 * `delete(Context, Number)` (:427-443) → `knm_numbers:release/2`
 * (`knm_numbers.erl@223893d0:895-960`): authorised by the token's account;
 * the number loses its owner and, being local, is deleted; the answer shows
 * it `available` (`knm_config:released_state/0`).
 */
function releaseNumber(deps: NumberRouteDeps, r: NumberRequest, raw: string): EmulatorResponse {
  const pn = deps.numbers.get(raw);
  if (!pn) return notFound(deps, r.ctx);
  if (pn.assigned_to === undefined || !deps.isWithin(pn.assigned_to, r.authAccountId)) {
    return knmError(
      deps,
      r.ctx,
      403,
      'forbidden',
      pn.number,
      'requestor is unauthorized to perform operation',
    );
  }
  deps.numbers.delete(pn.number);
  const released: PhoneNumber = { ...pn, state: 'available', features: [], doc: {} };
  delete released.assigned_to;
  delete released.used_by;
  released.updated = gregorian(deps.now());
  return deps.ok(r.ctx, 200, publicNumber(released));
}

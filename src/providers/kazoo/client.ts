/**
 * Kazoo Crossbar client for `connectivity` documents: token auth, id listing
 * with pagination, document reads and guarded writes, all through one pooled
 * HTTP client per target. Behaviour follows reference/kazoo-api.md.
 */
import { createHash } from 'node:crypto';
import { ApiError, ConnopsError, HttpError } from '../../core/errors.ts';
import { isObject } from '../../core/json.ts';
import type { JsonObject, JsonValue } from '../../core/json.ts';
import type { TargetConfig } from '../../core/model.ts';
import { createHttpClient } from '../../io/http.ts';
import type { HttpClient, HttpDeps, HttpRequest, HttpResponse } from '../../io/http-types.ts';
import { SecretSet } from '../../io/redact.ts';
import { MAX_GENERATIONS } from '../../core/ids.ts';
import type { LiveObject } from '../types.ts';
import { kazooApiError } from './errors.ts';
import { MANAGED_MARKER } from './normalize.ts';
import type { KazooOperation } from './errors.ts';
import type { AccountNumber, NumberOwner } from './numbers.ts';

/** Dependencies and tuning of a Kazoo client. */
export type KazooDeps = HttpDeps & {
  /** Secrets to mask in error messages; the client adds the target's credentials and its tokens. */
  readonly secrets?: SecretSet;
  /** Listing `page_size` (default LISTING_PAGE_SIZE). */
  readonly pageSize?: number;
  /** Retries after the first attempt (HTTP layer default when absent). */
  readonly maxRetries?: number;
  /** Longest Retry-After honoured, ms (HTTP layer default when absent). */
  readonly maxRetryAfterMs?: number;
};

type AuthConfig =
  | { readonly kind: 'api_key'; readonly apiKey: string }
  | {
      readonly kind: 'user';
      readonly credentials: string;
      readonly account: { readonly account_name: string } | { readonly account_realm: string };
    };

/** Where a sent value may legitimately differ from what the server stores. */
const SERVER_FORCED_POINTERS: ReadonlySet<string> = new Set(['/account/auth_realm']);

/** Upper bound on listing pages, so a server that keeps handing out keys cannot loop us forever. */
const MAX_PAGES = 100_000;

function readAuth(target: TargetConfig, secrets: SecretSet): AuthConfig {
  const auth = target.auth;
  const apiKey = auth['api_key'];
  if (apiKey !== undefined && apiKey !== '') {
    secrets.add(apiKey);
    return { kind: 'api_key', apiKey };
  }
  const username = auth['username'];
  const password = auth['password'];
  const accountName = auth['account_name'];
  const accountRealm = auth['account_realm'];
  if (
    username !== undefined &&
    password !== undefined &&
    (accountName !== undefined || accountRealm !== undefined)
  ) {
    secrets.add(password);
    // user_auth wants md5("lowercased username:password") in hex (reference/kazoo-api.md §5.2, DOC).
    const credentials = createHash('md5')
      .update(`${username.toLowerCase()}:${password}`)
      .digest('hex');
    // The hash is as good as the password for signing in, so it is a secret too.
    secrets.add(credentials);
    return {
      kind: 'user',
      credentials,
      account:
        accountName !== undefined
          ? { account_name: accountName }
          : { account_realm: accountRealm ?? '' },
    };
  }
  throw new ConnopsError(
    'CONFIG',
    `Target ${target.name}: auth needs either api_key, or username and password with account_name or account_realm`,
  );
}

function quoteEtag(revision: string): string {
  return `"${revision}"`;
}

function unquoteEtag(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined;
  const m = /^(?:W\/)?"(.*)"$/.exec(etag.trim());
  return m ? m[1] : etag;
}

/** CouchDB revision generation: the number before the dash ("3-ab…" → 3). */
function revisionGeneration(revision: string | undefined): number | undefined {
  const m = revision === undefined ? null : /^(\d+)-/.exec(revision);
  return m ? Number(m[1]) : undefined;
}

/**
 * True when everything `sent` says is present in `live`: objects may gain keys
 * (server defaults, §2.3), scalars may be coerced ("5060" → 5060, §2.4), a
 * `null` means the key was deleted (PATCH, §1.7) and `account.auth_realm` is
 * forced by the server (§1.4).
 */
export function containsSent(
  sent: JsonValue | undefined,
  live: JsonValue | undefined,
  pointer = '',
): boolean {
  if (SERVER_FORCED_POINTERS.has(pointer)) return true;
  if (sent === null) return live === undefined || live === null;
  if (sent === undefined) return true;
  if (Array.isArray(sent)) {
    return (
      Array.isArray(live) &&
      live.length === sent.length &&
      sent.every((v, i) => containsSent(v, live[i], `${pointer}/${i}`))
    );
  }
  if (isObject(sent)) {
    if (!isObject(live)) return false;
    return Object.entries(sent).every(([k, v]) =>
      containsSent(v, live[k], `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`),
    );
  }
  if (sent === live) return true;
  return (
    live !== undefined && live !== null && typeof live !== 'object' && String(sent) === String(live)
  );
}

function withoutId(data: JsonObject): JsonObject {
  const { id: _id, ...rest } = data;
  return rest;
}

/** The envelope-level auth token of a sign-in answer (the token is not in `data`, §5.2). */
function tokenOf(res: HttpResponse): string | undefined {
  if (!isObject(res.body)) return undefined;
  const token = res.body['auth_token'];
  // 4.3 puts the literal "undefined" there on unauthenticated errors (§3.2).
  return typeof token === 'string' && token !== '' && token !== 'undefined' ? token : undefined;
}

type CreatedLookup =
  | { readonly kind: 'found'; readonly live: LiveObject }
  | { readonly kind: 'none' }
  | { readonly kind: 'ambiguous'; readonly ids: readonly string[] };

/**
 * Ids per listing page. Kazoo pages by 50 unless asked (kazoo-api.md §6.3), and
 * each further page is one more round trip before an account's documents can
 * be read; a listing is ids only, so 500 per page stays small. (`paginate=false`
 * would return everything at once, but a large listing can then trip the
 * server's memory watchdog, §6.3.)
 */
export const LISTING_PAGE_SIZE = 500;

/**
 * One Kazoo target. Tokens are fetched lazily, cached, and refreshed once on
 * a 401 (single flight: concurrent requests share one sign-in).
 */
export class KazooClient {
  readonly target: string;
  private readonly http: HttpClient;
  private readonly secrets: SecretSet;
  private readonly auth: AuthConfig;
  private readonly pageSize: number;
  private token: string | undefined;
  private pendingAuth: Promise<string> | undefined;
  private signedInAccount: string | undefined;

  /**
   * @param target the target settings (url, auth, concurrency, timeout_ms, ca_file)
   * @param deps HTTP dependencies, secrets and listing page size
   * @throws ConnopsError code CONFIG when the target has no url or unusable auth settings
   */
  constructor(target: TargetConfig, deps: KazooDeps) {
    this.target = target.name;
    this.secrets = deps.secrets ?? new SecretSet();
    this.auth = readAuth(target, this.secrets);
    this.pageSize = deps.pageSize ?? LISTING_PAGE_SIZE;
    if (target.url === undefined || target.url === '') {
      throw new ConnopsError('CONFIG', `Target ${target.name}: url is required for a kazoo target`);
    }
    this.http = createHttpClient({
      target: target.name,
      baseUrl: target.url,
      concurrency: target.concurrency,
      timeoutMs: target.timeout_ms,
      ...(target.ca_file !== undefined ? { caFile: target.ca_file } : {}),
      ...(deps.maxRetries !== undefined ? { maxRetries: deps.maxRetries } : {}),
      ...(deps.maxRetryAfterMs !== undefined ? { maxRetryAfterMs: deps.maxRetryAfterMs } : {}),
      deps,
    });
  }

  /** The account the credentials belong to, once signed in (from the auth answer's `data.account_id`). */
  get accountId(): string | undefined {
    return this.signedInAccount;
  }

  /** Signs in now (normally done lazily by the first call). */
  async signIn(): Promise<void> {
    await this.currentToken();
  }

  /** Frees pooled connections. */
  async close(): Promise<void> {
    await this.http.close();
  }

  /**
   * Every connectivity id in an account, following `next_start_key` (§6.3).
   * Returned sorted: 4.3 reverses each page (§1.3), so order carries no meaning.
   */
  async listIds(account: string, signal?: AbortSignal): Promise<string[]> {
    const op: KazooOperation = { verb: 'list', target: this.target, account };
    const ids = new Set<string>();
    const seenKeys = new Set<string>();
    let startKey: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const query = new URLSearchParams();
      query.set('page_size', String(this.pageSize));
      if (startKey !== undefined) query.set('start_key', startKey);
      const qs = query.toString();
      const res = await this.call(
        {
          method: 'GET',
          path: `${this.collectionPath(account)}${qs === '' ? '' : `?${qs}`}`,
          idempotent: true,
        },
        signal,
      );
      if (res.status !== 200) throw this.error(res, op);
      const data = isObject(res.body) ? res.body['data'] : undefined;
      if (!Array.isArray(data)) throw this.unexpected(res, op, 'the listing has no data array');
      // Ids are strings (§1.3); anything else means we misread the answer, and skipping it
      // would plan an existing document as missing.
      if (!data.every((id): id is string => typeof id === 'string' && id !== ''))
        throw this.unexpected(res, op, 'the listing has an entry that is not a document id');
      for (const id of data) ids.add(id);
      const next = isObject(res.body) ? res.body['next_start_key'] : undefined;
      if (next === undefined || next === null || next === '') return [...ids].sort();
      const key = typeof next === 'string' ? next : JSON.stringify(next);
      if (seenKeys.has(key))
        throw this.unexpected(res, op, 'the listing repeated a page key (next_start_key)');
      seenKeys.add(key);
      startKey = key;
    }
    /* v8 ignore next -- @preserve: needs 100 000 distinct page keys */
    throw new ApiError(
      'API',
      `Cannot list kazoo/connectivity documents in account ${account}: more than ${MAX_PAGES} pages`,
      {
        status: 200,
        apiMessage: '',
      },
    );
  }

  /**
   * Every number the number manager assigns to an account, with its state and
   * `used_by` (`GET /v2/accounts/{A}/phone_numbers`, §12): `data.numbers` maps
   * each number to its properties, paged like every crossbar listing (§6.3),
   * so pages of LISTING_PAGE_SIZE are followed through `next_start_key`. One
   * request per page. Sorted by number.
   */
  async listNumbers(account: string, signal?: AbortSignal): Promise<AccountNumber[]> {
    const op: KazooOperation = {
      verb: 'list',
      target: this.target,
      account,
      resource: 'kazoo/phone_numbers',
    };
    const numbers = new Map<string, AccountNumber>();
    const seenKeys = new Set<string>();
    let startKey: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const query = new URLSearchParams();
      query.set('page_size', String(this.pageSize));
      if (startKey !== undefined) query.set('start_key', startKey);
      const res = await this.call(
        {
          method: 'GET',
          path: `/accounts/${encodeURIComponent(account)}/phone_numbers?${query.toString()}`,
          idempotent: true,
        },
        signal,
      );
      if (res.status !== 200) throw this.error(res, op);
      const data = isObject(res.body) ? res.body['data'] : undefined;
      const rows = isObject(data) ? data['numbers'] : undefined;
      // An answer we cannot read must not look like "owns nothing" (or "owns everything").
      if (!isObject(rows)) throw this.unexpected(res, op, 'the listing has no data.numbers object');
      for (const [number, row] of Object.entries(rows)) {
        if (!isObject(row))
          throw this.unexpected(res, op, `the listing entry for ${number} is not an object`);
        const assignedTo = row['assigned_to'];
        const state = row['state'];
        const usedBy = row['used_by'];
        numbers.set(number, {
          number,
          ...(typeof assignedTo === 'string' && assignedTo !== '' ? { assignedTo } : {}),
          ...(typeof state === 'string' && state !== '' ? { state } : {}),
          ...(typeof usedBy === 'string' && usedBy !== '' ? { usedBy } : {}),
        });
      }
      const next = isObject(res.body) ? res.body['next_start_key'] : undefined;
      if (next === undefined || next === null || next === '')
        return [...numbers.values()].sort((a, b) =>
          a.number < b.number ? -1 : a.number > b.number ? 1 : 0,
        );
      const key = typeof next === 'string' ? next : JSON.stringify(next);
      if (seenKeys.has(key))
        throw this.unexpected(res, op, 'the listing repeated a page key (next_start_key)');
      seenKeys.add(key);
      startKey = key;
    }
    /* v8 ignore next -- @preserve: needs 100 000 distinct page keys */
    throw new ApiError(
      'API',
      `Cannot list kazoo/phone_numbers in account ${account}: more than ${MAX_PAGES} pages`,
      { status: 200, apiMessage: '' },
    );
  }

  /**
   * Who owns one number (`GET /v2/accounts/{A}/phone_numbers/{NUM}/identify`,
   * §12): `identify/2` → `knm_number:lookup_account/1`, a system-wide lookup
   * (`cb_phone_numbers_v2.erl@223893d0:807-818`, `knm_number.erl@223893d0:390-462`).
   * 200 names the owner of a number that routes; 404 means the number manager
   * does not have it; 400 `unassigned`, or `not_in_service` / `account_disabled`
   * with the owner (`set_response/3`, :903-919). The state of a number that
   * does not route is then read from the number itself (`GET …/{NUM}`,
   * `_read_only.state`) so the finding can name it. One request per number
   * (two for one that does not route).
   */
  async identifyNumber(
    account: string,
    number: string,
    signal?: AbortSignal,
  ): Promise<NumberOwner> {
    const op: KazooOperation = {
      verb: 'read',
      target: this.target,
      account,
      resource: 'kazoo/phone_numbers',
      id: number,
    };
    const base = `/accounts/${encodeURIComponent(account)}/phone_numbers/${encodeURIComponent(number)}`;
    const res = await this.call(
      { method: 'GET', path: `${base}/identify`, idempotent: true },
      signal,
    );
    if (res.status === 404) return { number, known: false };
    const data = isObject(res.body) ? res.body['data'] : undefined;
    if (res.status === 200) {
      const owner = isObject(data) ? data['account_id'] : undefined;
      if (typeof owner !== 'string' || owner === '')
        throw this.unexpected(res, op, 'the identify answer has no data.account_id');
      return { number, known: true, assignedTo: owner, routable: true };
    }
    if (res.status === 400 && data === 'unassigned')
      return { number, known: true, routable: false };
    const cause = isObject(data) ? data['cause'] : undefined;
    const owner = isObject(data) ? data['account_id'] : undefined;
    if (res.status === 400 && (cause === 'not_in_service' || cause === 'account_disabled')) {
      const assignedTo = typeof owner === 'string' && owner !== '' ? owner : undefined;
      const state =
        cause === 'account_disabled' ? 'account disabled' : await this.numberState(base, signal);
      return {
        number,
        known: true,
        routable: false,
        ...(assignedTo !== undefined ? { assignedTo } : {}),
        ...(state !== undefined ? { state } : {}),
      };
    }
    throw this.error(res, op);
  }

  /** A number's `_read_only.state` (`GET …/phone_numbers/{NUM}`), or undefined when it cannot be read. */
  private async numberState(path: string, signal?: AbortSignal): Promise<string | undefined> {
    const res = await this.call({ method: 'GET', path, idempotent: true }, signal);
    const data = res.status === 200 && isObject(res.body) ? res.body['data'] : undefined;
    const ro = isObject(data) ? data['_read_only'] : undefined;
    const state = isObject(ro) ? ro['state'] : isObject(data) ? data['state'] : undefined;
    return typeof state === 'string' && state !== '' ? state : undefined;
  }

  /**
   * Has the number manager recompute `used_by` of every number assigned to an
   * account from its live documents (`POST /v2/accounts/{A}/phone_numbers/fix`,
   * §12): `kazoo_number_manager_maintenance:fix_account_db_numbers/1`
   * (`core/kazoo_number_manager/src/kazoo_number_manager_maintenance.erl@223893d0:1462-1469`,
   * via `cb_phone_numbers_v2.erl@223893d0:339-342`). Connectivity writes leave
   * `used_by` wrong after a create (PUT does not track it) and after a move
   * (the claim marks, the release then clears): the one call per account puts
   * it right, `trunkstore` for DIDs of enabled servers of live documents,
   * `callflow` for callflow numbers, cleared for numbers in neither. The
   * per-number `fix/{NUM}` does not recompute `used_by` (it only copies the
   * number doc, :332-337), so it is not used. Recomputing is idempotent, so
   * the HTTP layer may repeat it. The answer (the account's first listing
   * page) is not read: one request per account.
   */
  async fixNumbers(account: string): Promise<void> {
    const op: KazooOperation = {
      verb: 'fix',
      target: this.target,
      account,
      resource: 'kazoo/phone_numbers',
    };
    const res = await this.call({
      method: 'POST',
      path: `/accounts/${encodeURIComponent(account)}/phone_numbers/fix`,
      body: { data: {} },
      idempotent: true,
    });
    if (res.status !== 200) throw this.error(res, op);
  }

  /** One document, or undefined when it does not exist (404 covers soft-deleted docs, §1.5). */
  async get(account: string, id: string, signal?: AbortSignal): Promise<LiveObject | undefined> {
    const res = await this.call(
      { method: 'GET', path: this.docPath(account, id), idempotent: true },
      signal,
    );
    if (res.status === 404) return undefined;
    const op: KazooOperation = { verb: 'read', target: this.target, account, id };
    if (res.status !== 200) throw this.error(res, op);
    return this.toLive(res, op, id);
  }

  /**
   * Every document of an account: the listing gives ids only (§1.3), so each
   * is fetched; the HTTP client's limiter bounds how many run at once.
   */
  async list(account: string, signal?: AbortSignal): Promise<LiveObject[]> {
    const ids = await this.listIds(account, signal);
    return Promise.all(
      ids.map(async (id) => {
        const doc = await this.get(account, id, signal);
        // Listed, then 404: deleted in between, or a read that failed for a moment. Either
        // way it is not known to be absent, and planning it as absent would create a
        // duplicate (INVARIANTS.md items 6, 10): the account's read fails, the plan is
        // incomplete, and the next plan reads it again.
        if (doc === undefined)
          throw new ConnopsError(
            'API',
            `Cannot read kazoo/connectivity ${id} in account ${account} on target "${this.target}": the listing returned it but reading it answered 404 (deleted since, or a transient failure); plan again`,
          );
        return doc;
      }),
    );
  }

  /**
   * Creates a document (`PUT`, 201, §1.4). With `id` the create is repeatable:
   * a 409 after a lost answer is checked against what we sent. Without one the
   * PUT is never repeated; after an unclear failure the account is searched
   * for a new document of the same name.
   */
  async create(
    account: string,
    body: JsonObject,
    id?: string | ((generation: number) => string),
  ): Promise<LiveObject & { adopted?: boolean }> {
    const name = typeof body['name'] === 'string' ? body['name'] : undefined;
    if (typeof id === 'function') return this.createByGeneration(account, body, id, name);
    const op: KazooOperation = {
      verb: 'create',
      target: this.target,
      account,
      ...(id !== undefined ? { id } : name !== undefined ? { name } : {}),
    };
    if (id !== undefined) return this.createWithId(account, body, id, op);

    const before = new Set(await this.listIds(account));
    let res: HttpResponse;
    try {
      res = await this.call({
        method: 'PUT',
        path: this.collectionPath(account),
        body: { data: body },
        idempotent: false,
      });
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      const found = await this.findCreated(account, body, before, err);
      if (found) return found;
      throw new HttpError(
        err.method,
        err.path,
        this.secrets.redact(`${err.message}; ${this.notCreatedNote(account, name)}`),
        {
          cause: err,
        },
      );
    }
    if (res.status === 200 || res.status === 201) return this.toLive(res, op, undefined);
    if (res.status >= 500) {
      // A 5xx may come after the save (e.g. a proxy timing out), so look before reporting.
      const failure = this.error(res, op);
      const found = await this.findCreated(account, body, before, failure);
      if (found) return found;
      throw this.error(res, op, `; ${this.notCreatedNote(account, name)}`);
    }
    throw this.error(res, op);
  }

  /**
   * Merges `body` into a document (`PATCH`, §1.7) guarded by `If-Match` (§4).
   * A 409/412 normally means someone else changed it; but when a repeated
   * PATCH meets its own first attempt (the doc moved exactly one revision and
   * holds what we sent) that is our write, and it succeeded.
   */
  async patch(
    account: string,
    id: string,
    revision: string,
    body: JsonObject,
  ): Promise<LiveObject> {
    return this.guardedWrite('PATCH', account, id, revision, body);
  }

  /** Replaces all public fields (`POST`, §1.6), guarded by `If-Match` like `patch`. */
  async replace(
    account: string,
    id: string,
    revision: string,
    body: JsonObject,
  ): Promise<LiveObject> {
    return this.guardedWrite('POST', account, id, revision, body);
  }

  /** Soft-deletes a document guarded by `If-Match`; one already gone (404) counts as deleted (§1.8). */
  async delete(account: string, id: string, revision: string): Promise<void> {
    const res = await this.call({
      method: 'DELETE',
      path: this.docPath(account, id),
      headers: { 'if-match': quoteEtag(revision) },
      idempotent: true,
    });
    if (res.status === 200 || res.status === 204 || res.status === 404) return;
    const op: KazooOperation = { verb: 'delete', target: this.target, account, id, revision };
    if (res.status === 409 || res.status === 412) {
      // A repeated DELETE whose first attempt landed may meet the precondition on the deleted doc.
      const live = await this.get(account, id);
      if (live === undefined) return;
      throw this.conflict(res, op, live.revision);
    }
    throw this.error(res, op);
  }

  /**
   * Creates with the document's derived ids (core/ids.ts), generation 0, 1, 2, …
   * A 409 means the id is taken (`crossbar_doc.erl@dcf86cbc:760-762`): by this
   * document (an earlier or concurrent create: same name, connops' marker), which
   * is adopted; by a soft-deleted document, which Kazoo keeps
   * (`crossbar_doc.erl@dcf86cbc:569-575`) and GET answers 404 for (§1.5), so the
   * next generation is tried; or by anything else, which is a conflict.
   */
  private async createByGeneration(
    account: string,
    body: JsonObject,
    idOf: (generation: number) => string,
    name: string | undefined,
  ): Promise<LiveObject & { adopted?: boolean }> {
    for (let generation = 0; generation < MAX_GENERATIONS; generation++) {
      const id = idOf(generation);
      const op: KazooOperation = { verb: 'create', target: this.target, account, id };
      const res = await this.call({
        method: 'PUT',
        path: this.collectionPath(account),
        body: { data: { ...body, id } },
        // Repeating it is safe: a second attempt meets the first as a 409 on the same id.
        idempotent: true,
      });
      if (res.status === 200 || res.status === 201) return this.toLive(res, op, id);
      if (res.status !== 409) throw this.error(res, op);
      // Read twice before calling it deleted: one 404 may be transient, and walking on
      // past a live copy would make the duplicate this exists to prevent.
      const live = (await this.get(account, id)) ?? (await this.get(account, id));
      if (live === undefined) continue;
      if (live.body['name'] === name && live.body[MANAGED_MARKER] === true)
        return { ...live, adopted: true };
      throw this.error(res, op, undefined, {
        code: 'CONFLICT',
        reason: `its id ${id} is held by another document${typeof live.body['name'] === 'string' ? ` named "${live.body['name']}"` : ''} that connops did not create for this name; rename one of them or pin an id with \`id:\``,
      });
    }
    throw new ConnopsError(
      'CONFLICT',
      `Cannot create kazoo/connectivity${name !== undefined ? ` "${name}"` : ''} in account ${account}: the ids of its first ${MAX_GENERATIONS} generations are all held by deleted documents; pin an id with \`id:\``,
    );
  }

  private async createWithId(
    account: string,
    body: JsonObject,
    id: string,
    op: KazooOperation,
  ): Promise<LiveObject> {
    // An id in `data` is honoured on PUT (§1.4, §6.4), which makes the create safe to repeat.
    const res = await this.call({
      method: 'PUT',
      path: this.collectionPath(account),
      body: { data: { ...body, id } },
      idempotent: true,
    });
    if (res.status === 200 || res.status === 201) return this.toLive(res, op, id);
    if (res.status === 409) {
      // 409 = the id is taken (§1.4): by our own earlier attempt whose answer was lost, or by someone else.
      const live = await this.get(account, id);
      if (live !== undefined && containsSent(body, live.body)) return live;
      throw this.error(res, op, undefined, {
        code: 'CONFLICT',
        reason:
          live === undefined
            ? 'the id is taken by a deleted document (Kazoo keeps deleted ids); choose another id'
            : `a different document with this id already exists (revision ${live.revision ?? 'unknown'})`,
      });
    }
    throw this.error(res, op);
  }

  private async guardedWrite(
    method: 'PATCH' | 'POST',
    account: string,
    id: string,
    revision: string,
    body: JsonObject,
  ): Promise<LiveObject> {
    const op: KazooOperation = { verb: 'update', target: this.target, account, id, revision };
    const res = await this.call({
      method,
      path: this.docPath(account, id),
      headers: { 'if-match': quoteEtag(revision) },
      body: { data: body },
      idempotent: true,
    });
    if (res.status === 200) return this.toLive(res, op, id);
    if (res.status === 409 || res.status === 412) {
      const live = await this.get(account, id);
      const before = revisionGeneration(revision);
      const after = revisionGeneration(live?.revision);
      if (
        live !== undefined &&
        before !== undefined &&
        after === before + 1 &&
        containsSent(body, live.body)
      )
        return live;
      if (live === undefined) {
        throw this.error(res, op, undefined, {
          code: 'CONFLICT',
          reason: `it was deleted on the server since it was read (revision ${revision})`,
        });
      }
      throw this.conflict(res, op, live.revision);
    }
    throw this.error(res, op);
  }

  /** Looks for the document an unclear create may have made (new id, same name, or same content when unnamed). */
  private async findCreated(
    account: string,
    body: JsonObject,
    before: ReadonlySet<string>,
    failure: Error,
  ): Promise<LiveObject | undefined> {
    let lookup: CreatedLookup;
    try {
      lookup = await this.lookupCreated(account, body, before);
    } catch (err) {
      throw new ConnopsError(
        failure instanceof ConnopsError ? failure.code : 'API',
        this.secrets.redact(
          `${failure.message}; it may or may not have been created, and checking failed too (${(err as Error).message})`,
        ),
        { cause: failure },
      );
    }
    if (lookup.kind === 'found') return lookup.live;
    if (lookup.kind === 'ambiguous') {
      throw new ConnopsError(
        'CONFLICT',
        this.secrets.redact(
          `${failure.message}; several new documents that match appeared in account ${account} (${lookup.ids.join(', ')}), check them before re-running`,
        ),
        { cause: failure },
      );
    }
    return undefined;
  }

  private async lookupCreated(
    account: string,
    body: JsonObject,
    before: ReadonlySet<string>,
  ): Promise<CreatedLookup> {
    const fresh = (await this.listIds(account)).filter((id) => !before.has(id));
    const docs = (await Promise.all(fresh.map((id) => this.get(account, id)))).filter(
      (d): d is LiveObject => d !== undefined,
    );
    const name = body['name'];
    let matches =
      typeof name === 'string'
        ? docs.filter((d) => d.body['name'] === name)
        : docs.filter((d) => containsSent(body, d.body));
    if (matches.length > 1) matches = matches.filter((d) => containsSent(body, d.body));
    const [only] = matches;
    if (matches.length === 1 && only !== undefined) return { kind: 'found', live: only };
    if (matches.length > 1) return { kind: 'ambiguous', ids: matches.map((d) => d.id) };
    return { kind: 'none' };
  }

  private notCreatedNote(account: string, name: string | undefined): string {
    return `no new document${name !== undefined ? ` named "${name}"` : ''} appeared in account ${account}, so it was not created; re-run to try again`;
  }

  private collectionPath(account: string): string {
    return `/accounts/${encodeURIComponent(account)}/connectivity`;
  }

  private docPath(account: string, id: string): string {
    return `${this.collectionPath(account)}/${encodeURIComponent(id)}`;
  }

  private toLive(
    res: HttpResponse,
    op: KazooOperation,
    fallbackId: string | undefined,
  ): LiveObject {
    const data = isObject(res.body) ? res.body['data'] : undefined;
    if (!isObject(data)) throw this.unexpected(res, op, 'the answer has no data object');
    const id = typeof data['id'] === 'string' ? data['id'] : fallbackId;
    if (id === undefined) throw this.unexpected(res, op, 'the answer has no document id');
    // The envelope revision is the CouchDB _rev; the ETag (GET only) carries the same value (§4).
    const envelopeRev = isObject(res.body) ? res.body['revision'] : undefined;
    const revision =
      typeof envelopeRev === 'string' ? envelopeRev : unquoteEtag(res.headers['etag']);
    return { id, body: withoutId(data), ...(revision !== undefined ? { revision } : {}) };
  }

  /** Sends an authenticated request; on a 401 signs in again once and repeats it (§5.4). */
  private async call(req: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    const token = await this.currentToken();
    const res = await this.http.request(this.withToken(req, token, signal));
    if (res.status !== 401) return res;
    const fresh = await this.refreshToken(token);
    // A 401 means the request was not processed, so even a non-idempotent one may be sent again.
    return this.http.request(this.withToken(req, fresh, signal));
  }

  private withToken(req: HttpRequest, token: string, signal: AbortSignal | undefined): HttpRequest {
    return {
      ...req,
      headers: { ...req.headers, 'x-auth-token': token },
      ...(signal !== undefined ? { signal } : {}),
    };
  }

  private currentToken(): Promise<string> {
    if (this.token !== undefined) return Promise.resolve(this.token);
    if (this.pendingAuth) return this.pendingAuth;
    const pending = this.authenticate().then(
      (token) => {
        this.token = token;
        this.pendingAuth = undefined;
        return token;
      },
      (err: unknown) => {
        this.pendingAuth = undefined;
        throw err;
      },
    );
    this.pendingAuth = pending;
    return pending;
  }

  /** Drops `stale` and signs in again, unless another request already replaced it. */
  private refreshToken(stale: string): Promise<string> {
    if (this.token === stale) this.token = undefined;
    return this.currentToken();
  }

  private async authenticate(): Promise<string> {
    const op: KazooOperation = { verb: 'sign in to', target: this.target };
    // Signing in again is harmless, so the PUT may be repeated after a lost answer.
    const req: HttpRequest =
      this.auth.kind === 'api_key'
        ? {
            method: 'PUT',
            path: '/api_auth',
            body: { data: { api_key: this.auth.apiKey } },
            idempotent: true,
          }
        : {
            method: 'PUT',
            path: '/user_auth',
            body: {
              data: { credentials: this.auth.credentials, method: 'md5', ...this.auth.account },
            },
            idempotent: true,
          };
    const res = await this.http.request(req);
    if (res.status === 200 || res.status === 201) {
      const token = tokenOf(res);
      if (token === undefined)
        throw this.unexpected(res, op, 'the sign-in answer carried no auth_token');
      this.secrets.add(token);
      const data = isObject(res.body) ? res.body['data'] : undefined;
      if (isObject(data) && typeof data['account_id'] === 'string')
        this.signedInAccount = data['account_id'];
      return token;
    }
    const how = this.auth.kind === 'api_key' ? 'PUT /api_auth' : 'PUT /user_auth';
    if (res.status === 404 && this.auth.kind === 'api_key') {
      // An unknown 64-character key is 404 "bad identifier", not 401 (§5.3, CODE).
      throw this.error(res, op, undefined, {
        code: 'AUTH',
        reason: `the api_key was not recognised (${how} answered 404 bad identifier)`,
      });
    }
    if (res.status === 400) {
      const reason =
        this.auth.kind === 'api_key'
          ? `the api_key was rejected as malformed (Kazoo api keys are 64 characters; ${how} answered 400)`
          : `the sign-in request was rejected (${how} answered 400 validation error)`;
      throw this.error(res, op, undefined, { code: 'AUTH', reason });
    }
    if (res.status === 401 || res.status === 403) {
      const what =
        this.auth.kind === 'api_key' ? 'the api_key' : 'the username, password or account';
      throw this.error(res, op, undefined, {
        code: 'AUTH',
        reason: `${what} was not accepted (${how} answered ${res.status})`,
      });
    }
    throw this.error(res, op);
  }

  private error(
    res: HttpResponse,
    op: KazooOperation,
    suffix?: string,
    override?: { code: ApiError['code']; reason: string },
  ): ApiError {
    const redact = (text: string): string => this.secrets.redact(text);
    const err = kazooApiError(res, op, redact, override);
    if (suffix === undefined) return err;
    return new ApiError(err.code, redact(err.message + suffix), {
      status: err.status,
      apiMessage: err.apiMessage,
      fields: { ...err.fields },
      ...(err.requestId !== undefined ? { requestId: err.requestId } : {}),
    });
  }

  private conflict(res: HttpResponse, op: KazooOperation, current: string | undefined): ApiError {
    return this.error(res, op, undefined, {
      code: 'CONFLICT',
      reason: `it changed on the server since it was read (revision ${op.revision ?? 'unknown'} → ${current ?? 'unknown'}); re-run plan`,
    });
  }

  private unexpected(res: HttpResponse, op: KazooOperation, what: string): ApiError {
    return this.error(res, op, undefined, {
      code: 'API',
      reason: `unexpected answer from the server: ${what} (HTTP ${res.status})`,
    });
  }
}

/**
 * The emulator's in-memory "CouchDB": accounts, one database of raw docs per
 * account (private fields included, as stored), phone-number ownership, and the
 * auth tokens crossbar would have issued.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { cloneJson, isObject, type JsonObject } from '../../core/json.ts';
import { NumberManager, type SeedNumber } from './numbers.ts';

export interface SeedAccount {
  /** 32 lowercase hex characters. */
  id: string;
  name: string;
  /** SIP realm: forced into every connectivity doc's `account.auth_realm` (§1.4). */
  realm: string;
  /** 64 characters, for `PUT /v2/api_auth`. */
  api_key?: string;
  /** For `PUT /v2/user_auth`. */
  username?: string;
  password?: string;
  /** Parent account: a token of an ancestor may act on this account. */
  parent_id?: string;
}

export interface KazooSeed {
  accounts?: SeedAccount[];
  /** Raw docs per account id (`_id` or `id`, `_rev`, `pvt_*` allowed; not validated). */
  docs?: Record<string, JsonObject[]>;
  /**
   * The number manager (§12): number (E.164) → owning account id (assigned,
   * `in_service`), or `{assigned_to, state, used_by, features}`. The owner also
   * decides the 403 on another account's DID (§3.4).
   */
  numbers?: Record<string, SeedNumber>;
}

export interface TokenRecord {
  readonly token: string;
  readonly accountId: string;
  readonly ownerId?: string;
  readonly method: 'cb_api_auth' | 'cb_user_auth';
  /** Expiry, ms since the epoch. */
  readonly expiresAt: number;
  /** Authenticated requests made with it (for FaultConfig.tokenExpiresAfter). */
  uses: number;
  revoked: boolean;
}

/** Random bytes drawn 4 KiB at a time: a system call per id was a visible share of the emulator's time per request. */
let idPool = Buffer.alloc(0);
let idAt = 0;

/** A new 32-hex id, as `kz_binary:rand_hex(16)` (§1.4). */
export function newId(): string {
  if (idAt + 16 > idPool.length) {
    idPool = randomBytes(4096);
    idAt = 0;
  }
  idAt += 16;
  return idPool.toString('hex', idAt - 16, idAt);
}

/** The next CouchDB revision `"<n>-<32hex>"` (§4). */
export function nextRevision(previous: unknown): string {
  const n =
    typeof previous === 'string' ? Number.parseInt(previous.split('-')[0] ?? '0', 10) || 0 : 0;
  return `${n + 1}-${newId()}`;
}

/** `kz_util:format_account_db/1`: account%2Fab%2Fcd%2Fefgh… */
export function accountDb(accountId: string): string {
  return `account%2F${accountId.slice(0, 2)}%2F${accountId.slice(2, 4)}%2F${accountId.slice(4)}`;
}

/** Gregorian seconds, which Kazoo stores in pvt_created/pvt_modified. */
export function gregorianSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000) + 62_167_219_200;
}

const base64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

export class KazooStore {
  readonly accounts = new Map<string, SeedAccount>();
  /** accountId → docId → raw stored doc. */
  readonly dbs = new Map<string, Map<string, JsonObject>>();
  /** The number manager (§12): numbers with owner, state and `used_by`. */
  readonly numbers = new NumberManager();
  readonly tokens = new Map<string, TokenRecord>();
  readonly #secret = randomBytes(32);

  /** Adds (or replaces) an account; its database starts empty when new. */
  createAccount(account: SeedAccount): SeedAccount {
    if (!/^[0-9a-f]{32}$/.test(account.id)) {
      throw new Error(
        `Cannot create emulated Kazoo account "${account.id}": the id must be 32 lowercase hex characters`,
      );
    }
    if (account.api_key !== undefined && account.api_key.length !== 64) {
      throw new Error(
        `Cannot create emulated Kazoo account ${account.id}: api_key must be exactly 64 characters`,
      );
    }
    const copy = { ...account };
    this.accounts.set(account.id, copy);
    if (!this.dbs.has(account.id)) this.dbs.set(account.id, new Map());
    return copy;
  }

  /** Loads accounts, docs and numbers (docs are stored as given, plus `_rev`/`pvt_type` when missing). */
  load(seed: KazooSeed, nowMs = Date.now()): void {
    for (const account of seed.accounts ?? []) this.createAccount(account);
    for (const [accountId, docs] of Object.entries(seed.docs ?? {})) {
      const db = this.dbs.get(accountId);
      if (!db)
        throw new Error(`Cannot seed docs for account ${accountId}: no such account in the seed`);
      for (const raw of docs) {
        const doc = cloneJson(raw);
        const id =
          typeof doc['_id'] === 'string'
            ? doc['_id']
            : typeof doc['id'] === 'string'
              ? doc['id']
              : newId();
        delete doc['id'];
        doc['_id'] = id;
        if (typeof doc['_rev'] !== 'string') doc['_rev'] = nextRevision(undefined);
        if (!Object.hasOwn(doc, 'pvt_type')) doc['pvt_type'] = 'sys_info';
        db.set(id, doc);
      }
    }
    this.numbers.load(seed.numbers ?? {}, nowMs);
  }

  /** Everything, private fields included (for tests). */
  dump(): KazooSeed {
    const docs: Record<string, JsonObject[]> = {};
    for (const [accountId, db] of this.dbs)
      docs[accountId] = [...db.values()].map((d) => cloneJson(d));
    return {
      accounts: [...this.accounts.values()].map((a) => ({ ...a })),
      docs,
      numbers: this.numbers.dump(),
    };
  }

  /** True when `accountId` is `ancestorId` or one of its descendants. */
  isWithin(accountId: string, ancestorId: string): boolean {
    let cur: string | undefined = accountId;
    const seen = new Set<string>();
    while (cur !== undefined && !seen.has(cur)) {
      if (cur === ancestorId) return true;
      seen.add(cur);
      cur = this.accounts.get(cur)?.parent_id;
    }
    return false;
  }

  db(accountId: string): Map<string, JsonObject> {
    let db = this.dbs.get(accountId);
    if (!db) {
      db = new Map();
      this.dbs.set(accountId, db);
    }
    return db;
  }

  /** Ids the `trunkstore/crossbar_listing` view emits: sys_info, not deleted; ascending (§1.3). */
  listIds(accountId: string): string[] {
    const ids: string[] = [];
    for (const [id, doc] of this.db(accountId)) {
      if (doc['pvt_type'] === 'sys_info' && doc['pvt_deleted'] !== true) ids.push(id);
    }
    return ids.sort();
  }

  /** Issues a JWT-shaped opaque token (§5.4); validity is checked against the store, not the signature. */
  issueToken(
    accountId: string,
    method: TokenRecord['method'],
    ttlS: number,
    nowMs: number,
    ownerId?: string,
  ): TokenRecord {
    const exp = Math.floor(nowMs / 1000) + ttlS;
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const claims: JsonObject = {
      account_id: accountId,
      method,
      exp,
      iat: Math.floor(nowMs / 1000),
      jti: newId(),
    };
    if (ownerId !== undefined) claims['owner_id'] = ownerId;
    const payload = base64url(JSON.stringify(claims));
    const sig = createHmac('sha256', this.#secret)
      .update(`${header}.${payload}`)
      .digest('base64url');
    const token = `${header}.${payload}.${sig}`;
    const record: TokenRecord = {
      token,
      accountId,
      method,
      expiresAt: nowMs + ttlS * 1000,
      uses: 0,
      revoked: false,
      ...(ownerId !== undefined ? { ownerId } : {}),
    };
    this.tokens.set(token, record);
    return record;
  }

  /** Expires every token issued so far. */
  expireTokens(): void {
    for (const t of this.tokens.values()) t.revoked = true;
  }

  findByApiKey(key: string): SeedAccount | undefined {
    return [...this.accounts.values()].find((a) => a.api_key === key);
  }
}

/** md5/sha1 of "username_lowercase:password", as user_auth expects (§5.2). */
export function userCredentials(username: string, password: string, method: 'md5' | 'sha'): string {
  return createHash(method === 'sha' ? 'sha1' : 'md5')
    .update(`${username.toLowerCase()}:${password}`)
    .digest('hex');
}

/** A stable owner (user) id for an account's single seeded user. */
export function ownerIdFor(account: SeedAccount): string {
  return createHash('md5')
    .update(`user:${account.id}:${account.username ?? ''}`)
    .digest('hex');
}

/** Reads a property of a JSON object as a string, if it is one. */
export function stringProp(obj: unknown, key: string): string | undefined {
  if (!isObject(obj)) return undefined;
  const v = obj[key];
  return typeof v === 'string' ? v : undefined;
}

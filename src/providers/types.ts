/**
 * The one interface every API implements (STYLE.md §3). The offline half is
 * pure and used by `validate`; the online half is a session bound to one target
 * and built with an injected HTTP layer.
 */
import type { JsonObject } from '../core/json.ts';
import type { CheckedDocument, DesiredDocument, Diagnostic, TargetConfig } from '../core/model.ts';
import type { NumberSite } from '../core/numbers.ts';
import type { UniqueUse } from '../core/target-unique.ts';
import type { HttpDeps } from '../io/http-types.ts';

/** What a write needs to know of the live object it changes. */
export interface LiveRef {
  readonly id: string;
  /** Server revision for optimistic concurrency (Kazoo `_rev`); undefined when the API has none. */
  readonly revision?: string;
  /** Its name, for messages. */
  readonly name?: string;
}

/** A live object as read from an API. */
export interface LiveObject {
  readonly id: string;
  /** Server revision for optimistic concurrency (Kazoo `_rev`); undefined when the API has none. */
  readonly revision?: string;
  /** The body as the API returned it (server-owned fields included). */
  readonly body: JsonObject;
}

/** A problem found checking one document offline, positioned by a pointer inside `spec`. */
export interface SpecProblem {
  readonly severity: 'error' | 'warning';
  readonly code: string;
  readonly message: string;
  /** JSON Pointer inside the document's spec. */
  readonly pointer: string;
  /** Point at the key rather than the value (unknown or duplicate keys). */
  readonly atKey?: boolean;
}

/** What an update sends, built by the provider from the diff (pure). */
export interface WriteRequest {
  readonly method: 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  /** Body to send (may contain secrets: never serialised into plan output). */
  readonly body: JsonObject | null;
}

export interface ProviderSession {
  /** Every live object of this kind in one account (documents fetched in full). */
  list(account: string, signal?: AbortSignal): Promise<LiveObject[]>;
  /** One object by id, or undefined when it does not exist (404). */
  get(account: string, id: string, signal?: AbortSignal): Promise<LiveObject | undefined>;
  /**
   * Creates an object; `id` pins the new object's id where the API allows it.
   * A function instead gives the id of each generation (core/ids.ts): the
   * session tries them in order, adopts the object a concurrent or earlier
   * create of the same document made (same name, connops' marker), and moves
   * to the next generation only past an id held by a deleted object.
   * `adopted` says the object was made by that other create.
   */
  create(
    account: string,
    body: JsonObject,
    id?: string | ((generation: number) => string),
  ): Promise<LiveObject & { readonly adopted?: boolean }>;
  /** Sends an update built by `buildUpdate`, guarded by the live revision where the API has one. */
  update(account: string, live: LiveRef, request: WriteRequest): Promise<LiveObject>;
  /** Deletes; an object already gone counts as success. */
  delete(account: string, live: LiveRef): Promise<void>;
  /**
   * Facts about one account that plan-time checks need beyond its objects
   * (Kazoo: the number manager, reference/kazoo-api.md §12), for the `values`
   * the plan claims there (`AccountClaim`). Read after `list`; a failure
   * makes the account unread (the plan incomplete).
   */
  readAccountFacts?(
    account: string,
    values: readonly string[],
    signal?: AbortSignal,
  ): Promise<unknown>;
  /**
   * After writes that claimed or released numbers in `account`, has the API's
   * own record of which application uses each number recomputed from the live
   * documents (Kazoo: the number manager's `used_by`, INVARIANTS.md item 4).
   * One idempotent request; absent for APIs without such a record.
   */
  repairNumbers?(account: string): Promise<void>;
  /** Frees connections. */
  close(): Promise<void>;
}

/** A desired document a plan-time check found wrong, and why. */
export interface AccountFinding {
  readonly doc: DesiredDocument;
  readonly message: string;
}

/** A value only one object may hold (a DID in a target, a SIP user in an account). */
export interface ExclusiveValue {
  /** What it is, for messages: "DID", "SIP user". */
  readonly label: string;
  readonly value: string;
  /** `target`: unique across the target's accounts; `account`: within one account. */
  readonly scope: 'target' | 'account';
}

/** A bad target setting: the message, and which setting (`auth`, `schema`, …) it is about, for its position. */
export interface TargetProblem {
  readonly setting?: string;
  readonly message: string;
}

export interface Provider {
  /** Document kind, e.g. "kazoo/connectivity". */
  readonly kind: string;
  /** Target `type` this kind lives on, e.g. "kazoo". */
  readonly targetType: string;
  /** Verb used for creates and updates, for display (e.g. PUT/PATCH or POST/PUT). */
  readonly verbs: { readonly create: string; readonly update: string; readonly delete: string };
  /** True when a create can choose the new object's id (Kazoo `data.id`); false when the server assigns it. */
  readonly createWithId: boolean;
  /**
   * True when an update or delete is conditional on the live revision (Kazoo's
   * If-Match on `rev`). Otherwise the fingerprint bases each write on a hash of
   * the normalised live body of the object written (core/plan.ts WriteRecord).
   */
  readonly conditionalWrites?: boolean;

  /** Checks target settings (schema version, auth shape); returns one problem per bad setting. */
  checkTarget(target: TargetConfig): TargetProblem[];
  /** The account a document belongs to when it does not say (Cloudflare: the target's account_id). */
  defaultAccount(target: TargetConfig): string | undefined;
  /** Checks an account id's form; returns a message when it is malformed. */
  checkAccount?(account: string): string | undefined;
  /** Offline checks of one document's spec: schema (after server coercions), unknown keys, per-document semantics. */
  checkSpec(spec: JsonObject, target: TargetConfig): SpecProblem[];
  /**
   * What `checkAll` needs to know of a spec (e.g. its DIDs per server), taken
   * while the spec is at hand so the checks across documents do not need it.
   */
  facts(spec: JsonObject): unknown;
  /**
   * Checks across documents of this kind (e.g. a DID used twice in an account).
   * Only documents of the same target and account may be related: the engine
   * may call it once per group of whole accounts (threads, engine/check-threads.ts),
   * and the union of the groups' results must equal one call's.
   */
  checkAll(docs: readonly CheckedDocument[]): Diagnostic[];
  /**
   * Values that may appear in only one place of a whole target, across all its
   * accounts (Kazoo: DIDs, INVARIANTS.md 2), per part of the document (Kazoo:
   * per server), read from `facts`. The engine checks them over every document
   * of the target, whichever thread holds it (core/target-unique.ts); `checkAll`
   * still reports a value used twice inside one account.
   */
  uniqueInTarget?(facts: unknown): readonly (readonly string[])[];
  /** The error for `value` at `again`, already used at `first` in another account of the same target. */
  duplicateInTarget?(value: string, first: UniqueUse, again: UniqueUse): Diagnostic;
  /**
   * The numbers a (masked, normalised) body routes, for the plan's numbers view
   * (core/numbers.ts); absent for kinds that route no numbers.
   */
  numbers?(body: JsonObject, target: TargetConfig): NumberSite[];
  /**
   * `numbers` of both sides of a change, where the provider may leave out
   * parts it can tell are unchanged (the same object on both sides): the
   * numbers view (`numberDelta`) of the result must equal that of `numbers`
   * of each side. Optional; without it both sides are listed in full.
   */
  numberPair?(
    before: JsonObject | undefined,
    after: JsonObject | undefined,
    target: TargetConfig,
  ): { before: NumberSite[]; after: NumberSite[] };
  /** Pointers (inside a spec) of fields the API treats as secrets, e.g. auth passwords. */
  secretPointers(spec: JsonObject): string[];
  /**
   * The comparable form of a body (desired or live): server coercions and
   * defaults applied, server-owned fields dropped, keys sorted. Pure.
   */
  normalize(body: JsonObject, target: TargetConfig): JsonObject;
  /**
   * `deepEqual(normalize(a, target), normalize(b, target))`; a provider may
   * decide it without building either copy (plans compare every live document
   * with its desired document).
   */
  sameNormalized(a: JsonObject, b: JsonObject, target: TargetConfig): boolean;
  /** The name identity of a live body (undefined when it has none). */
  nameOf(body: JsonObject): string | undefined;
  /** Builds the create body from the desired spec. */
  buildCreate(desired: JsonObject, target: TargetConfig): JsonObject;
  /** Builds the smallest update request turning `live` into `desired` (both normalised). */
  buildUpdate(
    liveNormalized: JsonObject,
    desiredNormalized: JsonObject,
    desired: JsonObject,
  ): WriteRequest;
  /** Values (e.g. DIDs) a spec claims exclusively inside its account, for ordering writes. */
  claims(spec: JsonObject): string[];
  /**
   * `desired` (normalised) with `released` (values of `claims`, e.g. DIDs) put
   * back where `live` holds them: the body a swap writes first, so a number
   * is in both documents for a moment and never in none (INVARIANTS.md item 1).
   * Without it a swap is a plan problem.
   */
  keepReleased?(
    liveNormalized: JsonObject,
    desiredNormalized: JsonObject,
    released: readonly string[],
  ): JsonObject;
  /**
   * How items of an array are told apart, for `ignore` pointers: the array's
   * pointer (e.g. "/servers") → identity fields in order of preference, each a
   * pointer inside an item (Kazoo: name, else auth/auth_user, else auth/ip).
   * Arrays not listed are addressed by index only.
   */
  readonly identities?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** True when a live body carries connops' ownership marker (prune may delete it). */
  isManaged(body: JsonObject): boolean;
  /** Adds the ownership marker to a body about to be written, if the API can store one. */
  markManaged(body: JsonObject): JsonObject;
  /** Opens a session against one target. */
  connect(target: TargetConfig, deps: HttpDeps): ProviderSession;
  /**
   * Checks an account's desired documents against what `readAccountFacts`
   * read (Kazoo: every DID must be assigned to the account in a routable
   * state, INVARIANTS.md item 3). Pure.
   */
  checkAccountFacts?(
    account: string,
    claims: readonly { readonly doc: DesiredDocument; readonly values: readonly string[] }[],
    facts: unknown,
    target: TargetConfig,
  ): AccountFinding[];
  /**
   * The values of a body (desired spec or live body) that no two objects may
   * hold: an undeclared live object holding one a document claims would split
   * calls or registrations (INVARIANTS.md items 2 and 8).
   */
  exclusiveValues?(body: JsonObject): ExclusiveValue[];
}
